/**
 * Volume anomalies as a person reads them (TXT, digest, /kpi trend, chart): lines only when
 * there is an anomaly, so a quiet day's outputs are exactly what they were.
 */
import { makeReport } from './fixtures/report';
import type { KpiReport, VolumeAnomalyRow } from '../src/contract/report';
import { renderDailyOpsText } from '../src/render/files/text';
import { renderDigest } from '../src/render/slack/digest';
import { renderTrend } from '../src/render/slack/replies';
import { trendChartSvg } from '../src/render/slack/chart';
import { anomalySentence } from '../src/render/anomalyText';

const row = (over: Partial<VolumeAnomalyRow>): VolumeAnomalyRow => ({
  scope: 'ALL', date: '2026-11-22', weekday: 'Sunday', created: 44, baseline_median: 46, baseline_low: 21.26, baseline_high: 70.74,
  z_score: -0.29, is_anomaly: false, direction: null, baseline_days: 6, ...over,
});
const HIGH = row({ scope: 'ALL', weekday: 'Monday', created: 210, baseline_median: 140, baseline_low: 118.2, baseline_high: 161.8, z_score: 11.2, is_anomaly: true, direction: 'high' });
const LOW = row({ scope: 'P2', created: 41, baseline_median: 145, baseline_low: 120.4, baseline_high: 169.6, z_score: -14.7, is_anomaly: true, direction: 'low' });

const quiet = () => makeReport();
const loud = (): KpiReport => ({ ...makeReport(), volumeAnomaly: [HIGH, row({ scope: 'P1' }), LOW] });
const ctx = { filter: {}, delivery: 'dm' as const };

describe('anomaly sentences', () => {
  test('high and low, the way a person reads them', () => {
    expect(anomalySentence(HIGH)).toBe('Monday: 210 cases created, expected 118-162 from the last 6 Mondays (+50%)');
    expect(anomalySentence(LOW)).toBe('Sunday: P2 intake dropped: 41 cases created, expected 120-170 from the last 6 Sundays (-72%)');
    expect(anomalySentence(row({ scope: 'ALL', created: 12, baseline_median: 0, baseline_low: 0, baseline_high: 3.5, is_anomaly: true, direction: 'high', baseline_days: 3 })))
      .toBe('Sunday: 12 cases created, expected 0-4 from the last 3 Sundays');
  });
});

describe('daily_ops_summary.txt', () => {
  test('a quiet day has no anomaly line; an anomalous one adds one line per anomaly and changes nothing else', () => {
    const q = renderDailyOpsText(quiet()).split('\n');
    expect(q.join('\n')).not.toMatch(/anomal/i);
    const l = renderDailyOpsText(loud()).split('\n');
    const added = l.filter((x) => !q.includes(x));
    expect(added).toEqual([
      '- Volume anomaly: Monday: 210 cases created, expected 118-162 from the last 6 Mondays (+50%).',
      '- Volume anomaly: Sunday: P2 intake dropped: 41 cases created, expected 120-170 from the last 6 Sundays (-72%).',
    ]);
    expect(l.filter((x) => !added.includes(x))).toEqual(q);
  });
});

describe('digest', () => {
  test('quiet: the same message as without the anomaly file; anomalous: lines in the backlog section and the fallback', () => {
    const q = renderDigest(quiet(), null, { dqMin: 90 });
    const none = renderDigest({ ...quiet(), volumeAnomaly: [] }, null, { dqMin: 90 });
    expect(q).toEqual(none);
    const l = renderDigest(loud(), null, { dqMin: 90 });
    expect(l.blocks).toHaveLength(q.blocks.length);
    const text = JSON.stringify(l.blocks);
    expect(text).toContain(':small_red_triangle: *Volume anomaly*: Monday: 210 cases created, expected 118-162 from the last 6 Mondays (+50%)');
    expect(text).toContain(':small_red_triangle_down: *Volume anomaly*: Sunday: P2 intake dropped: 41 cases created');
    expect(l.text).toBe(`${q.text} Volume anomaly: Monday: 210 cases created, expected 118-162 from the last 6 Mondays (+50%).`);
  });
});

describe('/kpi trend', () => {
  test('a section only when there is an anomaly', () => {
    const q = renderTrend(quiet(), ctx);
    expect(q).toEqual(renderTrend({ ...quiet(), volumeAnomaly: [] }, ctx));
    const l = renderTrend(loud(), ctx);
    expect(l.blocks).toHaveLength(q.blocks.length + 1);
    expect(JSON.stringify(l.blocks[2])).toContain('Sunday: P2 intake dropped: 41 cases created, expected 120-170 from the last 6 Sundays (-72%)');
    expect(l.text).toBe(q.text);
  });
});

describe('trend chart', () => {
  test('anomaly days get a marker and a legend entry; without anomalies the chart is unchanged', () => {
    const r = quiet();
    const plain = trendChartSvg(r.volumeTrend);
    expect(trendChartSvg(r.volumeTrend, { anomalies: [] })).toBe(plain);
    const day = r.volumeTrend[r.volumeTrend.length - 2].date;
    const marked = trendChartSvg(r.volumeTrend, { anomalies: [{ scope: 'ALL', date: day, direction: 'high' }, { scope: 'P2', date: day, direction: 'low' }, { scope: 'P3', date: '1999-01-01', direction: 'low' }] });
    expect(marked).toContain('Volume anomaly');
    expect(marked.match(/<polygon /g)).toHaveLength(1);
    expect(marked).toContain(`Volume anomaly (high) on ${day}`);
  });
});
