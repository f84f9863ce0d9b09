/**
 * The CLI end to end (a real process): a fixture CSV and the demo database, every file's
 * header and values, --json, and the failure paths.
 */
import { existsSync, readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { FIXTURES, runCli } from './helpers/cli';
import { tmpDir } from './helpers/kpi';
import { REPORT_FILES } from '../src/render/files/csv';

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');
const table = (dir: string, f: string) => parse(read(dir, f), { columns: true }) as Record<string, string>[];

describe('kpi run on a fixture CSV', () => {
  const cwd = tmpDir('kpi-cli-');
  let res: ReturnType<typeof runCli>;
  beforeAll(() => {
    res = runCli(['run', '--source', 'csv', '--csv', join(FIXTURES, 'cases_small.csv'), '--as-of', '2026-11-23T12:00:00Z', '--json'], cwd);
  });

  test('exits 0 and prints one JSON object with summary, warnings and timings', () => {
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const j = JSON.parse(res.stdout);
    expect(j).toMatchObject({ ok: true, asOf: '2026-11-23T12:00:00Z', rowsRead: null, warnings: [] });
    expect(j.timingsMs.total).toBeGreaterThan(0);
    expect(j.files).toHaveLength(Object.keys(REPORT_FILES).length + 1);
  });

  test('every file has the contract header, CRLF line ends and the hand-computed values', () => {
    const out = join(cwd, 'output');
    for (const [f, cols] of Object.entries(REPORT_FILES)) {
      const text = read(out, `${f}.csv`);
      expect(text.split('\r\n')[0]).toBe(cols.join(','));
    }
    expect(table(out, 'sla_summary.csv')).toEqual([
      { priority: 'P1', total_cases: '2', resolved_cases: '1', open_cases: '1', met: '1', breached: '0', pending: '1', sla_compliance_pct: '100.0', avg_resolution_hours: '3.00', median_resolution_hours: '3.00', p90_resolution_hours: '3.00', first_response_compliance_pct: '100.0' },
      { priority: 'P2', total_cases: '2', resolved_cases: '1', open_cases: '1', met: '0', breached: '1', pending: '1', sla_compliance_pct: '0.0', avg_resolution_hours: '10.00', median_resolution_hours: '10.00', p90_resolution_hours: '10.00', first_response_compliance_pct: '50.0' },
      { priority: 'P3', total_cases: '2', resolved_cases: '0', open_cases: '1', met: '0', breached: '1', pending: '0', sla_compliance_pct: '0.0', avg_resolution_hours: '', median_resolution_hours: '', p90_resolution_hours: '', first_response_compliance_pct: '100.0' },
      { priority: 'ALL', total_cases: '6', resolved_cases: '2', open_cases: '3', met: '1', breached: '2', pending: '2', sla_compliance_pct: '33.3', avg_resolution_hours: '6.50', median_resolution_hours: '6.50', p90_resolution_hours: '9.30', first_response_compliance_pct: '80.0' },
    ]);
    expect(table(out, 'backlog_summary.csv').map((r) => [r.priority, r.open_cases, r.at_risk, r.breached, r.age_7d_plus])).toEqual([
      ['P1', '1', '0', '0', '0'], ['P2', '1', '0', '0', '0'], ['P3', '1', '0', '1', '0'], ['P4', '1', '0', '1', '1'], ['UNKNOWN', '1', '0', '0', '0'], ['ALL', '5', '0', '2', '1'],
    ]);
    const risk = table(out, 'sla_at_risk_cases.csv');
    expect(risk.map((r) => [r.case_id, r.risk_level, r.hours_to_breach, r.sla_elapsed_pct])).toEqual([['C-6', 'breached', '-1212.00', '1783.3'], ['C-3', 'breached', '-2.00', '108.3']]);
    const trend = table(out, 'volume_trend.csv');
    expect(trend).toHaveLength(30);
    expect(trend.slice(-4)).toEqual([
      { date: '2026-11-20', created: '1', resolved: '1', net_change: '0', backlog_end_of_day: '1' },
      { date: '2026-11-21', created: '1', resolved: '1', net_change: '0', backlog_end_of_day: '1' },
      { date: '2026-11-22', created: '2', resolved: '0', net_change: '2', backlog_end_of_day: '2' },
      { date: '2026-11-23', created: '3', resolved: '0', net_change: '3', backlog_end_of_day: '5' },
    ]);
    // +337.5%, but 5 - 1.14 < KPI_SPIKE_MIN_CASES (10): no spike (contract 7).
    expect(table(out, 'backlog_spike_summary.csv')[0]).toEqual({ scope: 'ALL', as_of_date: '2026-11-23', backlog_today: '5', baseline_avg: '1.14', growth_pct: '337.5', threshold_pct: '20.0', is_spike: 'false' });
    expect(table(out, 'data_quality_score.csv')).toEqual([
      { as_of: '2026-11-23T12:00:00Z', total_rows: '11', missing_rows: '1', missing_pct: '9.1', duplicate_rows: '1', duplicate_pct: '9.1', invalid_sla_rows: '3', invalid_sla_pct: '27.3', quality_score: '85.4', history_rows: '0', invalid_history_rows: '0' },
    ]);
    expect(table(out, 'sla_policy_summary.csv')).toEqual([
      { policy: 'default', calendar: '24x7', total_cases: '6', met: '1', breached: '2', pending: '2', sla_compliance_pct: '33.3', first_response_met: '4', first_response_breached: '1', first_response_compliance_pct: '80.0' },
    ]);
    expect(table(out, 'daily_ops_summary.csv')).toEqual([{
      as_of: '2026-11-23T12:00:00Z', as_of_date: '2026-11-23', cases_in_window: '8', created_today: '3', resolved_today: '0', open_backlog: '5',
      sla_compliance_pct: '33.3', first_response_compliance_pct: '80.0', at_risk_cases: '0', breached_open_cases: '2', backlog_growth_pct: '337.5', backlog_spike: 'false', data_quality_score: '85.4',
    }]);
    expect(read(out, "daily_ops_summary.txt")).toMatch(/Executive summary[\s\S]*Needs attention first[\s\S]*2 open cases have breached SLA \(P3 1, P4 1\); most recent: P3 C-3, 2.0 h ago/);
    // text cells a spreadsheet would run are neutralised (C-4's assignee is "=HYPERLINK(1)")
    expect(read(out, 'sla_at_risk_cases.csv')).not.toMatch(/,=HYPERLINK/);
  });

  test('appends to logs/global_support_pipeline.log, one JSON line per event', () => {
    const lines = read(join(cwd, 'logs'), 'global_support_pipeline.log').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.stage)).toEqual(expect.arrayContaining(['start', 'extract', 'normalise', 'kpis', 'write', 'done']));
    expect(lines.find((l) => l.stage === 'done')).toMatchObject({ level: 'info', cases: 8 });
  });

  test('leaves no temp files behind', () => {
    expect(readdirSync(join(cwd, 'output')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('kpi run on the demo database', () => {
  test('seeds on first use, writes all files, records run history', () => {
    const cwd = tmpDir('kpi-demo-');
    const r = runCli(['run'], cwd, { KPI_DEMO_CASES: '3000' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/KPI run for \d{4}-\d\d-\d\d/);
    expect(r.stdout).toMatch(new RegExp(`${Object.keys(REPORT_FILES).length + 1} files written to output/`));
    expect(existsSync(join(cwd, 'data/kpi.duckdb'))).toBe(true);
    for (const [f, cols] of Object.entries(REPORT_FILES)) {
      expect(read(join(cwd, 'output'), `${f}.csv`).split('\r\n')[0]).toBe(cols.join(','));
    }
    expect(table(join(cwd, 'output'), 'sla_summary.csv').map((r) => r.priority)).toEqual(['P1', 'P2', 'P3', 'P4', 'ALL']);
    expect(table(join(cwd, 'output'), 'backlog_spike_summary.csv')[0].scope).toBe('ALL');
    expect(table(join(cwd, 'output'), 'volume_trend.csv')).toHaveLength(30);
    const risk = table(join(cwd, 'output'), 'sla_at_risk_cases.csv');
    expect(risk.length).toBeGreaterThan(0);
    expect(risk.every((c) => ['at_risk', 'breached'].includes(c.risk_level))).toBe(true);
    const ops = table(join(cwd, 'output'), 'daily_ops_summary.csv')[0];
    expect(Number(ops.cases_in_window)).toBeGreaterThan(1000);
    expect(Number(ops.data_quality_score)).toBeGreaterThan(90);
    expect(Number(ops.data_quality_score)).toBeLessThan(100); // the demo carries defects of every kind
    const r2 = runCli(['run', '--json'], cwd, { KPI_DEMO_CASES: '3000' });
    expect(JSON.parse(r2.stdout).warnings).toEqual([]);
  });

  test('seed-demo is deterministic for a seed', () => {
    const cwd = tmpDir('kpi-seed-');
    // The demo data depends on the seed and the hour: both seeds again if an hour began between them.
    const hour = () => new Date().toISOString().slice(0, 13);
    for (let attempt = 0; attempt < 2; attempt++) {
      const started = hour();
      const a = runCli(['seed-demo', '--cases', '500', '--seed', '7', '--db', 'a.duckdb'], cwd);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(/Seeded \d+ demo rows into a.duckdb/);
      runCli(['seed-demo', '--cases', '500', '--seed', '7', '--db', 'b.duckdb'], cwd);
      if (hour() === started) break;
    }
    const ra = runCli(['run', '--source', 'duckdb', '--db', 'a.duckdb', '--as-of', '2026-11-23T00:00:00Z', '--out', 'oa'], cwd);
    const rb = runCli(['run', '--source', 'duckdb', '--db', 'b.duckdb', '--as-of', '2026-11-23T00:00:00Z', '--out', 'ob'], cwd);
    expect(ra.code + rb.code).toBe(0);
    for (const f of Object.keys(REPORT_FILES)) {
      if (f === 'daily_ops_summary' || f === 'data_quality_score') continue;
      expect(read(join(cwd, 'oa'), `${f}.csv`)).toBe(read(join(cwd, 'ob'), `${f}.csv`));
    }
  });
});

describe('bad input', () => {
  test('a missing file: one clear line, non-zero exit, previous reports intact', () => {
    const cwd = tmpDir('kpi-bad-');
    const ok = runCli(['run', '--csv', join(FIXTURES, 'cases_small.csv'), '--as-of', '2026-11-23T12:00:00Z'], cwd);
    expect(ok.code).toBe(0);
    const before = read(join(cwd, 'output'), 'sla_summary.csv');
    const mtime = statSync(join(cwd, 'output/sla_summary.csv')).mtimeMs;
    const r = runCli(['run', '--csv', 'nope.csv'], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('kpi: CSV source nope.csv does not exist (set --csv or KPI_CSV_PATH)');
    expect(read(join(cwd, 'output'), 'sla_summary.csv')).toBe(before);
    expect(statSync(join(cwd, 'output/sla_summary.csv')).mtimeMs).toBe(mtime);
  });

  test('a CSV without required columns lists them and the mapping that would fix it', () => {
    const cwd = tmpDir('kpi-bad-');
    writeFileSync(join(cwd, 'export.csv'), 'ticket_id,opened_at,state,severity\nT1,2026-11-23T01:00:00Z,open,P1\n');
    const r = runCli(['run', '--csv', 'export.csv'], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('lacks required columns case_id, created_at, status, priority');
    expect(r.stderr).toContain('KPI_COLUMN_MAP=ticket_id:case_id,opened_at:created_at,state:status,severity:priority');
    const fixed = runCli(['run', '--csv', 'export.csv', '--as-of', '2026-11-23T12:00:00Z', '--json'], cwd, { KPI_COLUMN_MAP: 'ticket_id:case_id,opened_at:created_at,state:status,severity:priority' });
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout).summary).toMatchObject({ cases_in_window: 1, open_backlog: 1 });
  });

  test('an invalid setting names the variable and the allowed values', () => {
    const cwd = tmpDir('kpi-bad-');
    const r = runCli(['run'], cwd, { KPI_SOURCE: 'oracle' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KPI_SOURCE \(got "oracle"\): allowed values are demo, duckdb, csv, snowflake/);
    const tz = runCli(['run', '--tz', 'Mars/Olympus'], cwd);
    expect(tz.stderr).toMatch(/KPI_TZ \(got "Mars\/Olympus"\): must be an IANA time zone/);
    const asOf = runCli(['run', '--as-of', 'tomorrow'], cwd);
    expect(asOf.stderr).toMatch(/--as-of "tomorrow" is not an ISO 8601 time/);
  });

  test('an empty source: all files with headers and zero counts, plus a warning', () => {
    const cwd = tmpDir('kpi-empty-');
    writeFileSync(join(cwd, 'empty.csv'), 'case_id,created_at,status,priority\n');
    const r = runCli(['run', '--csv', 'empty.csv', '--json'], cwd);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).warnings).toEqual(["no rows in the run's window (the source is empty or holds other dates): every file was written with headers and zero counts"]);
    expect(read(join(cwd, 'output'), 'sla_at_risk_cases.csv').trim()).toBe(REPORT_FILES.sla_at_risk_cases.join(','));
  });
});

describe('demo data is never silent', () => {
  test('kpi run with no settings warns on stderr; the summary and --json say demo', () => {
    const cwd = tmpDir('kpi-demo-notice-');
    const r = runCli(['run'], cwd, { KPI_DEMO_CASES: '1500' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('kpi: no source is configured (KPI_SOURCE, --source or --csv): using generated demo data, not your support cases.');
    expect(r.stdout.split('\n')[0]).toBe('DEMO DATA: generated sample cases, not your support data');
    expect(r.stdout).toMatch(/^ {2}[\d,]+ cases in window, /m);
    expect(read(join(cwd, 'output'), 'daily_ops_summary.txt').split('\n')[0]).toMatch(/^DEMO DATA: generated sample cases/);
    const j = runCli(['run', '--json'], cwd, { KPI_SOURCE: 'demo', KPI_DEMO_CASES: '1500' });
    expect(j.stderr).toBe(''); // chosen explicitly: no warning
    expect(JSON.parse(j.stdout).demo).toBe(true);
    const csv = runCli(['run', '--csv', join(FIXTURES, 'cases_small.csv'), '--as-of', '2026-11-23T12:00:00Z', '--json'], cwd);
    expect(JSON.parse(csv.stdout).demo).toBe(false);
    expect(read(join(cwd, 'output'), 'daily_ops_summary.txt').split('\n')[0]).toBe('Global support - daily ops summary for 2026-11-23');
  });
});
