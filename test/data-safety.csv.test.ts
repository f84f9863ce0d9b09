/**
 * Strict CSV reading: a malformed line fails the run naming the file, the line and the
 * reason; KPI_CSV_ON_ERROR=skip reads the rest and reports every skipped line; quoted line
 * breaks in every column; encodings; long headers; raw bytes escaped in messages.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { printable } from '../src/support/errors';
import { HEADER, row, tmpDir } from './helpers/kpi';
import { runCli } from './helpers/cli';

const AS_OF = '2026-11-23T12:00:00Z';

async function run(content: string | Buffer, env: Record<string, string> = {}) {
  const dir = tmpDir('kpi-csv-strict-');
  const csv = join(dir, 'cases.csv');
  writeFileSync(csv, content);
  const settings = loadSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: csv, KPI_STATE_PATH: join(dir, 'state.duckdb'), ...env });
  return runPipeline({ settings, asOf: new Date(AS_OF), outDir: null, recordHistory: false, trigger: 'test' });
}

const UNCLOSED = 'case_id,created_at,status,priority,team\nC1,2026-11-20T10:00:00Z,open,P2,"Tier1\nC2,2026-11-21T10:00:00Z,open,P3,Tier2\n';

describe('a malformed CSV fails the run', () => {
  test('an unclosed quote names the file, the line and the reason', async () => {
    await expect(run(UNCLOSED)).rejects.toThrow(/^CSV source .*cases\.csv, line 2: Value with unterminated quote found\.$/);
  });

  test('too few and too many fields', async () => {
    await expect(run(`${HEADER}\n${row({ id: 'C1', created: '2026-11-20T10:00:00Z' })}\nC2,2026-11-20T10:00:00Z\n`))
      .rejects.toThrow(/line 3: Expected Number of Columns: 12 Found: 2/);
    await expect(run(`${HEADER}\n${row({ id: 'C1', created: '2026-11-20T10:00:00Z' })},extra\n`))
      .rejects.toThrow(/line 2: Expected Number of Columns: 12 Found: 13/);
  });

  test('the whole DuckDB message is kept as the detail, escaped', async () => {
    const e = await run(UNCLOSED).catch((x: unknown) => x) as { message: string; detail?: string };
    expect(e.message).not.toContain('\n');
    expect(e.detail).toContain('Original Line: C1,2026-11-20T10:00:00Z,open,P2,\\"Tier1'.replace('\\"', '"'));
    expect(e.detail).not.toMatch(/\n/);
  });

  test('the CLI prints one line and exits 1; --json one object with the detail', () => {
    const cwd = tmpDir('kpi-csv-cli-');
    writeFileSync(join(cwd, 'bad.csv'), UNCLOSED);
    const r = runCli(['run', '--csv', 'bad.csv', '--as-of', AS_OF], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kpi: CSV source bad.csv, line 2: Value with unterminated quote found.\n');
    const j = runCli(['run', '--csv', 'bad.csv', '--as-of', AS_OF, '--json'], cwd);
    expect(j.code).toBe(1);
    const o = JSON.parse(j.stdout);
    expect(o).toMatchObject({ ok: false, exitCode: 1, error: 'CSV source bad.csv, line 2: Value with unterminated quote found.' });
    expect(o.detail).toContain('CSV Error on Line: 2');
  });
});

describe('KPI_CSV_ON_ERROR=skip', () => {
  test('reads the good lines and reports every rejected one', async () => {
    const lines = [
      row({ id: 'C1', created: '2026-11-20T10:00:00Z' }),
      'C2,2026-11-20T10:00:00Z',
      row({ id: 'C3', created: '2026-11-21T10:00:00Z' }),
      `${row({ id: 'C4', created: '2026-11-21T10:00:00Z' })},extra`,
      row({ id: 'C5', created: '2026-11-22T10:00:00Z' }),
    ];
    const r = await run(`${HEADER}\n${lines.join('\n')}\n`, { KPI_CSV_ON_ERROR: 'skip' });
    expect(r.report.dataQuality.total_rows).toBe(3);
    expect(r.rejects).toEqual([
      { line: 3, reason: 'Expected Number of Columns: 12 Found: 2' },
      { line: 5, reason: 'Expected Number of Columns: 12 Found: 13' },
    ]);
    expect(r.report.meta.rejectedLines).toBe(2);
    expect(r.report.warnings.slice(0, 3)).toEqual([
      expect.stringMatching(/^2 input line\(s\) of csv:.* were not read/),
      'line 3 rejected: Expected Number of Columns: 12 Found: 2',
      'line 5 rejected: Expected Number of Columns: 12 Found: 13',
    ]);
  });

  test('the CLI counts them in the summary and lists them in --json', () => {
    const cwd = tmpDir('kpi-csv-skip-');
    writeFileSync(join(cwd, 'bad.csv'), UNCLOSED);
    const r = runCli(['run', '--csv', 'bad.csv', '--as-of', AS_OF], cwd, { KPI_CSV_ON_ERROR: 'skip' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 input line(s) rejected and not counted');
    const j = JSON.parse(runCli(['run', '--csv', 'bad.csv', '--as-of', AS_OF, '--json'], cwd, { KPI_CSV_ON_ERROR: 'skip' }).stdout);
    expect(j.rejectedLines).toBe(1);
    expect(j.rejects).toEqual([{ line: 2, reason: 'Value with unterminated quote found.' }]);
  });

  test('an unknown value is a setting error', () => {
    expect(() => loadSettings({ KPI_CSV_ON_ERROR: 'ignore' })).toThrow(/KPI_CSV_ON_ERROR .*allowed values are fail, skip/);
  });
});

describe('what a valid file may hold', () => {
  test('quoted line breaks in every column, across a file big enough for the parallel reader', async () => {
    const cols = HEADER.split(',');
    const lines: string[] = [];
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const f = row({ id: `C${i}`, created: '2026-11-20T10:00:00Z', status: 'open', priority: 'P3', team: 'billing' }).split(',');
      // Every 97th row carries a quoted line break (and a quoted comma) in one column, rotating.
      if (i % 97 === 0) { const c = (i / 97) % cols.length; f[c] = `"${f[c]}\nsecond, line"`; }
      lines.push(f.join(','));
    }
    const r = await run(`${HEADER}\n${lines.join('\n')}\n`);
    expect(r.report.dataQuality.total_rows).toBe(n);
  });

  test('latin-1 with KPI_CSV_ENCODING; without it an error that suggests the setting', async () => {
    const body = Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.from(row({ id: 'C1', created: '2026-11-20T10:00:00Z', team: 'équipe' }), 'latin1'), Buffer.from('\n')]);
    await expect(run(body)).rejects.toThrow(/line 2: .*not utf-8.*KPI_CSV_ENCODING/);
    const r = await run(body, { KPI_CSV_ENCODING: 'ISO-8859-1' });
    expect(r.report.dataQuality.total_rows).toBe(1);
    expect(() => loadSettings({ KPI_CSV_ENCODING: 'ebcdic' })).toThrow(/KPI_CSV_ENCODING/);
  });

  test('a header longer than 64 KB', async () => {
    const extra = Array.from({ length: 4000 }, (_, i) => `extra_column_with_a_long_name_${i}`);
    const fields = row({ id: 'C1', created: '2026-11-20T10:00:00Z' });
    const header = `${HEADER},${extra.join(',')}`;
    expect(header.length).toBeGreaterThan(64 * 1024);
    const r = await run(`${header}\n${fields},${extra.map(() => 'x').join(',')}\n`);
    expect(r.report.dataQuality.total_rows).toBe(1);
  });
});

describe('raw bytes never reach a terminal unescaped', () => {
  test('printable escapes control characters and cuts long values', () => {
    expect(printable('a\x1b[31mred\x07\r\n\u202eevil')).toBe('a\\x1b[31mred\\x07\\r\\n\\u202eevil');
    expect(printable('x'.repeat(300), 10)).toBe('xxxxxxxxx…');
  });

  test('a file name with an escape sequence', async () => {
    const cwd = tmpDir('kpi-csv-esc-');
    const name = 'bad\x1b[2J.csv';
    writeFileSync(join(cwd, name), UNCLOSED);
    const r = runCli(['run', '--csv', name, '--as-of', AS_OF], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stderr).toContain('bad\\x1b[2J.csv, line 2');
  });
});
