/**
 * `kpi explain CASE_ID` (contract section 6): why one case's SLA clocks read what they
 * read, as a typed object the terminal and Slack renderers print. Built from the reference
 * clock (businessCalendar.ts: selectPolicy, caseClock), not from the report SQL: the
 * explanation is an independent reading of the same rules, stretch by stretch.
 *
 * Pure: the case, its status history and the policy set come in as values; no I/O.
 */
import {
  CALENDAR_24X7, CONDITION_KEYS, WEEKDAYS, type BusinessCalendar, type ConditionKey, type MinuteInterval, type Priority,
  type SlaPolicySet,
} from '../contract/slaPolicy';
import { localDate } from '../support/cronTime';
import { caseClock, clockSpan, createBusinessClock, selectPolicy, type ClockStretch, type Outcome } from './businessCalendar';

/** The case as the explanation needs it: the survivor row, cleaned (contract 1 to 3). */
export interface ExplainCaseInput {
  caseId: string;
  /** Priority code after aliases; null when missing or unknown. */
  priority: Priority | null;
  /** The priority as written in the source (for the unknown-priority message). */
  priorityRaw: string | null;
  status: string | null;
  region: string | null;
  channel: string | null;
  team: string | null;
  customerTier: string | null;
  createdAtMs: number;
  /** As in the source, also when after as_of (the clocks ignore what lies after as_of). */
  resolvedAtMs: number | null;
  firstResponseAtMs: number | null;
  /** Closed status without resolved_at (contract 4: no SLA outcome). */
  closedWithoutResolvedAt: boolean;
}

export interface ExplainHistoryRow {
  status: string;
  changedAtMs: number;
}

export interface ExplainOptions {
  asOfMs: number;
  /** Risk stages when the policy set names none (the run's risk_threshold_pct). */
  riskThresholdPct: number;
}

export interface ExplainCheck {
  key: ConditionKey;
  values: string[];
  caseValue: string | null;
  matched: boolean;
}

export interface ExplainPolicyTried {
  name: string;
  /** Line in the policy file (null: built in). */
  line: number | null;
  matched: boolean;
  /** Empty: the policy has no `when` and matches every case. */
  checks: ExplainCheck[];
}

export interface ExplainCalendar {
  name: string;
  timezone: string;
  is24x7: boolean;
  /** Weekly hours, consecutive days with the same hours together: `mon-thu` -> `08:00-12:00, 13:00-18:00`. Empty for 24x7. */
  weekly: Array<{ days: string; hours: string }>;
  /** Holidays of the calendar between the case's creation and its last due time (local days). */
  holidaysInSpan: string[];
}

export interface ExplainStretch {
  state: 'running' | 'paused';
  /** The status that began the stretch (null: before the first status change). */
  status: string | null;
  fromMs: number;
  toMs: number;
  /** Business seconds the stretch holds (counted on the clock when running, as paused time when paused). */
  businessS: number;
}

export interface ExplainClock {
  /** Target in seconds; null: no target (see noTargetReason). */
  targetS: number | null;
  /** Business seconds on the clock at its end (resolved_at / response, else as_of). */
  clockS: number | null;
  /** Resolution only: business seconds spent paused. */
  pausedS: number | null;
  /** Percent of the target on the clock. */
  elapsedPct: number | null;
  /** Where the clock stops (response or resolution) when it has; null while it still runs at as_of. */
  stoppedAtMs: number | null;
  dueAtMs: number | null;
  /** due_at - as_of in real hours, only while open and not paused (contract 6.2). */
  hoursToBreach: number | null;
  outcome: Outcome | null;
  /** Resolution of an open case only. */
  clockState: 'running' | 'paused' | null;
  /** Resolution of an open case with a target only: the highest stage reached, 100 when breached. */
  riskStage: number | null;
  stretches: ExplainStretch[];
}

export interface CaseExplanation {
  caseId: string;
  asOfMs: number;
  /** The attributes the policies' `when` conditions test, as the case has them. */
  attributes: Pick<ExplainCaseInput, 'priority' | 'priorityRaw' | 'status' | 'region' | 'channel' | 'team' | 'customerTier'>;
  createdAtMs: number;
  /** Resolved at or before as_of; null while open. */
  resolvedAtMs: number | null;
  open: boolean;
  /** Null: the built-in `default` policy (no policy file). */
  policyFile: string | null;
  /** In file order, up to and including the one that applies. */
  policiesTried: ExplainPolicyTried[];
  /** The policy that applies; null when none matches. */
  policy: string | null;
  calendar: ExplainCalendar | null;
  pauseOn: string[];
  riskStages: number[];
  /** Why the case has no SLA target (null: it has one). */
  noTargetReason: string | null;
  resolution: ExplainClock;
  firstResponse: ExplainClock;
  /** Status changes at or before the resolution clock's end, in order. */
  historyRows: number;
}

const pad = (n: number) => String(n).padStart(2, '0');
const hhmm = (m: number) => `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
const intervalsText = (ivs: MinuteInterval[]) => ivs.map((iv) => `${hhmm(iv.start)}-${hhmm(iv.end)}`).join(', ');

/** A calendar's week as runs of consecutive days with the same hours (closed days left out). */
export function weeklyHours(cal: BusinessCalendar): Array<{ days: string; hours: string }> {
  if (cal.is24x7) return [];
  const out: Array<{ days: string; hours: string }> = [];
  let i = 0;
  while (i < WEEKDAYS.length) {
    const text = intervalsText(cal.weekly[WEEKDAYS[i]]);
    let j = i;
    while (j + 1 < WEEKDAYS.length && intervalsText(cal.weekly[WEEKDAYS[j + 1]]) === text) j++;
    if (text) out.push({ days: j > i ? `${WEEKDAYS[i]}-${WEEKDAYS[j]}` : WEEKDAYS[i], hours: text });
    i = j + 1;
  }
  return out;
}

const emptyClock = (targetS: number | null): ExplainClock => ({
  targetS, clockS: null, pausedS: null, elapsedPct: null, stoppedAtMs: null, dueAtMs: null, hoursToBreach: null,
  outcome: null, clockState: null, riskStage: null, stretches: [],
});

const toStretch = (s: ClockStretch): ExplainStretch => ({ state: s.state, status: s.status, fromMs: s.fromMs, toMs: s.toMs, businessS: s.businessS });

/**
 * Explains one case at as_of under a policy set: the policies tried and why, the calendar,
 * and both clocks with their stretches (contract 6.2, 6.3, 6.5).
 */
export function explainCase(c: ExplainCaseInput, history: ExplainHistoryRow[], set: SlaPolicySet, o: ExplainOptions): CaseExplanation {
  const attrs: Partial<Record<ConditionKey, string | null>> = {
    priority: c.priority, region: c.region, channel: c.channel, team: c.team, customer_tier: c.customerTier, status: c.status,
  };
  const tried = selectPolicy(set, attrs);
  const applying = tried.length && tried[tried.length - 1].matched ? tried[tried.length - 1].policy : null;
  const resolvedAtMs = c.resolvedAtMs != null && c.resolvedAtMs <= o.asOfMs ? c.resolvedAtMs : null;
  const firstResponseAtMs = c.firstResponseAtMs != null && c.firstResponseAtMs <= o.asOfMs ? c.firstResponseAtMs : null;
  const riskStages = set.riskStages ?? [o.riskThresholdPct];
  const targets = applying && c.priority ? applying.targets[c.priority] ?? null : null;

  let noTargetReason: string | null = null;
  if (c.priority == null) noTargetReason = c.priorityRaw ? `priority "${c.priorityRaw}" is not a known priority` : 'the case has no priority';
  else if (!applying) noTargetReason = 'no policy matches the case (it counts under NO_POLICY)';
  else if (!targets) noTargetReason = `policy ${applying.name} has no targets for ${c.priority}`;
  else if (c.closedWithoutResolvedAt) noTargetReason = 'the case is closed without a resolved_at (no SLA outcome)';
  else if (resolvedAtMs != null && resolvedAtMs < c.createdAtMs) noTargetReason = 'resolved_at is before created_at (no SLA outcome)';

  const calendar = applying ? set.calendars[applying.calendar] ?? set.calendars[CALENDAR_24X7] : set.calendars[CALENDAR_24X7];
  const maxTargetS = targets ? Math.max(targets.resolutionS, targets.firstResponseS) : 0;
  const span = clockSpan(calendar, c.createdAtMs, o.asOfMs, maxTargetS);
  const clock = createBusinessClock(calendar, span.fromMs, span.toMs);
  const withTarget = noTargetReason == null && targets != null;
  const cc = caseClock({
    createdAtMs: c.createdAtMs,
    resolvedAtMs,
    firstResponseAtMs,
    asOfMs: o.asOfMs,
    resolutionTargetS: withTarget ? targets.resolutionS : null,
    responseTargetS: withTarget ? targets.firstResponseS : null,
    pauseOn: applying?.pauseOn ?? [],
    history: history.map((h) => ({ status: h.status, changedAtMs: h.changedAtMs })),
    riskStages,
  }, clock);

  const open = resolvedAtMs == null && !c.closedWithoutResolvedAt;
  const r = cc.resolution;
  const resolution: ExplainClock = {
    ...emptyClock(r.targetS),
    clockS: r.clockS, pausedS: r.pausedS, elapsedPct: r.elapsedPct, stoppedAtMs: resolvedAtMs,
    dueAtMs: r.dueAtMs, outcome: r.outcome, clockState: open ? r.clockState : null, riskStage: open ? r.riskStage : null,
    stretches: r.stretches.map(toStretch),
  };
  if (open && resolution.dueAtMs != null) resolution.hoursToBreach = (resolution.dueAtMs - o.asOfMs) / 3_600_000;
  const f = cc.firstResponse;
  const frEnd = f.atMs ?? o.asOfMs;
  const firstResponse: ExplainClock = {
    ...emptyClock(f.targetS),
    clockS: f.clockS, stoppedAtMs: f.atMs, dueAtMs: f.dueAtMs, outcome: f.outcome,
    elapsedPct: f.clockS != null && f.targetS ? (f.clockS * 100) / f.targetS : null,
    stretches: f.clockS != null && frEnd > c.createdAtMs ? [{ state: 'running', status: null, fromMs: c.createdAtMs, toMs: frEnd, businessS: f.clockS }] : [],
  };

  // Holidays that lie between the case's creation and the later of its end and its due times.
  let holidaysInSpan: string[] = [];
  if (!calendar.is24x7 && calendar.holidays.length) {
    const last = Math.max(resolvedAtMs ?? o.asOfMs, resolution.dueAtMs ?? 0, firstResponse.dueAtMs ?? 0);
    const from = localDate(c.createdAtMs, calendar.timezone);
    const to = localDate(last, calendar.timezone);
    holidaysInSpan = calendar.holidays.filter((d) => d >= from && d <= to);
  }

  return {
    caseId: c.caseId,
    asOfMs: o.asOfMs,
    attributes: {
      priority: c.priority, priorityRaw: c.priorityRaw, status: c.status, region: c.region, channel: c.channel, team: c.team,
      customerTier: c.customerTier,
    },
    createdAtMs: c.createdAtMs,
    resolvedAtMs,
    open,
    policyFile: set.file,
    policiesTried: tried.map((t) => ({
      name: t.policy.name, line: t.policy.line, matched: t.matched,
      checks: CONDITION_KEYS.flatMap((k) => t.checks.filter((x) => x.key === k)),
    })),
    policy: applying?.name ?? null,
    calendar: applying ? {
      name: calendar.name, timezone: calendar.timezone, is24x7: calendar.is24x7, weekly: weeklyHours(calendar), holidaysInSpan,
    } : null,
    pauseOn: applying?.pauseOn ?? [],
    riskStages,
    noTargetReason,
    resolution,
    firstResponse,
    historyRows: history.filter((h) => h.changedAtMs <= (resolvedAtMs ?? o.asOfMs)).length,
  };
}

/** `2026-12-23 17:00 +01:00`: an instant as wall-clock time in a zone, with its offset. */
export function zonedText(ms: number, timezone: string): string {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hourCycle: 'h23',
  });
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  const off = Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
  const sign = off < 0 ? '-' : '+';
  const offText = off === 0 && timezone === 'UTC' ? 'UTC' : `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const secs = p.second !== '00' ? `:${p.second}` : '';
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${secs} ${offText}`;
}

/** Business seconds as `7h 30m`, `45m`, `2h`, `0m` (seconds shown only when not whole minutes). */
export function durationText(seconds: number): string {
  const neg = seconds < 0;
  let s = Math.round(Math.abs(seconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (h) parts.push(`${h}h`);
  if (m || (!h && !s)) parts.push(`${m}m`);
  if (s) parts.push(`${s}s`);
  return `${neg ? '-' : ''}${parts.join(' ')}`;
}
