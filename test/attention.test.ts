/**
 * "Needs attention": one order shared by the .txt, the digest and /kpi risk. Cases that
 * can still be saved first (soonest due), then the newly breached (most recent first);
 * breaches older than the horizon are a count, never listed.
 */
import type { AtRiskCase, KpiReport } from '../src/contract/report';
import { attention, attentionList, attentionTop, reportAttention } from '../src/render/attention';
import { renderDailyOpsText } from '../src/render/files/text';
import { renderDigest } from '../src/render/slack/digest';
import { renderRisk, toBreach } from '../src/render/slack/replies';
import { makeReport } from './fixtures/report';

function withCases(hours: [string, number][], horizon?: number): KpiReport {
  const base = makeReport();
  const tpl = base.atRiskCases[0];
  const cases: AtRiskCase[] = hours.map(([id, h]) => ({ ...tpl, case_id: id, hours_to_breach: h, risk_level: h < 0 ? 'breached' : 'at_risk' }));
  return { ...base, atRiskCases: cases, meta: { ...base.meta, ...(horizon !== undefined ? { breachHorizonHours: horizon } : {}) } };
}

const MIX: [string, number][] = [
  ['OLD-1', -4534.87], ['OLD-2', -200], ['NEW-1', -3], ['NEW-2', -0.5], ['SOON-3', 6], ['SOON-1', 0.25], ['SOON-2', 2], ['NEW-3', -23.9],
];

describe('attention order', () => {
  test('soonest due first, then newly breached (most recent first); older than the horizon only counted', () => {
    const a = attention(withCases(MIX).atRiskCases, 24);
    expect(a.soon.map((c) => c.case_id)).toEqual(['SOON-1', 'SOON-2', 'SOON-3']);
    expect(a.newlyBreached.map((c) => c.case_id)).toEqual(['NEW-2', 'NEW-1', 'NEW-3']);
    expect(a.oldBreached.count).toBe(2);
    expect(attentionList(a).map((c) => c.case_id)).not.toContain('OLD-1');
    // The horizon is the run's setting (report meta), default 24 h.
    expect(reportAttention(withCases(MIX, 1)).newlyBreached.map((c) => c.case_id)).toEqual(['NEW-2']);
    expect(reportAttention(withCases(MIX)).horizonHours).toBe(24);
  });

  test('the .txt, the digest and /kpi risk list the same cases in the same order', () => {
    const many: [string, number][] = [...MIX, ...Array.from({ length: 8 }, (_, i) => [`LATER-${i}`, 10 + i] as [string, number])];
    const r = withCases(many);
    const expected = attentionTop(reportAttention(r)).map((c) => c.case_id);
    expect(expected).toEqual(['SOON-1', 'SOON-2', 'SOON-3', 'LATER-0', 'LATER-1', 'NEW-2', 'NEW-1', 'NEW-3']);
    const ids = (s: string) => s.match(/(?:SOON|LATER|NEW|OLD)-\d+\b/g) ?? [];

    const txt = renderDailyOpsText(r);
    const section = txt.slice(txt.indexOf('Needs attention first'), txt.indexOf('open cases have breached SLA'));
    expect(ids(section)).toEqual(expected);

    const digest = JSON.stringify(renderDigest(r, null, { dqMin: 90 }).blocks);
    const digestSection = digest.slice(digest.indexOf('Needs attention first'));
    expect(ids(digestSection)).toEqual(expected);

    const risk = renderRisk(r, { filter: {}, delivery: 'none' });
    expect(ids(JSON.stringify(risk.blocks))).toEqual(expected);

    // Old breaches: a count in all three, never a line each.
    expect(txt).toContain('2 breached more than 24 h ago');
    expect(digest).toContain('2 breached more than 24 h ago');
    expect(JSON.stringify(risk.blocks)).toContain('2 breached more than 24 h ago');
  });

  test('/kpi risk says "breached … ago", never a negative duration', () => {
    expect(toBreach(-4534.87)).toBe('breached 4,534.87 h ago');
    expect(toBreach(3.2)).toBe('in 3.20 h');
    const r = withCases([['NEW-1', -3], ['SOON-1', 0.25]]);
    const t = JSON.stringify(renderRisk(r, { filter: {}, delivery: 'none' }).blocks);
    expect(t).toContain('breached 3.00 h ago');
    expect(t).toContain('in 0.25 h');
    expect(t).not.toMatch(/-\d+\.\d+ h/);
  });
});
