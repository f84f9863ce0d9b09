import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { headerDialect } from '../src/sources/csv';
import { runCsv, tmpDir } from './helpers/kpi';

const file = (text: string) => { const p = join(tmpDir(), 'h.csv'); writeFileSync(p, text); return p; };

describe('CSV header dialect', () => {
  test('comma, semicolon and tab exports; quoted names; a byte order mark', () => {
    expect(headerDialect(file('case_id,created_at,status\r\n1,2,3\r\n'))).toEqual({ delimiter: ',', quote: '"', escape: '"', columns: ['case_id', 'created_at', 'status'] });
    expect(headerDialect(file('\uFEFFcase_id;"Opened, at";status\n'))!).toMatchObject({ delimiter: ';', columns: ['case_id', 'Opened, at', 'status'] });
    expect(headerDialect(file('a\tb\tc\n'))!.delimiter).toBe('\t');
  });

  test('ambiguous headers are left to the sniffer', () => {
    expect(headerDialect(file('only_one_column\n'))).toBeNull();
    expect(headerDialect(file('a,b;c\n'))).toBeNull();
    expect(headerDialect(file('a,,c\n'))).toBeNull();
    expect(headerDialect(file('no newline at all'))).toBeNull();
  });

  test('a semicolon export runs end to end', async () => {
    const r = await runCsv(['C1;2026-11-23T08:00:00Z;;;open;P2;EMEA;chat;t;a;pro;'], '2026-11-23T12:00:00Z', {},
      'case_id;created_at;first_response_at;resolved_at;status;priority;region;channel;team;assignee;customer_tier;updated_at');
    expect(r.dailyOps).toMatchObject({ cases_in_window: 1, open_backlog: 1 });
  });
});

describe('text timestamps in prepareCases', () => {
  test('parsed with filter pushdown off for case_rows only; the setting is back afterwards', async () => {
    const { openMemoryEngine, query } = await import('../src/db/engine');
    const { prepareCases } = await import('../src/kpi/prepare');
    const { loadSettings } = await import('../src/config/settings');
    const { runParams } = await import('../src/pipeline/run');
    const e = await openMemoryEngine();
    try {
      await e.conn.run(`CREATE TEMP VIEW src AS SELECT * FROM (VALUES
        ('C1', '2026-11-23T08:00:00Z', NULL, NULL, 'open', 'P2', 'updated later'),
        ('C2', '2026-09-01T08:00:00Z', NULL, '2026-09-02T08:00:00Z', 'solved', 'P3', '2026-09-02T08:00:00Z'),
        ('C3', 'not a date', 'bad too', NULL, 'open', 'P1', NULL)
      ) t(case_id, created_at, first_response_at, resolved_at, status, priority, updated_at)`);
      const params = runParams(loadSettings({}), new Date('2026-11-23T12:00:00Z'));
      await prepareCases(e.conn, { relation: 'src', sourceTz: 'UTC', params });
      // C2 was resolved before the window: out of scope. C3's text is counted as invalid.
      const rows = await query<{ case_id: string; dq_missing: boolean; dq_invalid: boolean }>(e.conn,
        'SELECT case_id, dq_missing, dq_invalid FROM case_rows ORDER BY case_id');
      expect(rows).toEqual([
        { case_id: 'C1', dq_missing: false, dq_invalid: true },
        { case_id: 'C3', dq_missing: false, dq_invalid: true },
      ]);
      const [s] = await query<{ v: string }>(e.conn, `SELECT current_setting('disabled_optimizers') AS v`);
      expect(s.v).toBe('');
    } finally {
      e.close();
    }
  });
});
