/**
 * Ties on changed_at keep the file order (contract 6.5) when the history is large enough
 * that DuckDB splits the CSV among its threads. The clocks read the history rows of the
 * pausing cases into a table in read order (a filter, not a join) and break ties with that
 * table's rowid; a read that lost the file order would flip the tied cases below.
 *
 * Input: 16,000 cases of the `enterprise` policy (24x7, paused while `pending`) with 18
 * status changes each, interleaved in the history file (288,000 lines, about 11 MB, written
 * in the test's temp folder), plus tied cases: a pause and a resume at the same instant,
 * one line near the start of the file and the other near its end, in both orders.
 */
import { caseClock, createBusinessClock } from '../src/kpi/businessCalendar';
import {
  caseLine, clockInput, clockMismatch, historyLines, interleavedHistory, loadFixturePolicies, ms, mulberry32, runPipelineClocks, type ClockCase,
} from './sla-policy.helpers';

const set = loadFixturePolicies();
const AS_OF = '2026-11-10T12:00:00Z';
const FILLER = 16_000;
const CHANGES = 18;
const TIED = 40;

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

function fillerCases(rnd: () => number): ClockCase[] {
  const statuses = ['open', 'pending', 'Pending', 'in_progress', 'waiting_on_customer'];
  const asOf = ms(AS_OF);
  const start = ms('2026-11-01T00:00:00Z');
  const sec = (x: number) => Math.round(x / 1000) * 1000;
  const out: ClockCase[] = [];
  for (let i = 0; i < FILLER; i++) {
    const created = sec(start + rnd() * (asOf - start));
    const c: ClockCase = { id: `f${i}`, policy: 'enterprise', priority: 'P1', created: iso(created), asOf: AS_OF };
    if (rnd() < 0.4) c.resolved = iso(sec(created + rnd() * 3 * 86_400_000));
    if (rnd() < 0.7) c.firstResponse = iso(sec(created + rnd() * 3_600_000));
    c.history = Array.from({ length: CHANGES }, () => [statuses[Math.floor(rnd() * statuses.length)], iso(sec(created - 7_200_000 + rnd() * 4 * 86_400_000))] as [string, string]);
    out.push(c);
  }
  return out;
}

// Created 06:00, a pause and a resume both at 09:00, as_of 12:00, target 4 h.
// `pending` last in the file: paused since 09:00, 3 h on the clock (75 %), no due_at.
// `open` last: running, 6 h on the clock, breached at 10:00.
const tied = Array.from({ length: TIED }, (_, i) => {
  const pausedLast = i % 2 === 0;
  const c: ClockCase = {
    id: `tie${i}`, policy: 'enterprise', priority: 'P1', created: '2026-11-10T06:00:00Z', asOf: AS_OF,
    history: pausedLast ? [['open', '2026-11-10T09:00:00Z'], ['pending', '2026-11-10T09:00:00Z']] : [['pending', '2026-11-10T09:00:00Z'], ['open', '2026-11-10T09:00:00Z']],
  };
  const e = pausedLast
    ? { outcome: 'pending', clockUs: 3 * 3600e6, clockState: 'paused', riskStage: 75, dueAt: null }
    : { outcome: 'breached', clockUs: 6 * 3600e6, clockState: 'running', riskStage: 100, dueAt: '2026-11-10T10:00:00Z' };
  return { c, e };
});

test('ties on changed_at keep the file order in a history CSV read by several threads', async () => {
  const rnd = mulberry32(20261110);
  const filler = fillerCases(rnd);
  const history = interleavedHistory(filler, rnd);
  // Each tied pair: its first line in the first tenth of the file, its second in the last.
  const tenth = Math.floor(history.length / 10);
  const placed = tied.flatMap(({ c }) => {
    const [a, b] = historyLines(c);
    return [{ at: Math.floor(rnd() * tenth), line: a }, { at: history.length - Math.floor(rnd() * tenth), line: b }];
  });
  for (const p of placed.sort((x, y) => y.at - x.at)) history.splice(p.at, 0, p.line);

  const { rows, report, threads } = await runPipelineClocks({ cases: [...filler, ...tied.map((t) => t.c)].map(caseLine), history, asOf: AS_OF });
  // More than one thread reads the file (the default: one per core).
  expect(threads).toBeGreaterThan(1);

  for (const { c, e } of tied) {
    const r = rows.get(c.id)!;
    expect({ id: c.id, outcome: r.outcome, clockUs: r.clock_us, clockState: r.clock_state, listed: r.risk_listed, dueAt: r.due_at_us == null ? null : iso(r.due_at_us / 1000) })
      .toEqual({ id: c.id, outcome: e.outcome, clockUs: e.clockUs, clockState: e.clockState, listed: true, dueAt: e.dueAt });
    expect(report.atRiskCases.find((x) => x.case_id === c.id)).toMatchObject({ clock_state: e.clockState, risk_stage: e.riskStage, due_at: e.dueAt });
  }

  // The other cases agree with the reference clock too.
  const clock = createBusinessClock(set.calendars['24x7'], ms('2026-10-01T00:00:00Z'), ms('2026-12-01T00:00:00Z'));
  const mismatches = filler.map((c) => clockMismatch(c, caseClock(clockInput(set, c), clock), rows.get(c.id))).filter((m) => m !== null);
  expect(mismatches.slice(0, 5)).toEqual([]);
  expect(rows.size).toBe(FILLER + TIED);
});
