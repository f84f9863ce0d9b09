/**
 * The pipeline's SLA clocks and the TypeScript reference (caseClock) agree on a few thousand
 * generated cases (deterministic seed). The cases go through the real pipeline: a cases CSV
 * whose attributes make the fixture's policies choose the intended policy, a status-history
 * CSV, the fixture policy file, runPipeline. Every policy of the file is reached (24x7, two
 * night calendars across their DST changes, split shifts with holidays, office hours), with
 * pauses, ties on changed_at (file order decides), changes outside the case's life, cases
 * resolved exactly at their due_at, resolved before created, responses before created and
 * priorities without a target. The history lines of different cases are interleaved in the
 * file; each case's own lines keep their order.
 *
 * Compared per case, from the run's case_rows: the policy, the outcome and the first-response
 * outcome; for open cases with a target the clock, clock_state and whether the case is listed
 * at risk; for listed cases due_at. And what the files show: the at-risk rows' policy,
 * clock_state, risk_stage and due_at, and sla_policy_summary's counts.
 */
import { caseClock, createBusinessClock, type BusinessClock, type CaseClock } from '../src/kpi/businessCalendar';
import {
  caseLine, clockInput, clockMismatch, interleavedHistory, isListed, loadFixturePolicies, ms, mulberry32, runPipelineClocks, type ClockCase,
} from './sla-policy.helpers';

const set = loadFixturePolicies();
const AS_OF = '2026-11-10T12:00:00Z';
const N = 4000;

const iso = (t: number) => new Date(t).toISOString();
const clocks = new Map<string, BusinessClock>(Object.values(set.calendars).map((c) => [c.name, createBusinessClock(c, ms('2026-09-01T00:00:00Z'), ms('2027-06-01T00:00:00Z'))]));
const calendarOf = (policy: string) => set.policies.find((p) => p.name === policy)!.calendar;
const reference = (c: ClockCase): CaseClock => caseClock(clockInput(set, c), clocks.get(calendarOf(c.policy))!);

function generate(rnd: () => number): ClockCase[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const statuses = ['open', 'pending', 'Pending', 'waiting_on_customer', 'Waiting', 'in_progress', 'on_hold', 'ON_HOLD', 'hold'];
  const asOf = ms(AS_OF);
  const start = ms('2026-10-20T00:00:00Z');
  const out: ClockCase[] = [];
  for (let i = 0; i < N; i++) {
    const policy = pick(set.policies).name;
    // night-ny's `when` takes P1 (written `urgent`) and P2 only; P2 has no target there.
    const priority = policy === 'night-ny' ? pick(['P1', 'P1', 'P2'] as const) : pick(['P1', 'P1', 'P2', 'P2', 'P3', 'P4'] as const);
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
      const due = reference({ ...c, resolved: undefined }).resolution.dueAtMs;
      if (due != null && due <= asOf) c.resolved = iso(due);
    }
    out.push(c);
  }
  return out;
}

/** due_at as sla_at_risk_cases.csv writes it (whole seconds, UTC). */
const dueText = (t: number | null) => (t == null ? null : new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z'));

test(`the pipeline and the reference agree on ${N} generated cases`, async () => {
  const rnd = mulberry32(20261025);
  const cases = generate(rnd);
  const { rows, report } = await runPipelineClocks({ cases: cases.map(caseLine), history: interleavedHistory(cases, rnd), asOf: AS_OF });

  const mismatches: unknown[] = [];
  const atRisk: Array<[string, string, string | null, number | null, string | null]> = [];
  const summary = new Map<string, { total: number; met: number; breached: number; pending: number; frMet: number; frBreached: number }>();
  const seen = { exact: 0, paused: 0, listed: 0, listedDue: 0, noTarget: 0, badOrder: 0, ties: 0 };
  for (const c of cases) {
    const ref = reference(c);
    const res = ref.resolution;
    const listed = isListed(ref, c);
    const diff = clockMismatch(c, ref, rows.get(c.id));
    if (diff) mismatches.push(diff);
    if (listed) atRisk.push([c.id, c.policy, res.clockState, res.riskStage, dueText(res.dueAtMs)]);
    const s = summary.get(c.policy) ?? { total: 0, met: 0, breached: 0, pending: 0, frMet: 0, frBreached: 0 };
    s.total++;
    if (res.outcome) s[res.outcome]++;
    if (ref.firstResponse.outcome === 'met') s.frMet++;
    if (ref.firstResponse.outcome === 'breached') s.frBreached++;
    summary.set(c.policy, s);
    if (res.clockS != null && res.clockS === (res.targetS ?? -1)) seen.exact++;
    if (res.clockState === 'paused') seen.paused++;
    if (listed) seen.listed++;
    if (listed && res.dueAtMs != null) seen.listedDue++;
    if (res.targetS == null) seen.noTarget++;
    if (res.clockS == null) seen.badOrder++;
    if ((c.history ?? []).some(([status, at], i, h) => i > 0 && h[i - 1][1] === at && h[i - 1][0] !== status)) seen.ties++;
  }
  expect(mismatches.slice(0, 10)).toEqual([]);
  expect(rows.size).toBe(N);

  // The files: the at-risk list (open cases at or above the lowest stage) and the summary by policy.
  const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
  expect(report.atRiskCases.map((x) => [x.case_id, x.policy, x.clock_state, x.risk_stage, x.due_at]).sort(byId)).toEqual(atRisk.sort(byId));
  expect(report.slaPolicySummary.map((x) => [x.policy, x.total_cases, x.met, x.breached, x.pending, x.first_response_met, x.first_response_breached])).toEqual(
    set.policies.map((p) => { const s = summary.get(p.name)!; return [p.name, s.total, s.met, s.breached, s.pending, s.frMet, s.frBreached]; }));

  // The generator reaches the edges it is meant to.
  expect(seen.exact).toBeGreaterThan(50);
  expect(seen.paused).toBeGreaterThan(100);
  expect(seen.listed).toBeGreaterThan(100);
  expect(seen.listedDue).toBeGreaterThan(50);
  expect(seen.noTarget).toBeGreaterThan(500);
  expect(seen.badOrder).toBeGreaterThan(50);
  expect(seen.ties).toBeGreaterThan(100);
});
