/**
 * Every rule of the KPI contract, with hand-computed expectations, through the real
 * pipeline (CSV source -> DuckDB -> typed report).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { HEADER, runCsv, row, tmpDir } from './helpers/kpi';

const AS_OF = '2026-11-23T12:00:00Z';
const sla = (r: Awaited<ReturnType<typeof runCsv>>, p: string) => r.slaSummary.find((x) => x.priority === p)!;
const backlog = (r: Awaited<ReturnType<typeof runCsv>>, p: string) => r.backlogSummary.find((x) => x.priority === p)!;

describe('cleaning', () => {
  test('duplicates: the latest updated_at survives; among equals the one read last', async () => {
    const r = await runCsv([
      row({ id: 'A', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P3', updated: '2026-11-23T09:00:00Z', team: 'late' }),
      row({ id: 'A', created: '2026-11-23T08:00:00Z', resolved: '2026-11-23T10:00:00Z', status: 'solved', priority: 'P3', updated: '2026-11-23T10:00:00Z', team: 'winner' }),
      row({ id: 'A', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P3', updated: '2026-11-23T07:00:00Z' }),
      row({ id: 'B', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P2', updated: '2026-11-23T09:00:00Z', team: 'first' }),
      row({ id: 'B', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P1', updated: '2026-11-23T09:00:00Z', team: 'last' }),
    ], AS_OF);
    expect(r.dataQuality.total_rows).toBe(5);
    expect(r.dataQuality.duplicate_rows).toBe(3);
    expect(r.dataQuality.duplicate_pct).toBe(60);
    expect(r.dailyOps.cases_in_window).toBe(2);
    // A survived resolved; B survived as P1 (read last among equal updated_at)
    expect(sla(r, 'P3')).toMatchObject({ total_cases: 1, resolved_cases: 1, met: 1 });
    expect(sla(r, 'P1')).toMatchObject({ total_cases: 1, open_cases: 1 });
    expect(r.slaSummary.find((x) => x.priority === 'P2')).toBeUndefined();
    // B's rows differ and share their updated_at: only the read order decides, so they
    // were read again, in read order.
    expect(r.timings.case_rows_reread).toBeGreaterThan(0);
  });

  test('duplicates equal in every column the reports use need no read order', async () => {
    const a = row({ id: 'A', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P3', updated: '2026-11-23T09:00:00Z' });
    const r = await runCsv([
      a,
      row({ id: 'B', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P2', updated: '2026-11-23T09:00:00Z', channel: 'chat' }),
      a,
      // Differs only in channel, which no report reads.
      row({ id: 'B', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P2', updated: '2026-11-23T09:00:00Z', channel: 'email' }),
    ], AS_OF);
    expect(r.dataQuality.duplicate_rows).toBe(2);
    expect(r.dailyOps.cases_in_window).toBe(2);
    expect(r.timings.case_rows_reread).toBeUndefined();
  });

  test('duplicates far apart in a large file: the one read last survives', async () => {
    // More rows than one DuckDB row group holds; the two C-1 rows share their updated_at
    // and differ in priority, at the start and the end of the file. (At 1M rows with 3,000
    // such pairs, a build without the read order picked other survivors.)
    const lines: string[] = [];
    const tie = (priority: string) => row({ id: 'C-1', created: '2026-11-23T08:00:00Z', status: 'open', priority, updated: '2026-11-23T09:00:00Z' });
    lines.push(tie('P4'));
    for (let i = 0; i < 200_000; i++) {
      lines.push(row({ id: `N-${i}`, created: '2026-11-22T08:00:00Z', resolved: '2026-11-22T09:00:00Z', status: 'solved', priority: 'P2', updated: '2026-11-22T09:00:00Z' }));
      // An older version of C-1 in the middle: it loses on updated_at.
      if (i === 100_000) lines.push(row({ id: 'C-1', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P3', updated: '2026-11-23T08:30:00Z' }));
    }
    lines.push(tie('P1'));
    const r = await runCsv(lines, AS_OF);
    expect(r.dataQuality.total_rows).toBe(200_003);
    expect(r.dataQuality.duplicate_rows).toBe(2);
    expect(sla(r, 'P1')).toMatchObject({ total_cases: 1, open_cases: 1 });
    expect(r.slaSummary.find((x) => x.priority === 'P4')).toBeUndefined();
    expect(sla(r, 'P3')).toBeUndefined();
    expect(r.timings.case_rows_reread).toBeGreaterThan(0);
  });

  test('many tied duplicates that differ: each time the one read last survives', async () => {
    // 2,000 ids read twice, the copies far apart, with the same updated_at: first as P4,
    // then as P1. Their rows are read again in read order (case_rows itself is not).
    const lines: string[] = [];
    const copy = (i: number, priority: string) => row({ id: `T-${i}`, created: '2026-11-23T08:00:00Z', status: 'open', priority, updated: '2026-11-23T09:00:00Z' });
    for (let i = 0; i < 300_000; i++) {
      if (i % 100 === 0 && i < 200_000) lines.push(copy(i, 'P4'));
      lines.push(row({ id: `N-${i}`, created: '2026-11-22T08:00:00Z', resolved: '2026-11-22T09:00:00Z', status: 'solved', priority: 'P2', updated: '2026-11-22T09:00:00Z' }));
      if (i % 100 === 50 && i >= 100_000) lines.push(copy(i - 100_050, 'P1'));
    }
    const r = await runCsv(lines, AS_OF);
    expect(r.dataQuality.duplicate_rows).toBe(2_000);
    expect(sla(r, 'P1')).toMatchObject({ total_cases: 2_000 });
    expect(r.slaSummary.find((x) => x.priority === 'P4')).toBeUndefined();
    expect(r.timings.case_rows_reread).toBeGreaterThan(0);
  });

  test('slices (slash-command filters) keep region and team: a tie that differs only there is decided by the read order', async () => {
    const dir = tmpDir();
    const csv = join(dir, 'cases.csv');
    writeFileSync(csv, [HEADER,
      row({ id: 'D', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P3', region: 'EMEA', updated: '2026-11-23T09:00:00Z' }),
      row({ id: 'E', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P3', region: 'EMEA', updated: '2026-11-23T09:00:00Z' }),
      row({ id: 'D', created: '2026-11-23T08:00:00Z', status: 'open', priority: 'P3', region: 'AMER', updated: '2026-11-23T09:00:00Z' }),
    ].join('\n') + '\n');
    const settings = loadSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: csv, KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb') });
    const { report, data } = await runPipeline({ settings, asOf: new Date(AS_OF), outDir: null, recordHistory: false, keepData: true });
    try {
      expect(report.dataQuality.duplicate_rows).toBe(1);
      expect(report.timings.case_rows_reread).toBeGreaterThan(0);
      expect((await data!.compute({ region: 'amer' })).dailyOps.cases_in_window).toBe(1);
      expect((await data!.compute({ region: 'emea' })).dailyOps.cases_in_window).toBe(1);
    } finally {
      await data!.close();
    }
  });

  test('empty and unparseable timestamps are counted, never a crash', async () => {
    const r = await runCsv([
      row({ id: 'A', created: '', priority: 'P3' }),
      row({ id: 'B', created: 'yesterday-ish', priority: 'P3' }),
      row({ id: 'C', created: '2026-11-23T08:00:00Z', resolved: 'soon', priority: 'P3' }),
      row({ id: '', created: '2026-11-23T08:00:00Z', priority: 'P3' }),
      row({ id: 'E', created: '2026-11-23T08:00:00Z', priority: 'P3' }),
    ], AS_OF);
    expect(r.dataQuality.total_rows).toBe(5);
    expect(r.dataQuality.missing_rows).toBe(2); // A (empty created_at), the row without case_id
    expect(r.dataQuality.invalid_sla_rows).toBe(2); // B (created_at), C (resolved_at)
    // C stays, its bad resolved_at is unknown (so it is open); E is open
    expect(r.dailyOps.cases_in_window).toBe(2);
    expect(r.dailyOps.open_backlog).toBe(2);
    // 100 - (0.4*40 + 0.3*0 + 0.3*40) = 72
    expect(r.dataQuality.quality_score).toBe(72);
  });

  test('priority aliases map case-insensitively; unknown priorities stay in volume and backlog only', async () => {
    const r = await runCsv([
      row({ id: 'A', created: '2026-11-23T08:00:00Z', priority: 'URGENT' }),
      row({ id: 'B', created: '2026-11-23T08:00:00Z', priority: '1 - Critical' }),
      row({ id: 'C', created: '2026-11-23T08:00:00Z', priority: 'high' }),
      row({ id: 'D', created: '2026-11-23T08:00:00Z', priority: '3 - Moderate' }),
      row({ id: 'E', created: '2026-11-23T08:00:00Z', priority: 'Low' }),
      row({ id: 'F', created: '2026-11-23T08:00:00Z', priority: 'P9' }),
      row({ id: 'G', created: '2026-11-23T08:00:00Z', priority: '' }),
    ], AS_OF);
    expect(r.slaSummary.map((x) => [x.priority, x.total_cases])).toEqual([['P1', 2], ['P2', 1], ['P3', 1], ['P4', 1], ['ALL', 5]]);
    expect(backlog(r, 'UNKNOWN').open_cases).toBe(2);
    expect(r.backlogSummary.map((x) => x.priority)).toEqual(['P1', 'P2', 'P3', 'P4', 'UNKNOWN', 'ALL']);
    expect(backlog(r, 'ALL').open_cases).toBe(7);
    expect(r.dataQuality.invalid_sla_rows).toBe(1); // P9; the empty one is missing, not invalid
    expect(r.dataQuality.missing_rows).toBe(1);
    expect(r.volumeTrend[r.volumeTrend.length - 1].created).toBe(7);
  });

  test('rows created after as_of are out of scope altogether', async () => {
    const r = await runCsv([
      row({ id: 'A', created: '2026-11-23T08:00:00Z' }),
      row({ id: 'B', created: '2026-11-23T13:00:00Z' }),
    ], AS_OF);
    expect(r.dataQuality.total_rows).toBe(1);
    expect(r.dailyOps.cases_in_window).toBe(1);
  });
});

describe('per-case SLA', () => {
  test('point in time: resolved and first response after as_of have not happened yet', async () => {
    const r = await runCsv([
      // P3: first response 4 h, resolution 24 h. At as_of (12:00) 2 h elapsed.
      row({ id: 'A', created: '2026-11-23T10:00:00Z', fr: '2026-11-23T13:00:00Z', resolved: '2026-11-23T14:00:00Z', status: 'solved', priority: 'P3' }),
    ], AS_OF);
    expect(sla(r, 'P3')).toMatchObject({ total_cases: 1, resolved_cases: 0, open_cases: 1, met: 0, breached: 0, pending: 1, sla_compliance_pct: null, first_response_compliance_pct: null });
    expect(r.dailyOps.open_backlog).toBe(1);
    expect(r.dailyOps.resolved_today).toBe(0);
  });

  test('a case exactly at its target has met it; an open case exactly at due is at risk, not breached', async () => {
    const r = await runCsv([
      row({ id: 'MET', created: '2026-11-23T06:00:00Z', fr: '2026-11-23T06:30:00Z', resolved: '2026-11-23T10:00:00Z', status: 'solved', priority: 'P1' }),
      row({ id: 'LATE', created: '2026-11-23T05:00:00Z', fr: '2026-11-23T05:30:01Z', resolved: '2026-11-23T09:00:01Z', status: 'solved', priority: 'P1' }),
      row({ id: 'DUE', created: '2026-11-23T08:00:00Z', fr: '2026-11-23T08:10:00Z', priority: 'P1' }),
    ], AS_OF);
    expect(sla(r, 'P1')).toMatchObject({ total_cases: 3, resolved_cases: 2, open_cases: 1, met: 1, breached: 1, pending: 1, sla_compliance_pct: 50, first_response_compliance_pct: 66.7 });
    expect(sla(r, 'P1').avg_resolution_hours).toBe(4);
    expect(r.atRiskCases).toEqual([expect.objectContaining({
      case_id: 'DUE', due_at: '2026-11-23T12:00:00Z', sla_target_hours: 4, elapsed_hours: 4, sla_elapsed_pct: 100, hours_to_breach: 0, risk_level: 'at_risk',
    })]);
    expect(backlog(r, 'P1')).toMatchObject({ open_cases: 1, at_risk: 1, breached: 0 });
  });

  test('a resolved case without first response takes resolved_at as its first response', async () => {
    const r = await runCsv([
      row({ id: 'A', created: '2026-11-23T08:00:00Z', resolved: '2026-11-23T09:00:00Z', status: 'closed', priority: 'P2' }), // fr 1 h = met
      row({ id: 'B', created: '2026-11-23T08:00:00Z', resolved: '2026-11-23T09:30:00Z', status: 'closed', priority: 'P2' }), // fr 1.5 h > 1 h
    ], AS_OF);
    expect(sla(r, 'P2').first_response_compliance_pct).toBe(50);
  });

  test('risk list: most urgent first, breached included, hours_to_breach negative once breached', async () => {
    const r = await runCsv([
      row({ id: 'B2', created: '2026-11-23T03:00:00Z', priority: 'P2' }), // due 11:00: breached 1 h ago
      row({ id: 'B1', created: '2026-11-23T03:00:00Z', priority: 'P2' }),
      row({ id: 'R', created: '2026-11-23T05:30:00Z', priority: 'P2' }), // 6.5/8 = 81.25% at risk, due 13:30
      row({ id: 'OK', created: '2026-11-23T07:00:00Z', priority: 'P2' }), // 5/8 = 62.5% not listed
    ], AS_OF);
    expect(r.atRiskCases.map((c) => [c.case_id, c.risk_level, c.hours_to_breach, c.sla_elapsed_pct])).toEqual([
      ['B1', 'breached', -1, 112.5], ['B2', 'breached', -1, 112.5], ['R', 'at_risk', 1.5, 81.3],
    ]);
    expect(r.dailyOps).toMatchObject({ at_risk_cases: 1, breached_open_cases: 2 });
  });

  test('resolved before created: no resolution time and no SLA outcome, counted as invalid', async () => {
    const r = await runCsv([
      row({ id: 'A', created: '2026-11-23T08:00:00Z', resolved: '2026-11-23T07:00:00Z', status: 'solved', priority: 'P3' }),
      row({ id: 'B', created: '2026-11-23T08:00:00Z', fr: '2026-11-23T07:00:00Z', resolved: '2026-11-23T09:00:00Z', status: 'solved', priority: 'P3' }),
    ], AS_OF);
    expect(sla(r, 'P3')).toMatchObject({ total_cases: 2, resolved_cases: 2, met: 1, breached: 0, avg_resolution_hours: 1 });
    expect(r.dataQuality.invalid_sla_rows).toBe(2);
  });

  test('old open cases outside the window are in the backlog, not in the SLA summary', async () => {
    const r = await runCsv([
      row({ id: 'OLD', created: '2026-08-01T00:00:00Z', priority: 'P4' }),
      row({ id: 'GONE', created: '2026-08-01T00:00:00Z', resolved: '2026-09-01T00:00:00Z', status: 'solved', priority: 'P4' }),
      row({ id: 'NEW', created: '2026-11-23T10:00:00Z', priority: 'P4' }),
    ], AS_OF);
    expect(r.dataQuality.total_rows).toBe(2); // GONE was resolved before the window
    expect(sla(r, 'P4').total_cases).toBe(1);
    expect(backlog(r, 'P4')).toMatchObject({ open_cases: 2, breached: 1, age_0_1d: 1, age_7d_plus: 1 });
    expect(r.volumeTrend[0].backlog_end_of_day).toBe(1);
  });

  test('closed status without resolved_at: created volume only, and a data-quality defect', async () => {
    const r = await runCsv([
      row({ id: 'G', created: '2026-11-23T08:00:00Z', status: 'Closed', priority: 'P3' }),
      row({ id: 'O', created: '2026-11-23T08:00:00Z', status: 'Waiting on customer', priority: 'P3' }),
    ], AS_OF);
    expect(sla(r, 'P3')).toMatchObject({ total_cases: 2, resolved_cases: 0, open_cases: 1, pending: 1, met: 0, breached: 0 });
    expect(r.dailyOps.open_backlog).toBe(1);
    expect(r.volumeTrend[r.volumeTrend.length - 1]).toMatchObject({ created: 2, backlog_end_of_day: 1 });
    expect(r.dataQuality.invalid_sla_rows).toBe(1);
    expect(r.warnings).toEqual([]);
  });

  test('median and p90 use linear interpolation', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => row({
      id: `C${i}`, created: '2026-11-22T00:00:00Z', resolved: new Date(Date.parse('2026-11-22T00:00:00Z') + (i + 1) * 3600e3).toISOString(), status: 'solved', priority: 'P4',
    }));
    const r = await runCsv(lines, AS_OF);
    expect(sla(r, 'P4')).toMatchObject({ median_resolution_hours: 5.5, p90_resolution_hours: 9.1, avg_resolution_hours: 5.5 });
  });
});

describe('time zones', () => {
  test('offsets become UTC; naive times are read in the source time zone; a custom format works', async () => {
    const r = await runCsv([
      row({ id: 'Z', created: '2026-11-23T10:00:00+02:00', priority: 'P1' }), // 08:00Z, due 12:00Z
      row({ id: 'N', created: '2026-11-23 09:00:00', priority: 'P1' }), // New York 09:00 = 14:00Z: after as_of
      row({ id: 'F', created: '23/11/2026 02:00', priority: 'P1' }), // 02:00 NY = 07:00Z, due 11:00Z
    ], '2026-11-23T12:00:00Z', { KPI_SOURCE_TZ: 'America/New_York', KPI_TIMESTAMP_FORMAT: '%d/%m/%Y %H:%M' });
    expect(r.dataQuality.total_rows).toBe(2);
    expect(r.atRiskCases.map((c) => [c.case_id, c.created_at, c.hours_to_breach])).toEqual([['F', '2026-11-23T07:00:00Z', -1], ['Z', '2026-11-23T08:00:00Z', 0]]);
  });

  test('a DST day in a non-UTC report time zone has 25 hours and the right cases', async () => {
    // Europe/Berlin leaves summer time on 2026-10-25 at 01:00Z.
    const r = await runCsv([
      row({ id: 'A', created: '2026-10-24T21:30:00Z' }), // 23:30 CEST on the 24th
      row({ id: 'B', created: '2026-10-24T22:30:00Z' }), // 00:30 CEST on the 25th
      row({ id: 'C', created: '2026-10-25T22:30:00Z' }), // 23:30 CET on the 25th (the 25-hour day)
      row({ id: 'D', created: '2026-10-25T23:30:00Z', resolved: '2026-10-26T00:30:00Z', status: 'solved' }), // the 26th
    ], '2026-10-26T12:00:00Z', { KPI_TZ: 'Europe/Berlin', KPI_WINDOW_DAYS: '10' });
    const byDate = Object.fromEntries(r.volumeTrend.map((d) => [d.date, d]));
    expect(r.volumeTrend).toHaveLength(10);
    expect(r.volumeTrend[9].date).toBe('2026-10-26');
    expect(byDate['2026-10-24']).toMatchObject({ created: 1, resolved: 0, backlog_end_of_day: 1 });
    expect(byDate['2026-10-25']).toMatchObject({ created: 2, resolved: 0, backlog_end_of_day: 3 });
    expect(byDate['2026-10-26']).toMatchObject({ created: 1, resolved: 1, backlog_end_of_day: 3 });
    expect(r.warnings).toEqual([]);
  });
});

describe('backlog spike', () => {
  test('zero baseline: growth is empty and there is no spike', async () => {
    const r = await runCsv([row({ id: 'A', created: '2026-11-23T08:00:00Z', priority: 'P2' })], AS_OF);
    expect(r.backlogSpike).toEqual([
      { scope: 'ALL', as_of_date: '2026-11-23', backlog_today: 1, baseline_avg: 0, growth_pct: null, threshold_pct: 20, is_spike: false },
      { scope: 'P2', as_of_date: '2026-11-23', backlog_today: 1, baseline_avg: 0, growth_pct: null, threshold_pct: 20, is_spike: false },
    ]);
    expect(r.dailyOps).toMatchObject({ backlog_growth_pct: null, backlog_spike: false });
  });

  test('growth over the 7-day baseline', async () => {
    // 4 P3 cases open for the whole baseline week, 2 more today: 6 vs 4 = +50%. The growth
    // rule alone: the floor of contract 7 (KPI_SPIKE_MIN_CASES) is off here, tested below.
    const old = Array.from({ length: 4 }, (_, i) => row({ id: `O${i}`, created: '2026-11-10T00:00:00Z', priority: 'P3' }));
    const today = [row({ id: 'T1', created: '2026-11-23T01:00:00Z', priority: 'P3' }), row({ id: 'T2', created: '2026-11-23T02:00:00Z', priority: 'P1' })];
    const r = await runCsv([...old, ...today], AS_OF, { KPI_SPIKE_MIN_CASES: '0' });
    expect(r.backlogSpike.map((s) => [s.scope, s.backlog_today, s.baseline_avg, s.growth_pct, s.is_spike])).toEqual([
      ['ALL', 6, 4, 50, true], ['P1', 1, 0, null, false], ['P3', 5, 4, 25, true],
    ]);
    expect(r.backlogByPriority.P3!.slice(-3)).toEqual([4, 4, 5]);
    expect(r.backlogByPriority.P1!.slice(-2)).toEqual([0, 1]);
    expect(r.backlogByPriority.P3).toHaveLength(r.volumeTrend.length);
    expect(Object.keys(r.backlogByPriority)).toEqual(['P1', 'P3']);
  });
});

describe('empty source', () => {
  test('an empty source gives zero counts, empty percentages and a warning', async () => {
    const r = await runCsv([], AS_OF);
    expect(r.slaSummary).toEqual([expect.objectContaining({ priority: 'ALL', total_cases: 0, sla_compliance_pct: null })]);
    expect(r.backlogSummary).toEqual([expect.objectContaining({ priority: 'ALL', open_cases: 0, avg_age_hours: null })]);
    expect(r.volumeTrend).toHaveLength(30);
    expect(r.atRiskCases).toEqual([]);
    expect(r.dataQuality).toMatchObject({ total_rows: 0, missing_pct: null, quality_score: 100 });
    expect(r.warnings.join(' ')).toMatch(/no rows in the run's window/);
  });
});
