/**
 * Volume anomalies and the spike floor (contract 7), through the real pipeline (CSV source ->
 * DuckDB -> typed report), on weekday-seasonal fixtures with hand-computed expectations.
 *
 * as_of is Monday 2026-11-23 12:00Z, so the judged day D is Sunday 2026-11-22 and the
 * baseline days are the Sundays 11-15, 11-08, 11-01, 10-25, 10-18, 10-11. The run's window
 * (30 days) starts 2026-10-24 12:00Z: cases created on 10-18 and 10-11 and resolved the same
 * day are outside it, and still count for the baseline.
 */
import { runCsv, row } from './helpers/kpi';
import { renderCsv } from '../src/render/files/csv';

const AS_OF = '2026-11-23T12:00:00Z';
const D = '2026-11-22';
const BASELINE_DAYS = ['2026-11-15', '2026-11-08', '2026-11-01', '2026-10-25', '2026-10-18', '2026-10-11'];

let seq = 0;
/** n cases created on `day` at 10:00Z (spread by a minute each), resolved an hour later. */
function createdOn(day: string, n: number, priority = 'P3'): string[] {
  return Array.from({ length: n }, (_, i) => {
    const m = String(i % 60).padStart(2, '0');
    return row({ id: `K-${++seq}`, created: `${day}T10:${m}:00Z`, resolved: `${day}T11:${m}:00Z`, status: 'solved', priority, updated: `${day}T11:${m}:00Z` });
  });
}

/** A weekday-seasonal source: `baseline[i]` cases on BASELINE_DAYS[i], `onD` on D, and 30 cases on every other day (weekday noise the rule must ignore). */
function seasonal(baseline: number[], onD: number, priority = 'P3'): string[] {
  const lines: string[] = [];
  BASELINE_DAYS.forEach((day, i) => lines.push(...createdOn(day, baseline[i], priority)));
  lines.push(...createdOn(D, onD, priority));
  for (let t = Date.parse('2026-10-05T00:00:00Z'); t <= Date.parse('2026-11-23T00:00:00Z'); t += 86_400_000) {
    const day = new Date(t).toISOString().slice(0, 10);
    if (day !== D && !BASELINE_DAYS.includes(day) && new Date(t).getUTCDay() !== 0) lines.push(...createdOn(day, 30, priority));
  }
  return lines;
}

const anomaly = (r: Awaited<ReturnType<typeof runCsv>>, scope = 'ALL') => r.volumeAnomaly.find((x) => x.scope === scope)!;

describe('volume anomalies (contract 7)', () => {
  test('a high day: 40 against Sundays of 18..22, expected band from the median and a Poisson-floored scale', async () => {
    // Baseline 20,22,18,21,19,20: median 20, MAD 1 (deviations 0,2,2,1,1,0), so the scale is
    // max(1.4826 * 1, sqrt(20)) = 4.4721; z = (40 - 20) / 4.4721 = 4.47; band 20 -/+ 3.5 * 4.4721.
    const r = await runCsv(seasonal([20, 22, 18, 21, 19, 20], 40), AS_OF);
    expect(r.volumeAnomaly).toEqual([
      { scope: 'ALL', date: D, weekday: 'Sunday', created: 40, baseline_median: 20, baseline_low: 4.35, baseline_high: 35.65, z_score: 4.47, is_anomaly: true, direction: 'high', baseline_days: 6 },
      { scope: 'P3', date: D, weekday: 'Sunday', created: 40, baseline_median: 20, baseline_low: 4.35, baseline_high: 35.65, z_score: 4.47, is_anomaly: true, direction: 'high', baseline_days: 6 },
    ]);
    expect(r.warnings).toEqual([]);
    expect(renderCsv(r, 'volume_anomaly_summary')).toBe(
      'scope,date,weekday,created,baseline_median,baseline_low,baseline_high,z_score,is_anomaly,direction,baseline_days\r\n'
      + 'ALL,2026-11-22,Sunday,40,20.00,4.35,35.65,4.47,true,high,6\r\n'
      + 'P3,2026-11-22,Sunday,40,20.00,4.35,35.65,4.47,true,high,6\r\n');
  });

  test('a low day: 2 created against a median of 20 (intake dropped)', async () => {
    // z = (2 - 20) / 4.4721 = -4.02; |2 - 20| = 18 >= 10.
    const r = await runCsv(seasonal([20, 22, 18, 21, 19, 20], 2), AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 2, baseline_median: 20, z_score: -4.02, is_anomaly: true, direction: 'low', baseline_days: 6 });
  });

  test('a large z under the minimum change is no anomaly', async () => {
    // Baseline all 2: MAD 0, scale sqrt(2) = 1.4142; 9 created: z = 7 / 1.4142 = 4.95 >= 3.5,
    // but 9 - 2 = 7 < KPI_ANOMALY_MIN_CASES (10). The band: max(0, 2 - 4.95) = 0 .. 6.95.
    const r = await runCsv(seasonal([2, 2, 2, 2, 2, 2], 9), AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 9, baseline_median: 2, baseline_low: 0, baseline_high: 6.95, z_score: 4.95, is_anomaly: false, direction: null });
    // The same day with the minimum lowered to 7 is one (>=, contract 7.1).
    const r7 = await runCsv(seasonal([2, 2, 2, 2, 2, 2], 9), AS_OF, { KPI_ANOMALY_MIN_CASES: '7' });
    expect(anomaly(r7)).toMatchObject({ is_anomaly: true, direction: 'high' });
  });

  test('fewer than 3 baseline weeks: a band from the weeks there are, no judgement', async () => {
    // The source starts on 11-08: two Sundays with data (10 and 12): median 11, MAD 1, scale
    // max(1.4826, sqrt(11)) = 3.3166; band max(0, 11 - 11.608) = 0 .. 22.61.
    const lines = [...createdOn('2026-11-08', 10), ...createdOn('2026-11-15', 12), ...createdOn(D, 50)];
    const r = await runCsv(lines, AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 50, baseline_median: 11, baseline_low: 0, baseline_high: 22.61, z_score: null, is_anomaly: false, direction: null, baseline_days: 2 });
    expect(r.warnings).toEqual([]);
  });

  test('no baseline week at all: empty median, band and z; a scope with no case on D gets created 0', async () => {
    // Only cases on D and today: the first day with data is D itself.
    const r = await runCsv([...createdOn(D, 5), ...createdOn('2026-11-23', 2, 'P1')], AS_OF);
    expect(r.volumeAnomaly).toEqual([
      { scope: 'ALL', date: D, weekday: 'Sunday', created: 5, baseline_median: null, baseline_low: null, baseline_high: null, z_score: null, is_anomaly: false, direction: null, baseline_days: 0 },
      { scope: 'P1', date: D, weekday: 'Sunday', created: 0, baseline_median: null, baseline_low: null, baseline_high: null, z_score: null, is_anomaly: false, direction: null, baseline_days: 0 },
      { scope: 'P3', date: D, weekday: 'Sunday', created: 5, baseline_median: null, baseline_low: null, baseline_high: null, z_score: null, is_anomaly: false, direction: null, baseline_days: 0 },
    ]);
    expect(renderCsv(r, 'volume_anomaly_summary').split('\r\n')[1]).toBe('ALL,2026-11-22,Sunday,5,,,,,false,,0');
  });

  test('a baseline of all zeros: the scale is 1, so 12 cases are an anomaly and 9 are not', async () => {
    // Data since 10-05 (weekdays), none on the baseline Sundays: 6 weeks of 0. scale =
    // sqrt(max(0, 1)) = 1; band 0 .. 3.5.
    const r = await runCsv(seasonal([0, 0, 0, 0, 0, 0], 12), AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 12, baseline_median: 0, baseline_low: 0, baseline_high: 3.5, z_score: 12, is_anomaly: true, direction: 'high', baseline_days: 6 });
    const r9 = await runCsv(seasonal([0, 0, 0, 0, 0, 0], 9), AS_OF);
    expect(anomaly(r9)).toMatchObject({ created: 9, z_score: 9, is_anomaly: false, direction: null });
  });

  test('a MAD of 0 with a median of 30: the Poisson floor sqrt(30) is the scale', async () => {
    // z = (50 - 30) / 5.4772 = 3.65; band 30 -/+ 19.17.
    const r = await runCsv(seasonal([30, 30, 30, 30, 30, 30], 50), AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 50, baseline_median: 30, baseline_low: 10.83, baseline_high: 49.17, z_score: 3.65, is_anomaly: true, direction: 'high' });
  });

  test('an even count: the median and the MAD are the means of the two middle values', async () => {
    // The source starts on 10-25: 4 weeks with data, 30, 20, 10, 44 -> median 25; deviations
    // 5, 5, 15, 19 -> MAD 10; scale max(14.826, 5) = 14.826; z = (100 - 25) / 14.826 = 5.06;
    // band max(0, 25 - 51.891) = 0 .. 76.89.
    const lines = [...createdOn('2026-10-25', 30), ...createdOn('2026-11-01', 20), ...createdOn('2026-11-08', 10), ...createdOn('2026-11-15', 44), ...createdOn(D, 100)];
    const r = await runCsv(lines, AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 100, baseline_median: 25, baseline_low: 0, baseline_high: 76.89, z_score: 5.06, baseline_days: 4, is_anomaly: true });
  });

  test('a daylight-saving week in a non-UTC report zone: days are counted in report_tz', async () => {
    // Europe/Berlin leaves summer time on 2026-10-25 (a 25-hour Sunday). Each baseline Sunday
    // gets 10 cases at 00:30 and 10 at 23:30 local time, plus 5 at 00:30 of the Monday after
    // (on the Sunday in UTC, not in Berlin): 20 per Sunday. D gets 40.
    const local = (day: string, hm: string) => {
      const summer = Date.parse(`${day}T${hm}:00Z`) < Date.parse('2026-10-25T03:00:00Z');
      return `${day}T${hm}:00${summer ? '+02:00' : '+01:00'}`;
    };
    const next = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const lines: string[] = [];
    for (const day of [...BASELINE_DAYS, D]) {
      const n = day === D ? 20 : 10;
      for (let i = 0; i < n; i++) {
        lines.push(row({ id: `E-${day}-${i}`, created: local(day, '00:30'), priority: 'P2', status: 'solved', resolved: local(day, '01:00') }));
        lines.push(row({ id: `L-${day}-${i}`, created: local(day, '23:30'), priority: 'P2', status: 'solved', resolved: local(day, '23:45') }));
      }
      for (let i = 0; i < 5; i++) lines.push(row({ id: `M-${day}-${i}`, created: local(next(day), '00:30'), priority: 'P2', status: 'solved', resolved: local(next(day), '01:00') }));
    }
    const r = await runCsv(lines, AS_OF, { KPI_TZ: 'Europe/Berlin' });
    // First day with data: 10-11 local. Median 20, MAD 0, scale sqrt(20) = 4.4721, z = 4.47.
    expect(anomaly(r)).toMatchObject({ date: D, created: 40, baseline_median: 20, z_score: 4.47, is_anomaly: true, direction: 'high', baseline_days: 6 });
    expect(r.warnings).toEqual([]);
  });

  test('duplicates: one row per case_id across the whole source, not only the window', async () => {
    // 20 per baseline Sunday and 20 plain cases on D. 4 ids have an older row created on D
    // and a newer one created on 10-18 and resolved then (outside the window): they count
    // on 10-18, not on D. 3 ids have a newer row on D and an older one on 10-11: they count
    // on D. Baseline 20, 20, 20, 20, 24, 20: median 20, MAD 0; D: 23.
    const lines = seasonal([20, 20, 20, 20, 20, 20], 20);
    for (let i = 0; i < 4; i++) {
      lines.push(row({ id: `DUP-A${i}`, created: `${D}T09:00:00Z`, status: 'open', updated: `${D}T09:00:00Z` }));
      lines.push(row({ id: `DUP-A${i}`, created: '2026-10-18T09:00:00Z', resolved: '2026-10-18T10:00:00Z', status: 'solved', updated: '2026-11-23T01:00:00Z' }));
    }
    for (let i = 0; i < 3; i++) {
      lines.push(row({ id: `DUP-B${i}`, created: `${D}T09:00:00Z`, status: 'open', updated: '2026-11-23T01:00:00Z' }));
      lines.push(row({ id: `DUP-B${i}`, created: '2026-10-11T09:00:00Z', resolved: '2026-10-11T10:00:00Z', status: 'solved', updated: '2026-10-11T10:00:00Z' }));
    }
    const r = await runCsv(lines, AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 23, baseline_median: 20, z_score: 0.67, is_anomaly: false, baseline_days: 6 });
    // The window's reports keep their order (window filter first, then duplicates): all 27
    // rows on D survive there, and the out-of-window rows are no duplicates in data quality.
    expect(r.volumeTrend.find((v) => v.date === D)!.created).toBe(27);
    expect(r.dataQuality.duplicate_rows).toBe(0);
  });

  test('the first day with data is the source\'s, also when the days before it are outside the window and no baseline day', async () => {
    // Cases from Tuesday 10-13 on (resolved the same day, outside the window), none on
    // Sundays: the Sundays 10-18 .. 11-15 have data (0 each), 10-11 does not: 5 weeks. A row
    // without a case id on 10-06 does not count.
    const lines = [row({ id: '', created: '2026-10-06T10:00:00Z', resolved: '2026-10-06T11:00:00Z', status: 'solved' })];
    for (let t = Date.parse('2026-10-13T00:00:00Z'); t < Date.parse('2026-11-22T00:00:00Z'); t += 86_400_000) {
      if (new Date(t).getUTCDay() !== 0) lines.push(...createdOn(new Date(t).toISOString().slice(0, 10), 3));
    }
    const r = await runCsv(lines, AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 0, baseline_median: 0, baseline_days: 5, z_score: 0 });
    expect(r.dataQuality.total_rows).toBe(r.dailyOps.cases_in_window);
  });

  test('the first day with data long before the baseline: weeks without cases count 0', async () => {
    // Cases in August (outside the window and every judged day), then nothing until 11-01:
    // the source's first day is in August, so all six Sundays have data: 0, 0, 0, 0, 4, 4.
    const lines: string[] = [];
    for (const day of ['2026-08-03', '2026-08-04', '2026-08-05']) lines.push(...createdOn(day, 5));
    for (const day of ['2026-11-08', '2026-11-15']) lines.push(...createdOn(day, 4));
    lines.push(...createdOn('2026-11-10', 2), ...createdOn(D, 3));
    const r = await runCsv(lines, AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 3, baseline_median: 0, baseline_days: 6 });
  });

  test('the first day with data settled by an old open case in the window (no second read needed)', async () => {
    // One case created in July and still open: it is in case_rows, so the first day is July's.
    const lines = [row({ id: 'OLD-1', created: '2026-07-01T10:00:00Z', status: 'open', priority: 'P3', updated: '2026-07-01T10:00:00Z' })];
    for (const day of ['2026-11-08', '2026-11-15']) lines.push(...createdOn(day, 4));
    const r = await runCsv(lines, AS_OF);
    expect(anomaly(r)).toMatchObject({ created: 0, baseline_median: 0, baseline_days: 6 });
  });

  test('settings are validated', async () => {
    await expect(runCsv([], AS_OF, { KPI_ANOMALY_WEEKS: '0' })).rejects.toThrow(/KPI_ANOMALY_WEEKS/);
    await expect(runCsv([], AS_OF, { KPI_ANOMALY_Z: 'abc' })).rejects.toThrow(/KPI_ANOMALY_Z/);
    await expect(runCsv([], AS_OF, { KPI_ANOMALY_MIN_CASES: '-1' })).rejects.toThrow(/KPI_ANOMALY_MIN_CASES/);
    await expect(runCsv([], AS_OF, { KPI_SPIKE_MIN_CASES: '1.5' })).rejects.toThrow(/KPI_SPIKE_MIN_CASES/);
  });
});

describe('the floor under backlog spikes (contract 7)', () => {
  /** `open` P3 cases open for the whole baseline week, `today` more created today. */
  const backlog = (open: number, today: number) => [
    ...Array.from({ length: open }, (_, i) => row({ id: `O${i}`, created: '2026-11-10T00:00:00Z', priority: 'P3' })),
    ...Array.from({ length: today }, (_, i) => row({ id: `T${i}`, created: '2026-11-23T01:00:00Z', priority: 'P3' })),
  ];
  const all = (r: Awaited<ReturnType<typeof runCsv>>) => r.backlogSpike.find((s) => s.scope === 'ALL')!;

  test('growth over the threshold but fewer than 10 more cases than the baseline is no spike', async () => {
    // 29 vs 20: +45%, but 29 - 20 = 9 < 10.
    const r = await runCsv(backlog(20, 9), AS_OF);
    expect(all(r)).toMatchObject({ backlog_today: 29, baseline_avg: 20, growth_pct: 45, is_spike: false });
    expect(r.dailyOps.backlog_spike).toBe(false);
  });

  test('exactly the floor above the baseline is a spike (>=)', async () => {
    const r = await runCsv(backlog(20, 10), AS_OF);
    expect(all(r)).toMatchObject({ backlog_today: 30, baseline_avg: 20, growth_pct: 50, is_spike: true });
    expect(r.dailyOps.backlog_spike).toBe(true);
  });

  test('3 cases against a baseline of 0.14 is not a spike; with the floor at 0 it is', async () => {
    // One P3 case open since yesterday 00:00 (1 of the 7 baseline days), 2 more today.
    const lines = [row({ id: 'Y', created: '2026-11-22T00:30:00Z' }), row({ id: 'T1', created: '2026-11-23T01:00:00Z' }), row({ id: 'T2', created: '2026-11-23T02:00:00Z' })];
    const r = await runCsv(lines, AS_OF);
    expect(all(r)).toMatchObject({ backlog_today: 3, baseline_avg: 0.14, growth_pct: 2000, is_spike: false });
    const r0 = await runCsv(lines, AS_OF, { KPI_SPIKE_MIN_CASES: '0' });
    expect(all(r0).is_spike).toBe(true);
  });
});
