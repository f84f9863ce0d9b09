/**
 * Shared by the sla-policy tests: the fixture policy file, hand-computed cases with their
 * expected clocks, the reference clock's input for a case, and a run of the real pipeline
 * (CSV source, policy file, status history) that returns each case's row of case_rows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { SlaPolicySet } from '../src/contract/slaPolicy';
import type { KpiReport } from '../src/contract/report';
import { loadSlaPolicyFile } from '../src/config/slaPolicyFile';
import { loadSettings } from '../src/config/settings';
import { query } from '../src/db/engine';
import { createSource } from '../src/sources';
import type { CaseSource } from '../src/sources/types';
import { runPipeline } from '../src/pipeline/run';
import type { CaseClock, ClockCaseInput, Outcome } from '../src/kpi/businessCalendar';
import { HEADER, row, tmpDir } from './helpers/kpi';

export const FIXTURE_DIR = join(__dirname, 'fixtures/sla-policy');
export const POLICY_FILE = join(FIXTURE_DIR, 'policies.yml');
export const loadFixturePolicies = (): SlaPolicySet => loadSlaPolicyFile(POLICY_FILE);

export const ms = (iso: string) => Date.parse(iso);
export const H = 3600;

/** A case as the clocks see it (a policy already chosen). */
export interface ClockCase {
  id: string;
  policy: string;
  priority: 'P1' | 'P2' | 'P3' | 'P4';
  created: string;
  resolved?: string;
  firstResponse?: string;
  asOf: string;
  /** In file order. */
  history?: Array<[status: string, changedAt: string]>;
}

export interface Expected {
  clockS: number | null;
  pausedS: number | null;
  dueAt: string | null;
  outcome: Outcome | null;
  clockState: 'running' | 'paused' | null;
  riskStage: number | null;
  responseClockS: number | null;
  responseOutcome: Outcome | null;
}

/** Hand-computed: the working is in each comment (local times in the calendar's zone). */
export const HAND_CASES: Array<{ c: ClockCase; e: Expected; why: string }> = [
  {
    why: 'Berlin DST end: 01:00-04:00 holds 4 real hours on 2026-10-25',
    // 10-25 01:00 CEST (23:00Z) to 04:00 CET (03:00Z) = 4 h; 10-26 00:00Z-01:30Z = 1.5 h.
    // Target 6 h: 2 more hours on 10-26 from 00:00Z. Response at 00:30Z: 23:00Z-00:30Z = 1.5 h > 1 h.
    c: { id: 'dst-berlin', policy: 'night-berlin', priority: 'P1', created: '2026-10-24T22:00:00Z', firstResponse: '2026-10-25T00:30:00Z', asOf: '2026-10-26T01:30:00Z' },
    e: { clockS: 5.5 * H, pausedS: 0, dueAt: '2026-10-26T02:00:00Z', outcome: 'pending', clockState: 'running', riskStage: 90, responseClockS: 1.5 * H, responseOutcome: 'breached' },
  },
  {
    why: 'New York DST end: 01:00-04:00 holds 4 real hours on 2026-11-01',
    // 11-01 01:00 EDT (05:00Z) to 04:00 EST (09:00Z) = 4 h; 11-02 01:00 EST = 06:00Z, to 07:00Z = 1 h.
    // 5 h <= 6 h: met; due 2 h into 11-02 = 08:00Z. No response: resolved_at counts, 5 h > 1 h.
    c: { id: 'dst-ny', policy: 'night-ny', priority: 'P1', created: '2026-11-01T04:00:00Z', resolved: '2026-11-02T07:00:00Z', asOf: '2026-11-03T00:00:00Z' },
    e: { clockS: 5 * H, pausedS: 0, dueAt: '2026-11-02T08:00:00Z', outcome: 'met', clockState: null, riskStage: null, responseClockS: 5 * H, responseOutcome: 'breached' },
  },
  {
    why: 'New York DST start: 01:00-04:00 holds 2 real hours on 2026-03-08',
    // 03-08 01:00 EST (06:00Z) to 04:00 EDT (08:00Z) = 2 h; 03-09 05:00Z-08:00Z = 3 h (5 h);
    // the 6th hour: 03-10 05:00Z-06:00Z.
    c: { id: 'dst-ny-spring', policy: 'night-ny', priority: 'P1', created: '2026-03-08T05:00:00Z', asOf: '2026-03-08T12:00:00Z' },
    e: { clockS: 2 * H, pausedS: 0, dueAt: '2026-03-10T06:00:00Z', outcome: 'pending', clockState: 'running', riskStage: null, responseClockS: 2 * H, responseOutcome: 'breached' },
  },
  {
    why: 'split shift: lunch does not count',
    // Mon 11-16 10:00-12:00 + 13:00-18:00 = 7 h, Tue 08:00-09:30 = 1.5 h: 8.5 h > 8 h.
    // 8 h reached Tue 09:00 CET = 08:00Z. Response Mon 12:30: 10:00-12:00 = 2 h > 1 h.
    c: { id: 'split-shift', policy: 'office', priority: 'P1', created: '2026-11-16T09:00:00Z', resolved: '2026-11-17T08:30:00Z', firstResponse: '2026-11-16T11:30:00Z', asOf: '2026-11-23T12:00:00Z' },
    e: { clockS: 8.5 * H, pausedS: 0, dueAt: '2026-11-17T08:00:00Z', outcome: 'breached', clockState: null, riskStage: null, responseClockS: 2 * H, responseOutcome: 'breached' },
  },
  {
    why: 'created on a Saturday, outside business hours',
    // Clock starts Mon 11-23 08:00 CET; as_of 13:00 CET: 4 h of 16 h (25%).
    // Due: Mon 9 h, Tue 08:00-12:00 (13 h), 13:00-16:00 (16 h) = Tue 16:00 CET = 15:00Z.
    // Response Mon 08:30 CET: 0.5 h <= 2 h.
    c: { id: 'weekend-created', policy: 'office', priority: 'P2', created: '2026-11-21T14:00:00Z', firstResponse: '2026-11-23T07:30:00Z', asOf: '2026-11-23T12:00:00Z' },
    e: { clockS: 4 * H, pausedS: 0, dueAt: '2026-11-24T15:00:00Z', outcome: 'pending', clockState: 'running', riskStage: null, responseClockS: 0.5 * H, responseOutcome: 'met' },
  },
  {
    why: 'created on a holiday: 12-24 and 12-25 from the list, 12-28 and 12-29 from the .ics',
    // Thu 12-24 .. Tue 12-29 closed (Sat, Sun between); Wed 12-30 08:00-11:00 CET = 3 h.
    // The .ics offsite on 12-30 is timed: not a holiday. Due Wed 17:00 CET = 16:00Z.
    c: { id: 'holiday-created', policy: 'office', priority: 'P1', created: '2026-12-24T08:00:00Z', asOf: '2026-12-30T10:00:00Z' },
    e: { clockS: 3 * H, pausedS: 0, dueAt: '2026-12-30T16:00:00Z', outcome: 'pending', clockState: 'running', riskStage: null, responseClockS: 3 * H, responseOutcome: 'breached' },
  },
  {
    why: 'two pauses, both before the target is reached',
    // Mon 08-10 run 2 h; Pending 10:00-14:00 paused 3 h (10-12, 13-14); run 14-18 (4 h) and
    // Tue 08-09 (1 h); waiting 09-10 paused 1 h; run 10-12, 13-15 (4 h). Clock 11 h > 8 h.
    // 8 h reached Tue 11:00 CET = 10:00Z. Response Mon 09:30: 1.5 h > 1 h.
    c: {
      id: 'pauses', policy: 'office', priority: 'P1', created: '2026-11-16T07:00:00Z', resolved: '2026-11-17T14:00:00Z',
      firstResponse: '2026-11-16T08:30:00Z', asOf: '2026-11-23T12:00:00Z',
      history: [['open', '2026-11-16T07:00:00Z'], ['Pending', '2026-11-16T09:00:00Z'], ['open', '2026-11-16T13:00:00Z'],
        ['waiting_on_customer', '2026-11-17T08:00:00Z'], ['in_progress', '2026-11-17T09:00:00Z']],
    },
    e: { clockS: 11 * H, pausedS: 4 * H, dueAt: '2026-11-17T10:00:00Z', outcome: 'breached', clockState: null, riskStage: null, responseClockS: 1.5 * H, responseOutcome: 'breached' },
  },
  {
    why: 'paused at as_of: no due_at',
    // Mon 08-12 run 4 h; pending from Mon 12:30 CET: paused 13-18 (5 h) + Tue 08-12, 13-13 (4 h).
    c: {
      id: 'paused-now', policy: 'office', priority: 'P2', created: '2026-11-16T07:00:00Z', asOf: '2026-11-17T12:00:00Z',
      history: [['pending', '2026-11-16T11:30:00Z']],
    },
    e: { clockS: 4 * H, pausedS: 9 * H, dueAt: null, outcome: 'pending', clockState: 'paused', riskStage: null, responseClockS: 13 * H, responseOutcome: 'breached' },
  },
  {
    why: 'paused at as_of after the breach: breached, stage 100, still no due_at',
    // Mon 9 h + Tue 08-10 2 h = 11 h > 8 h; pending from Tue 10:00: Tue 10-12, 13-18 (7 h) + Wed 08-12, 13-13 (4 h).
    c: {
      id: 'paused-breached', policy: 'office', priority: 'P1', created: '2026-11-16T07:00:00Z', asOf: '2026-11-18T12:00:00Z',
      history: [['waiting for customer', '2026-11-17T09:00:00Z']],
    },
    e: { clockS: 11 * H, pausedS: 11 * H, dueAt: null, outcome: 'breached', clockState: 'paused', riskStage: 100, responseClockS: 22 * H, responseOutcome: 'breached' },
  },
  {
    why: 'resolved exactly at the target: met',
    // Mon 08-12 + 13-17 = 8 h = target.
    c: { id: 'exact-met', policy: 'office', priority: 'P1', created: '2026-11-16T07:00:00Z', resolved: '2026-11-16T16:00:00Z', firstResponse: '2026-11-16T08:00:00Z', asOf: '2026-11-23T12:00:00Z' },
    e: { clockS: 8 * H, pausedS: 0, dueAt: '2026-11-16T16:00:00Z', outcome: 'met', clockState: null, riskStage: null, responseClockS: 1 * H, responseOutcome: 'met' },
  },
  {
    why: 'open exactly at the target: pending, top stage below 100',
    c: { id: 'exact-open', policy: 'office', priority: 'P1', created: '2026-11-16T07:00:00Z', firstResponse: '2026-11-16T08:00:00Z', asOf: '2026-11-16T16:00:00Z' },
    e: { clockS: 8 * H, pausedS: 0, dueAt: '2026-11-16T16:00:00Z', outcome: 'pending', clockState: 'running', riskStage: 90, responseClockS: 1 * H, responseOutcome: 'met' },
  },
  {
    why: 'first response in business time, across a weekend, and a short on_hold pause',
    // Fri 11-20 16:45-17:00 EST (15 min) + Mon 09:00-09:10 = 25 min <= 30 min. Resolution:
    // 15 min + Mon 09:00-10:00 (60 min) - on_hold 09:30-09:40 (10 min) = 65 min.
    // Due: 15 min Fri, then 3 h 45 min from Mon 09:00 plus the 10 min pause = Mon 12:55 EST.
    c: {
      id: 'response-business', policy: 'ny', priority: 'P1', created: '2026-11-20T21:45:00Z', firstResponse: '2026-11-23T14:10:00Z',
      resolved: '2026-11-23T15:00:00Z', asOf: '2026-11-23T18:00:00Z',
      history: [['ON_HOLD', '2026-11-23T14:30:00Z'], ['open', '2026-11-23T14:40:00Z']],
    },
    e: { clockS: 65 * 60, pausedS: 600, dueAt: '2026-11-23T17:55:00Z', outcome: 'met', clockState: null, riskStage: null, responseClockS: 25 * 60, responseOutcome: 'met' },
  },
  {
    why: '24x7 with a pause',
    // 00:00-02:00 run, pending 02:00-03:00, run 03:00-06:00: 5 h > 4 h; 4 h reached 05:00Z.
    c: {
      id: 'plain-pause', policy: 'enterprise', priority: 'P1', created: '2026-11-01T00:00:00Z', firstResponse: '2026-11-01T00:10:00Z', asOf: '2026-11-01T06:00:00Z',
      history: [['pending', '2026-11-01T02:00:00Z'], ['open', '2026-11-01T03:00:00Z']],
    },
    e: { clockS: 5 * H, pausedS: 1 * H, dueAt: '2026-11-01T05:00:00Z', outcome: 'breached', clockState: 'running', riskStage: 100, responseClockS: 600, responseOutcome: 'met' },
  },
  {
    why: 'a change before created_at sets the status at creation; a change after as_of is ignored',
    c: {
      id: 'before-after', policy: 'enterprise', priority: 'P1', created: '2026-11-02T00:00:00Z', asOf: '2026-11-02T03:00:00Z',
      history: [['pending', '2026-11-01T23:00:00Z'], ['open', '2026-11-02T01:00:00Z'], ['pending', '2026-11-02T10:00:00Z']],
    },
    e: { clockS: 2 * H, pausedS: 1 * H, dueAt: '2026-11-02T05:00:00Z', outcome: 'pending', clockState: 'running', riskStage: 50, responseClockS: 3 * H, responseOutcome: 'breached' },
  },
  {
    why: 'ties on changed_at are taken in file order',
    // 01:00: pending then open (open wins); 03:00: open then pending (paused from 03:00).
    c: {
      id: 'ties', policy: 'enterprise', priority: 'P1', created: '2026-11-03T00:00:00Z', asOf: '2026-11-03T04:00:00Z',
      history: [['open', '2026-11-03T03:00:00Z'], ['pending', '2026-11-03T03:00:00Z'], ['pending', '2026-11-03T01:00:00Z'], ['open', '2026-11-03T01:00:00Z']],
    },
    e: { clockS: 3 * H, pausedS: 1 * H, dueAt: null, outcome: 'pending', clockState: 'paused', riskStage: 75, responseClockS: 4 * H, responseOutcome: 'breached' },
  },
  {
    why: 'resolved before it was created: no resolution clock, no response outcome',
    c: { id: 'bad-order', policy: 'enterprise', priority: 'P1', created: '2026-11-05T10:00:00Z', resolved: '2026-11-05T09:00:00Z', asOf: '2026-11-06T00:00:00Z' },
    e: { clockS: null, pausedS: null, dueAt: null, outcome: null, clockState: null, riskStage: null, responseClockS: null, responseOutcome: null },
  },
  {
    why: 'a policy without a target for the priority: clocks, no outcome',
    c: { id: 'no-target', policy: 'ny', priority: 'P3', created: '2026-11-23T14:00:00Z', asOf: '2026-11-23T16:00:00Z' },
    e: { clockS: 2 * H, pausedS: 0, dueAt: null, outcome: null, clockState: 'running', riskStage: null, responseClockS: 2 * H, responseOutcome: null },
  },
];

/** The reference implementation's input for a case under a policy set. */
export function clockInput(set: SlaPolicySet, c: ClockCase): ClockCaseInput {
  const p = set.policies.find((x) => x.name === c.policy)!;
  const t = p.targets[c.priority];
  // Contract 1: a resolution or a response after as_of has not happened yet.
  const seen = (at?: string) => (at && ms(at) <= ms(c.asOf) ? ms(at) : null);
  return {
    createdAtMs: ms(c.created),
    resolvedAtMs: seen(c.resolved),
    firstResponseAtMs: seen(c.firstResponse),
    asOfMs: ms(c.asOf),
    resolutionTargetS: t?.resolutionS ?? null,
    responseTargetS: t?.firstResponseS ?? null,
    pauseOn: p.pauseOn,
    history: (c.history ?? []).map(([status, at]) => ({ status, changedAtMs: ms(at) })),
    riskStages: set.riskStages,
  };
}

export async function openDb(): Promise<{ conn: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  return { conn, close: () => { conn.closeSync(); instance.closeSync(); } };
}

/** A seeded random number generator (uniform in [0, 1)): generated cases are the same every run. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- cases through the pipeline ------------------------------------------------------------

/** Attributes that make the fixture's policies choose the case's policy (night-ny: P1 or P2 only). */
export function attributes(c: Pick<ClockCase, 'policy' | 'priority'>): { region: string; team: string; tier: string; priority: string } {
  switch (c.policy) {
    case 'enterprise': return { region: 'AMER', team: 'core', tier: 'enterprise', priority: c.priority };
    case 'night-berlin': return { region: 'EMEA', team: 'night-berlin', tier: 'pro', priority: c.priority };
    case 'night-ny': return { region: 'AMER', team: 'night-ny', tier: 'pro', priority: c.priority === 'P1' ? 'urgent' : c.priority };
    case 'office': return { region: 'eu-west', team: 'core', tier: 'pro', priority: c.priority };
    default: return { region: 'AMER', team: 'core', tier: 'pro', priority: c.priority };
  }
}

/** The case as a line of the cases CSV (HEADER). */
export function caseLine(c: ClockCase): string {
  const a = attributes(c);
  return row({ id: c.id, created: c.created, fr: c.firstResponse, resolved: c.resolved, status: 'open', priority: a.priority, region: a.region, team: a.team, tier: a.tier });
}

/** The case's status changes as lines of the history CSV, in file order. */
export function historyLines(c: ClockCase): string[] {
  return (c.history ?? []).map(([status, at]) => `${c.id},${status},${at}`);
}

/** The history lines of all cases, interleaved at random; each case's own lines keep their order. */
export function interleavedHistory(cases: ClockCase[], rnd: () => number): string[] {
  const lines = new Map(cases.map((c) => [c.id, historyLines(c)]));
  const slots = cases.flatMap((c) => (c.history ?? []).map(() => c.id));
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  return slots.map((id) => lines.get(id)!.shift()!);
}

/** A case's row of case_rows after the clocks (instants in epoch microseconds). */
export interface CaseRowClock {
  case_id: string;
  policy: string | null;
  is_open: boolean;
  outcome: Outcome | null;
  fr_outcome: Outcome | null;
  clock_us: number | null;
  clock_state: 'running' | 'paused' | null;
  risk_listed: boolean;
  due_at_us: number | null;
}

export interface PipelineClocks {
  report: KpiReport;
  rows: Map<string, CaseRowClock>;
  /** The run's engine's DuckDB threads. */
  threads: number;
}

/**
 * Runs the real pipeline (runPipeline, CSV source) on cases and history lines with a policy
 * file at as_of, and reads every case's row of the run's case_rows. The run keeps its data
 * (keepData, as the Slack app's runs do); the source is the real CSV source, wrapped only to
 * learn the run's connection.
 */
export async function runPipelineClocks(o: { cases: string[]; history: string[]; asOf: string; policyFile?: string }): Promise<PipelineClocks> {
  const dir = tmpDir('kpi-clocks-');
  writeFileSync(join(dir, 'cases.csv'), [HEADER, ...o.cases].join('\n') + '\n');
  writeFileSync(join(dir, 'history.csv'), ['case_id,status,changed_at', ...o.history].join('\n') + '\n');
  const settings = loadSettings({
    KPI_SOURCE: 'csv', KPI_CSV_PATH: join(dir, 'cases.csv'), KPI_HISTORY_CSV: join(dir, 'history.csv'),
    KPI_SLA_POLICY_FILE: o.policyFile ?? POLICY_FILE, KPI_DB_PATH: join(dir, 'state.duckdb'),
  });
  const csv = createSource(settings);
  let conn: DuckDBConnection | undefined;
  const source: CaseSource = { kind: csv.kind, describe: () => csv.describe(), load: (ctx) => { conn = ctx.conn; return csv.load(ctx); } };
  const { report, data } = await runPipeline({ settings, source, asOf: new Date(o.asOf), outDir: null, recordHistory: false, keepData: true, trigger: 'test' });
  try {
    const found = await query<CaseRowClock>(conn!, `SELECT case_id, policy, eff_resolved_at IS NULL AND NOT ghost AS is_open,
        CAST(outcome AS VARCHAR) AS outcome, CAST(fr_outcome AS VARCHAR) AS fr_outcome, clock_us, clock_state, risk_listed,
        epoch_us(due_at) AS due_at_us
      FROM case_rows WHERE NOT duplicate`);
    const [{ threads }] = await query<{ threads: number }>(conn!, `SELECT CAST(current_setting('threads') AS BIGINT) AS threads`);
    return { report, rows: new Map(found.map((r) => [r.case_id, r])), threads: Number(threads) };
  } finally {
    data!.close();
  }
}

const isOpen = (c: ClockCase) => c.resolved === undefined || ms(c.resolved) > ms(c.asOf);
/** An open case with a resolution target: its clock is what sla_at_risk_cases can show. */
const hasShownClock = (ref: CaseClock, c: ClockCase) => isOpen(c) && ref.resolution.targetS != null;
/** Listed in sla_at_risk_cases: open with a target, at or above the lowest stage (or breached). */
export const isListed = (ref: CaseClock, c: ClockCase) => hasShownClock(ref, c) && ref.resolution.riskStage != null;

/**
 * A case's row of case_rows against the reference clock: the policy, open or not, outcome,
 * first-response outcome; for open cases with a target the clock (whole ms), clock_state and
 * the at-risk listing; for listed cases due_at. Null when they agree, else both readings.
 */
export function clockMismatch(c: ClockCase, ref: CaseClock, r: CaseRowClock | undefined): { case: ClockCase; want: unknown; got: unknown } | null {
  const res = ref.resolution;
  const shown = hasShownClock(ref, c);
  const listed = isListed(ref, c);
  const want = {
    id: c.id, policy: c.policy, open: isOpen(c), outcome: res.outcome, frOutcome: ref.firstResponse.outcome,
    clockMs: shown ? Math.round(res.clockS! * 1000) : null, clockState: shown ? res.clockState : null, listed,
    dueMs: listed ? res.dueAtMs : null,
  };
  const got = r && {
    id: r.case_id, policy: r.policy, open: r.is_open, outcome: r.outcome, frOutcome: r.fr_outcome,
    clockMs: shown && r.clock_us != null ? r.clock_us / 1000 : null, clockState: shown ? r.clock_state : null, listed: r.risk_listed,
    dueMs: listed && r.due_at_us != null ? r.due_at_us / 1000 : null,
  };
  return JSON.stringify(got) === JSON.stringify(want) ? null : { case: c, want, got };
}
