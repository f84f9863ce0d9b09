/**
 * The per-case clocks against hand-computed expectations (test/sla-policy.helpers.ts): the
 * reference implementation in TypeScript gives every one of them, and the pipeline's
 * case_rows (runPipeline with the fixture policy file and a history CSV) gives what it holds
 * of them: the policy, outcomes, and for open cases with a target the clock, its state,
 * the at-risk listing and due_at.
 */
import { caseClock, createBusinessClock } from '../src/kpi/businessCalendar';
import { HAND_CASES, caseLine, clockInput, historyLines, loadFixturePolicies, ms, runPipelineClocks, type Expected } from './sla-policy.helpers';

const set = loadFixturePolicies();
const iso = (t: number | null) => (t == null ? null : new Date(t).toISOString().replace('.000Z', 'Z'));

describe('reference clocks (TypeScript)', () => {
  test.each(HAND_CASES.map((h) => [h.c.id, h.why, h] as const))('%s: %s', (_id, _why, { c, e }) => {
    const p = set.policies.find((x) => x.name === c.policy)!;
    const clock = createBusinessClock(set.calendars[p.calendar], ms('2026-01-01T00:00:00Z'), ms('2027-02-01T00:00:00Z'));
    const r = caseClock(clockInput(set, c), clock);
    const got: Expected = {
      clockS: r.resolution.clockS, pausedS: r.resolution.pausedS, dueAt: iso(r.resolution.dueAtMs), outcome: r.resolution.outcome,
      clockState: r.resolution.clockState, riskStage: r.resolution.riskStage, responseClockS: r.firstResponse.clockS, responseOutcome: r.firstResponse.outcome,
    };
    expect(got).toEqual(e);
  });

  test('stretches of a paused case: running and paused, with their business time', () => {
    const h = HAND_CASES.find((x) => x.c.id === 'pauses')!;
    const clock = createBusinessClock(set.calendars['emea-office'], ms('2026-11-01T00:00:00Z'), ms('2026-12-01T00:00:00Z'));
    const r = caseClock(clockInput(set, h.c), clock);
    expect(r.resolution.stretches.map((s) => [s.state, s.status, iso(s.fromMs), iso(s.toMs), s.businessS / 3600])).toEqual([
      ['running', 'open', '2026-11-16T07:00:00Z', '2026-11-16T09:00:00Z', 2],
      ['paused', 'Pending', '2026-11-16T09:00:00Z', '2026-11-16T13:00:00Z', 3],
      ['running', 'open', '2026-11-16T13:00:00Z', '2026-11-17T08:00:00Z', 5],
      ['paused', 'waiting_on_customer', '2026-11-17T08:00:00Z', '2026-11-17T09:00:00Z', 1],
      ['running', 'in_progress', '2026-11-17T09:00:00Z', '2026-11-17T14:00:00Z', 4],
    ]);
    expect(r.firstResponse.dueAtMs).toBe(ms('2026-11-16T08:00:00Z'));
  });
});

describe('the pipeline (case_rows after the clocks, CSV source)', () => {
  // One run per as_of: the cases of a run are independent of each other.
  const runs = [...new Set(HAND_CASES.map((h) => h.c.asOf))].map((asOf) => [HAND_CASES.filter((h) => h.c.asOf === asOf).map((h) => h.c.id).join(', '), asOf]);
  test.each(runs)('%s (as_of %s)', async (_ids, asOf) => {
    const hand = HAND_CASES.filter((h) => h.c.asOf === asOf);
    const { rows } = await runPipelineClocks({ cases: hand.map((h) => caseLine(h.c)), history: hand.flatMap((h) => historyLines(h.c)), asOf });
    for (const { c, e } of hand) {
      const r = rows.get(c.id)!;
      // The clock of an open case with a target (what sla_at_risk_cases can show); due_at
      // where the case is listed (at or above the lowest stage).
      const withClock = e.clockState !== null && e.outcome !== null;
      const listed = withClock && e.riskStage !== null;
      const want = {
        id: c.id, policy: c.policy, outcome: e.outcome, frOutcome: e.responseOutcome,
        clockS: withClock ? e.clockS : null, clockState: withClock ? e.clockState : null, listed, dueAt: listed ? e.dueAt : null,
      };
      const got = {
        id: r.case_id, policy: r.policy, outcome: r.outcome, frOutcome: r.fr_outcome,
        clockS: withClock && r.clock_us != null ? r.clock_us / 1e6 : null, clockState: withClock ? r.clock_state : null, listed: r.risk_listed,
        dueAt: listed ? iso(r.due_at_us == null ? null : r.due_at_us / 1000) : null,
      };
      expect(got).toEqual(want);
    }
  });
});
