import { renderDigest, delta, type Block } from '../src/render/slack/digest';
import { truncate, localTime, longDate } from '../src/render/slack/format';
import type { RunHistoryRow } from '../src/contract/runHistory';
import { makeReport, hugeReport } from './fixtures/report';
import { expectWithinLimits } from './fixtures/blockLimits';

function allText(blocks: Block[]): string {
  return JSON.stringify(blocks);
}

const previous: RunHistoryRow = {
  run_id: 'prev', started_at: '2026-11-22T09:00:01Z', as_of: '2026-11-22T09:00:00Z', as_of_date: '2026-11-22',
  source: 'demo', trigger: 'schedule', ok: true, error: null, cases_in_window: 1490, created_today: 15,
  resolved_today: 9, open_backlog: 169, at_risk_cases: 5, breached_open_cases: 4, sla_compliance_pct: 93.7,
  first_response_compliance_pct: 95.9, backlog_growth_pct: 5, backlog_spike: false, data_quality_score: 97,
  warnings: 0, total_ms: 100, timings: null,
};

describe('renderDigest', () => {
  test('header with the date, key numbers with deltas, SLA by priority, backlog, urgent cases', () => {
    const m = renderDigest(makeReport(), previous, { dqMin: 90 });
    expectWithinLimits(m.blocks);
    expect(m.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect((m.blocks[0] as any).text.text).toContain('Mon 23 Nov 2026');
    const t = allText(m.blocks);
    expect(t).toContain('*Open backlog*\\n174  _▲ +5_');
    expect(t).toContain('93.3%  _▼ −0.4 pts_');
    expect(t).toContain('*Breached (open)*\\n2  _▼ −2_');
    expect(t).toContain('*P1* 88.0%');
    expect(t).toContain('*P4* 96.4%');
    expect(t).toContain('Backlog spike');
    expect(t).toContain('P1 +50.0%');
    expect(t).toContain('*At risk: 5 · Breached (open): 2*');
    // the attention order: not yet breached (soonest due first, at most 5), then newly breached (most recent first)
    const urgent = t.match(/\*CASE-\d+\*/g)!;
    expect(urgent).toEqual(['*CASE-1003*', '*CASE-1005*', '*CASE-1004*', '*CASE-1007*', '*CASE-1006*', '*CASE-1002*', '*CASE-1001*']);
    expect(t).toContain('breached 1.3 h ago');
    expect(t).not.toContain('Provisional');
    // plain fallback text
    expect(m.text).toMatch(/^Support KPIs 2026-11-23: open backlog 174 \(▲ \+5\), SLA compliance 93\.3%/);
    expect(m.text).not.toMatch(/[*_`]/);
  });

  test('no previous run: no deltas, says so', () => {
    const m = renderDigest(makeReport(), null, { dqMin: 90 });
    const t = allText(m.blocks);
    expect(t).not.toMatch(/[▲▼]/);
    expect(t).toContain('No earlier run to compare with');
    expect(m.text).toContain('open backlog 174,');
  });

  test('a failed previous run is not compared with', () => {
    const m = renderDigest(makeReport(), { ...previous, ok: false }, { dqMin: 90 });
    expect(allText(m.blocks)).not.toMatch(/[▲▼]/);
  });

  test('data quality below KPI_DQ_MIN marks numbers provisional (text and blocks)', () => {
    const r = makeReport();
    r.dailyOps = { ...r.dailyOps, data_quality_score: 72.5 };
    const m = renderDigest(r, null, { dqMin: 90 });
    const t = allText(m.blocks);
    expect(t).toContain(':warning: *Provisional numbers*');
    expect(t).toContain('*72.5*, below the minimum of 90.0');
    expect(m.text).toContain('PROVISIONAL');
    // the warning comes before the numbers
    expect(t.indexOf('Provisional')).toBeLessThan(t.indexOf('Key numbers'));
    // exactly at the minimum is fine
    r.dailyOps = { ...r.dailyOps, data_quality_score: 90 };
    expect(renderDigest(r, null, { dqMin: 90 }).text).not.toContain('PROVISIONAL');
  });

  test('no at-risk cases, null percentages, empty trend', () => {
    const r = makeReport();
    r.atRiskCases = [];
    r.dailyOps = { ...r.dailyOps, at_risk_cases: 0, breached_open_cases: 0, sla_compliance_pct: null };
    r.slaSummary = [];
    r.backlogSpike = [];
    const m = renderDigest(r, previous, { dqMin: 90 });
    expectWithinLimits(m.blocks);
    const t = allText(m.blocks);
    expect(t).toContain('No open case is at risk');
    expect(t).toContain('*SLA compliance*\\n–');
    expect(m.text).toContain('SLA compliance –,');
  });

  test('a huge report stays within Block Kit limits and escapes data', () => {
    const m = renderDigest(hugeReport(), previous, { dqMin: 90 });
    expectWithinLimits(m.blocks);
    const t = allText(m.blocks);
    expect(t).not.toContain('<!channel>');
    expect(t).toContain('&lt;!channel&gt;');
    expect(t).toContain('and 4,232 more');
    expect(t).toContain('760 breached more than 24 h ago (P1 190, P2 190, P3 190, P4 190)');
    expect(m.text.length).toBeLessThanOrEqual(3000);
  });

  test('overdue cases never push out the ones about to breach; data formatting is neutralised', () => {
    const r = makeReport();
    const breached = r.atRiskCases.filter((c) => c.risk_level === 'breached');
    const atRisk = r.atRiskCases.filter((c) => c.risk_level === 'at_risk');
    r.atRiskCases = [...Array.from({ length: 5 }, (_, i) => ({ ...breached[0], case_id: `OLD-${i}` })), ...atRisk];
    r.atRiskCases[0] = { ...r.atRiskCases[0], assignee: '*boss*', team: 'tier_2' };
    const t = JSON.stringify(renderDigest(r, null, { dqMin: 90 }).blocks);
    const listed = t.match(/\*(?:CASE|OLD)-\d+\*/g)!;
    expect(listed.slice(0, 3)).toEqual(['*CASE-1003*', '*CASE-1005*', '*CASE-1004*']);
    expect(listed.filter((x) => x.startsWith('*OLD'))).toHaveLength(3);
    expect(t).toContain('and 2 more at risk or newly breached in sla_at_risk_cases.csv');
    expect(t).toContain('\u200b*boss*\u200b');
    expect(t).toContain('tier_2');
  });

  test('helpers', () => {
    expect(delta(10, 7, 'count')).toBe('▲ +3');
    expect(delta(1200, 2500, 'count')).toBe('▼ −1,300');
    expect(delta(90.04, 90, 'pct')).toBe('= no change');
    expect(delta(null, 3, 'count')).toBe('');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('😀😀😀', 3).length).toBeLessThanOrEqual(3);
    expect(localTime('2026-11-23T09:00:00Z', 'Europe/Berlin')).toMatch(/^2026-11-23 10:00 (CET|GMT\+1)$/);
    expect(longDate('2026-11-22')).toBe('Sun 22 Nov 2026');
  });
});
