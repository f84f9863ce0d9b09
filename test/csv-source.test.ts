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
