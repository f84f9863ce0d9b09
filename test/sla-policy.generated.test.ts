/**
 * The SQL clocks and the TypeScript reference agree on a few thousand generated cases
 * (deterministic seed): every policy of the fixture file (24x7, two night calendars across
 * their DST changes, split shifts with holidays, office hours), status histories with
 * pauses, ties and changes outside the case's life, cases resolved exactly at their due_at,
 * resolved before created, responses before created, priorities without a target.
 */
import { caseClock, createBusinessClock, type BusinessClock } from '../src/kpi/businessCalendar';
import { clockInput, loadFixturePolicies, ms, openDb, runSqlClocks, type ClockCase } from './sla-policy.helpers';

const set = loadFixturePolicies();
const AS_OF = '2026-11-10T12:00:00Z';
const N = 4000;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (t: number) => new Date(t).toISOString();
const clocks = new Map<string, BusinessClock>(Object.values(set.calendars).map((c) => [c.name, createBusinessClock(c, ms('2026-09-01T00:00:00Z'), ms('2027-06-01T00:00:00Z'))]));

function generate(): ClockCase[] {
  const rnd = mulberry32(20261025);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const statuses = ['open', 'pending', 'Pending', 'waiting_on_customer', 'Waiting', 'in_progress', 'on_hold', 'ON_HOLD', 'hold'];
  const asOf = ms(AS_OF);
  const start = ms('2026-10-20T00:00:00Z');
  const out: ClockCase[] = [];
  for (let i = 0; i < N; i++) {
    const policy = pick(set.policies).name;
    const priority = pick(['P1', 'P1', 'P2', 'P2', 'P3', 'P4'] as const);
    // Whole minutes (on interval boundaries) most of the time, otherwise any millisecond.
    const t = (x: number) => (rnd() < 0.7 ? Math.round(x / 60_000) * 60_000 : Math.round(x));
    const created = t(start + rnd() * (asOf - start));
    const c: ClockCase = { id: `c${i}`, policy, priority, created: iso(created), asOf: AS_OF };
    const r = rnd();
    if (r < 0.55) c.resolved = iso(t(created + rnd() * 5 * 86_400_000));
    else if (r < 0.6) c.resolved = iso(t(created - rnd() * 86_400_000));
    const f = rnd();
    if (f < 0.65) c.firstResponse = iso(t(created + rnd() * 86_400_000));
    else if (f < 0.68) c.firstResponse = iso(t(created - rnd() * 3_600_000));
    const n = Math.floor(rnd() * 6);
    const history: Array<[string, string]> = [];
    for (let k = 0; k < n; k++) {
      const at = k > 0 && rnd() < 0.15 ? history[k - 1][1] : iso(t(created - 7_200_000 + rnd() * 6 * 86_400_000));
      history.push([pick(statuses), at]);
    }
    if (n) c.history = history;
    // Resolved exactly when the clock reaches its target.
    if (rnd() < 0.12) {
      const due = caseClock(clockInput(set, { ...c, resolved: undefined }), clocks.get(set.policies.find((p) => p.name === policy)!.calendar)!).resolution.dueAtMs;
      if (due != null && due <= asOf) c.resolved = iso(due);
    }
    out.push(c);
  }
  return out;
}

test(`SQL and reference agree on ${N} generated cases`, async () => {
  const cases = generate();
  const db = await openDb();
  try {
    const rows = await runSqlClocks(db.conn, set, cases);
    let exact = 0;
    let paused = 0;
    for (const c of cases) {
      const cal = set.policies.find((p) => p.name === c.policy)!.calendar;
      const ref = caseClock(clockInput(set, c), clocks.get(cal)!);
      const r = rows.get(c.id)!;
      const want = {
        id: c.id, clock: ref.resolution.clockS, paused: ref.resolution.pausedS, due: ref.resolution.dueAtMs, outcome: ref.resolution.outcome,
        state: ref.resolution.clockState, stage: ref.resolution.riskStage, response: ref.firstResponse.clockS, responseOutcome: ref.firstResponse.outcome,
      };
      const got = {
        id: c.id, clock: r.resolution_clock_s, paused: r.paused_s, due: r.due_at_ms, outcome: r.outcome,
        state: r.clock_state, stage: r.risk_stage, response: r.response_clock_s, responseOutcome: r.response_outcome,
      };
      expect(got).toEqual(want);
      if (ref.resolution.elapsedPct == null) expect(r.sla_elapsed_pct).toBeNull();
      else expect(r.sla_elapsed_pct).toBeCloseTo(ref.resolution.elapsedPct, 9);
      if (ref.resolution.clockS != null && ref.resolution.clockS === (ref.resolution.targetS ?? -1)) exact++;
      if (ref.resolution.clockState === 'paused') paused++;
    }
    // The generator reaches the edges it is meant to.
    expect(exact).toBeGreaterThan(50);
    expect(paused).toBeGreaterThan(100);
  } finally {
    db.close();
  }
});
