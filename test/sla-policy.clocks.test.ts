/**
 * The per-case clocks against hand-computed expectations (test/sla-policy.helpers.ts):
 * the reference implementation in TypeScript and the SQL on a real DuckDB must both give
 * them.
 */
import { caseClock, createBusinessClock } from '../src/kpi/businessCalendar';
import { HAND_CASES, clockInput, loadFixturePolicies, ms, openDb, runSqlClocks, type Expected } from './sla-policy.helpers';

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

describe('SQL clocks (DuckDB)', () => {
  test('every hand-computed case', async () => {
    const db = await openDb();
    try {
      const rows = await runSqlClocks(db.conn, set, HAND_CASES.map((h) => h.c));
      for (const { c, e } of HAND_CASES) {
        const r = rows.get(c.id)!;
        const got: Expected = {
          clockS: r.resolution_clock_s, pausedS: r.paused_s, dueAt: iso(r.due_at_ms), outcome: r.outcome,
          clockState: r.clock_state, riskStage: r.risk_stage, responseClockS: r.response_clock_s, responseOutcome: r.response_outcome,
        };
        expect({ id: c.id, ...got }).toEqual({ id: c.id, ...e });
      }
    } finally {
      db.close();
    }
  });
});
