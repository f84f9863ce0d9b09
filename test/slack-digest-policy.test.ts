/** The digest's compliance per SLA policy (contract 6.4, sla_policy_summary): shown only with more than one policy. */
import { renderDigest } from '../src/render/slack/digest';
import type { SlaPolicySummaryRow } from '../src/contract/report';
import { makeReport } from './fixtures/report';
import { expectWithinLimits } from './fixtures/blockLimits';

const row = (policy: string, calendar: string | null, met: number, breached: number, pending: number, pct: number | null, frPct: number | null): SlaPolicySummaryRow => ({
  policy, calendar, total_cases: met + breached + pending, met, breached, pending, sla_compliance_pct: pct,
  first_response_met: 0, first_response_breached: 0, first_response_compliance_pct: frPct,
});

test('one policy row (or none): the digest is byte-identical to a report without policies', () => {
  const plain = renderDigest(makeReport(), null, { dqMin: 90 });
  const one = renderDigest(makeReport({ slaPolicySummary: [row('default', '24x7', 90, 10, 5, 90, 95)] }), null, { dqMin: 90 });
  const none = renderDigest(makeReport({ slaPolicySummary: [] }), null, { dqMin: 90 });
  expect(JSON.stringify(one)).toBe(JSON.stringify(plain));
  expect(JSON.stringify(none)).toBe(JSON.stringify(plain));
  expect(JSON.stringify(plain)).not.toContain('by policy');
});

test('several policies: one field each, in the report order, after SLA by priority', () => {
  const rows = [row('enterprise', '24x7', 40, 2, 3, 95.2, 97.5), row('office', 'emea-office', 100, 20, 7, 83.3, null), row('NO_POLICY', null, 1, 1, 0, 50, 0)];
  const m = renderDigest(makeReport({ slaPolicySummary: rows }), null, { dqMin: 90 });
  expectWithinLimits(m.blocks);
  const json = JSON.stringify(m.blocks);
  expect(json).toContain('*SLA compliance by policy* (resolution · first response)');
  expect(json).toContain('*enterprise* _24x7_ 95.2% · FR 97.5%\\n40 met · 2 breached · 3 pending');
  expect(json).toContain('*office* _emea-office_ 83.3% · FR –\\n100 met · 20 breached · 7 pending');
  expect(json).toContain('*NO_POLICY* 50.0% · FR 0.0%\\n1 met · 1 breached · 0 pending');
  expect(json.indexOf('by priority')).toBeLessThan(json.indexOf('by policy'));
  expect(m.text).toBe(renderDigest(makeReport(), null, { dqMin: 90 }).text);
});
