/**
 * The bad-input corpus: a table of inputs, each with the answer expected (exit code or a
 * thrown message, or a successful run with a warning), and for every failure the previous
 * output/ byte-for-byte intact. Pipeline cases run in-process; command-line cases (usage,
 * settings, exit codes) in a few processes.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../../src/config/settings';
import { runPipeline } from '../../src/pipeline/run';
import { HEADER, row, tmpDir } from '../helpers/kpi';
import { FIXTURES, runCli } from '../helpers/cli';

const AS_OF = '2026-11-23T12:00:00Z';
const GOOD = readFileSync(join(FIXTURES, 'cases_small.csv'));
const ok = (f: Parameters<typeof row>[0]) => row({ id: 'C1', created: '2026-11-22T10:00:00Z', ...f });
const csv = (...lines: string[]) => `${HEADER}\n${lines.join('\n')}\n`;

interface Case {
  name: string;
  content: string | Buffer;
  env?: Record<string, string>;
  /** A failure whose message matches. */
  fails?: RegExp;
  /** A successful run: checks on the report. */
  check?: (r: Awaited<ReturnType<typeof runPipeline>>) => void;
}

const FORMULAS = ['=HYPERLINK("http://x")', '+SUM(1)', '-1+2', '@cmd', '\t=1', '\r=1'];
const TEXT_COLS = ['id', 'status', 'region', 'channel', 'team', 'assignee', 'tier'] as const;

const CASES: Case[] = [
  // structure
  { name: 'empty file', content: '', fails: /is empty: it has no header row/ },
  { name: 'header only', content: `${HEADER}\n`, check: (r) => expect(r.report.warnings.join()).toMatch(/no rows in the run's window/) },
  { name: 'missing required columns', content: 'a,b\n1,2\n', fails: /lacks required columns/ },
  { name: 'unclosed quote', content: csv(ok({}), `C2,2026-11-22T10:00:00Z,,,open,P2,EMEA,email,"billing,a,pro,`, ok({ id: 'C3' })), fails: /line 3: Value with unterminated quote found/ },
  { name: 'unclosed quote, skip', content: csv(ok({}), `C2,2026-11-22T10:00:00Z,,,open,P2,EMEA,email,"billing,a,pro,`), env: { KPI_CSV_ON_ERROR: 'skip' }, check: (r) => expect(r.rejects).toHaveLength(1) },
  { name: 'too few fields', content: csv(ok({}), 'C2,2026-11-22T10:00:00Z,,'), fails: /line 3: Expected Number of Columns: 12 Found: 4/ },
  { name: 'too many fields', content: csv(`${ok({})},x,y`), fails: /line 2: Expected Number of Columns: 12 Found: 1[34]/ },
  { name: 'too few fields, skip', content: csv(ok({}), 'C2', ok({ id: 'C3' })), env: { KPI_CSV_ON_ERROR: 'skip' }, check: (r) => { expect(r.rejects!.map((x) => x.line)).toEqual([3]); expect(r.report.dataQuality.total_rows).toBe(2); } },
  { name: 'stray quote mid-field', content: csv(ok({ team: 'bil"ling' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'quoted line break in team', content: csv(ok({ team: '"two\nlines"' }), ok({ id: 'C2' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(2) },
  { name: 'quoted line break in case_id', content: csv(ok({ id: '"C\n1"' }), ok({ id: 'C2' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(2) },
  { name: 'quoted CRLF in assignee', content: csv(ok({ assignee: '"a\r\nb"' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'CRLF line ends', content: csv(ok({}), ok({ id: 'C2' })).replace(/\n/g, '\r\n'), check: (r) => expect(r.report.dataQuality.total_rows).toBe(2) },
  { name: 'no final line break', content: csv(ok({})).trimEnd(), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'byte order mark', content: `\uFEFF${csv(ok({}))}`, check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'duplicate header names (the sniffer tells them apart)', content: 'case_id,case_id,created_at,status,priority\nC1,C1,2026-11-22T10:00:00Z,open,P1\n', check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  // dialects
  { name: 'semicolons', content: csv(ok({})).replace(/,/g, ';'), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'tabs', content: csv(ok({})).replace(/,/g, '\t'), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'pipes', content: csv(ok({})).replace(/,/g, '|'), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  // encodings
  { name: 'latin-1 without the setting', content: Buffer.from(csv(ok({ team: 'équipe' })), 'latin1'), fails: /line 2: .*not utf-8.*KPI_CSV_ENCODING/ },
  { name: 'latin-1 header without the setting', content: Buffer.from(`${HEADER},é\n${ok({})},x\n`, 'latin1'), fails: /line 1: the header is not valid UTF-8.*KPI_CSV_ENCODING/ },
  { name: 'latin-1 with the setting', content: Buffer.from(csv(ok({ team: 'équipe' })), 'latin1'), env: { KPI_CSV_ENCODING: 'latin-1' }, check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'NUL byte in a value', content: csv(ok({ team: 'a\0b' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'escape sequence in a value', content: csv(ok({ team: '\x1b[31mred' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  // sizes
  { name: 'a 64 KB+ header', content: `${HEADER},${'x'.repeat(70_000)}\n${ok({})},v\n`, check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'a 1 MB value', content: csv(ok({ team: 'y'.repeat(1_000_000) })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  // timestamps
  { name: 'ISO without seconds, Z', content: csv(ok({ created: '2026-11-22T10:00Z' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'ISO without seconds, offset', content: csv(ok({ created: '2026-11-22T10:00+01:00' })), check: (r) => expect(r.report.atRiskCases.length + r.report.dailyOps.cases_in_window).toBeGreaterThan(0) },
  { name: 'timestamp with a tab and a non-breaking space', content: csv(ok({ created: '\t2026-11-22T10:00:00Z\u00a0' })), check: (r) => expect(r.report.dataQuality.invalid_sla_rows).toBe(0) },
  { name: 'priority with a tab is P2', content: csv(ok({ priority: '\tP2' })), check: (r) => expect(r.report.slaSummary.find((x) => x.priority === 'P2')!.total_cases).toBe(1) },
  { name: 'priority with a non-breaking space is P2', content: csv(ok({ priority: 'P2\u00a0' })), check: (r) => expect(r.report.slaSummary.find((x) => x.priority === 'P2')!.total_cases).toBe(1) },
  { name: 'case id with a tab is trimmed', content: csv(ok({ id: '\tC1' }), ok({ id: 'C1', updated: '2026-11-22T11:00:00Z' })), check: (r) => expect(r.report.dataQuality.duplicate_rows).toBe(1) },
  { name: 'unparseable timestamp is a defect, not a crash', content: csv(ok({ created: 'yesterday' })), check: (r) => expect(r.report.dataQuality.missing_rows + r.report.dataQuality.invalid_sla_rows).toBeGreaterThan(0) },
  { name: 'impossible date is a defect', content: csv(ok({ created: '2026-02-30T10:00:00Z' })), check: (r) => expect(r.report.dailyOps.cases_in_window).toBe(0) },
  { name: 'resolved before created', content: csv(ok({ resolved: '2026-11-21T10:00:00Z', status: 'closed' })), check: (r) => expect(r.report.dataQuality.invalid_sla_rows).toBe(1) },
  // priorities and ids
  { name: 'no case has an SLA target', content: csv(ok({ priority: 'P9' }), ok({ id: 'C2', priority: 'whatever' })), check: (r) => expect(r.report.warnings).toContain('no case has an SLA target: check priorities or the policy') },
  { name: 'empty priority', content: csv(ok({ priority: '' })), check: (r) => expect(r.report.dataQuality.total_rows).toBe(1) },
  { name: 'duplicate case ids', content: csv(ok({}), ok({ updated: '2026-11-22T11:00:00Z' })), check: (r) => expect(r.report.dataQuality.duplicate_rows).toBe(1) },
  { name: 'empty case id', content: csv(ok({ id: '' })), check: (r) => expect(r.report.dataQuality.missing_rows).toBe(1) },
  // formula payloads in every text column (the written files neutralise them)
  ...TEXT_COLS.flatMap((col) => FORMULAS.slice(0, 2).map((f): Case => ({
    name: `formula ${JSON.stringify(f)} in ${col}`,
    content: csv(ok({ [col]: /[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f, created: '2026-11-10T10:00:00Z' } as never)),
    check: () => undefined,
  }))),
  // nonsense
  { name: 'stale data', content: csv(ok({ created: '2026-10-01T10:00:00Z' })), env: { KPI_WINDOW_DAYS: '90' }, check: (r) => expect(r.report.warnings.join()).toMatch(/stale data/) },
];

const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('bad-input corpus: the pipeline', () => {
  const dir = tmpDir('kpi-corpus-');
  // The previous output/ every case starts from: one good run, copied per case.
  const template = join(dir, 'template');
  beforeAll(async () => {
    writeFileSync(join(dir, 'good.csv'), GOOD);
    const settings = loadSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: join(dir, 'good.csv'), KPI_STATE_PATH: join(dir, 'state.duckdb'), KPI_OUTPUT_DIR: template });
    await runPipeline({ settings, asOf: new Date(AS_OF), trigger: 'cli', recordHistory: false });
  });
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const d = join(dir, c.name.replace(/[^a-z0-9]/gi, '_'));
    mkdirSync(d);
    const out = join(d, 'output');
    const settingsFor = (file: string, env: Record<string, string> = {}) => loadSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: file, KPI_STATE_PATH: join(d, 'state.duckdb'), KPI_OUTPUT_DIR: out, ...env });
    cpSync(template, out, { recursive: true });
    const before = snapshot(out);
    writeFileSync(join(d, 'input.csv'), c.content);
    const run = runPipeline({ settings: settingsFor(join(d, 'input.csv'), c.env), asOf: new Date(AS_OF), trigger: 'cli', recordHistory: false });
    if (c.fails) {
      await expect(run).rejects.toThrow(c.fails);
      expect(snapshot(out)).toEqual(before);
    } else {
      const r = await run;
      c.check?.(r);
      for (const f of readdirSync(out)) expect(readFileSync(join(out, f), 'utf8')).not.toMatch(/(^|,)[=+@\t\r][^,]*HYPERLINK|(^|,)=1/m);
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp') || f.startsWith('.kpi'))).toEqual([]);
  });
});

/** Command-line cases: args, env, expected exit code and stderr. One process each, run in one test. */
const CLI: { name: string; args: string[]; env?: Record<string, string>; code: number; stderr: RegExp }[] = [
  { name: 'unknown option', args: ['run', '--bogus'], code: 2, stderr: /^kpi: unknown option '--bogus' \(see kpi --help\)\n$/ },
  { name: 'bad --source', args: ['run', '--source', 'oracle'], code: 2, stderr: /argument 'oracle' is invalid/ },
  { name: 'bad --window-days', args: ['run', '--window-days', '0'], code: 2, stderr: /--window-days must be a whole number/ },
  { name: 'impossible --as-of', args: ['run', '--as-of', '2026-02-30T00:00:00Z'], code: 2, stderr: /--as-of "2026-02-30T00:00:00Z" is not a valid time/ },
  { name: 'bad KPI_TIMESTAMP_FORMAT', args: ['run'], env: { KPI_TIMESTAMP_FORMAT: 'dd/mm/yyyy' }, code: 2, stderr: /KPI_TIMESTAMP_FORMAT \(got "dd\/mm\/yyyy"\)/ },
  { name: 'bad KPI_CSV_ON_ERROR', args: ['run'], env: { KPI_CSV_ON_ERROR: 'maybe' }, code: 2, stderr: /KPI_CSV_ON_ERROR/ },
  { name: 'bad KPI_CSV_ENCODING', args: ['run'], env: { KPI_CSV_ENCODING: 'klingon' }, code: 2, stderr: /KPI_CSV_ENCODING/ },
  { name: 'missing csv file', args: ['run', '--csv', 'nope.csv'], code: 1, stderr: /^kpi: CSV source nope.csv does not exist/ },
  { name: 'csv path is a folder', args: ['run', '--csv', 'folder'], code: 1, stderr: /is not a file/ },
  { name: 'missing --db', args: ['run', '--source', 'duckdb', '--db', 'no/such.duckdb'], code: 1, stderr: /does not exist/ },
  { name: 'output folder is a file', args: ['run', '--csv', 'good.csv', '--out', 'good.csv', '--as-of', AS_OF], code: 1, stderr: /EEXIST|ENOTDIR|not a directory/ },
];

describe('bad-input corpus: the command line', () => {
  test('exit codes and one-line messages; previous output/ intact', () => {
    const cwd = tmpDir('kpi-corpus-cli-');
    writeFileSync(join(cwd, 'good.csv'), GOOD);
    mkdirSync(join(cwd, 'folder'));
    expect(runCli(['run', '--csv', 'good.csv', '--as-of', AS_OF], cwd).code).toBe(0);
    const before = snapshot(join(cwd, 'output'));
    const got = CLI.map((c) => { const r = runCli(c.args, cwd, c.env); return { name: c.name, code: r.code, stderr: r.stderr }; });
    for (const [i, c] of CLI.entries()) {
      expect({ name: c.name, code: got[i].code }).toEqual({ name: c.name, code: c.code });
      expect(got[i].stderr).toMatch(c.stderr);
      expect(got[i].stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(snapshot(join(cwd, 'output'))).toEqual(before);
    expect(statSync(join(cwd, 'good.csv')).isFile()).toBe(true);
  }, 300_000);
});
