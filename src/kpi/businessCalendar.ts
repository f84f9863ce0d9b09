/**
 * Business time (contract 6.2, 6.3, 6.5), in plain TypeScript with no I/O:
 *
 * - businessSegments: a calendar's business intervals as real UTC instants over a span,
 *   with the business time before each one: B(t), the business time from the span's start
 *   to t, is the cumulative time at t's segment plus the part of that segment before t.
 *   The SQL clocks read B(t) from buckets cut from these segments (staging/policyRows.ts,
 *   case_clocks.sql).
 * - createBusinessClock / caseClock: the reference implementation of the per-case clocks
 *   (resolution with pauses, first response, outcomes, due_at, clock_state, risk_stage,
 *   and the running / paused stretches), which the tests hold the pipeline's clocks to and
 *   which `kpi explain` prints.
 * - clockSpan: the span a run's segments must cover.
 *
 * Times are UTC epoch milliseconds. A business interval holds every instant whose local
 * wall-clock time lies in [start, end): across a DST change the interval holds the real
 * time between those wall-clock times, so a repeated hour counts twice and a skipped one
 * not at all. Holidays are whole local days.
 */
import { localParts } from '../support/cronTime';
import { WEEKDAYS, type BusinessCalendar, type SlaPolicy, type SlaPolicySet, type ConditionKey, CONDITION_KEYS } from '../contract/slaPolicy';

const DAY_MS = 86_400_000;

// --- time zones ------------------------------------------------------------------------

/** The zone's UTC offset at instant t (local wall clock minus UTC), in ms. */
export function zoneOffsetMs(timezone: string, t: number): number {
  const p = localParts(t, timezone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(t / 1000) * 1000;
}

/** A stretch of real time [fromMs, toMs) with one UTC offset. */
interface OffsetPiece { fromMs: number; toMs: number; offsetMs: number }

/**
 * The zone's offset pieces over [fromMs, toMs): sampled every 6 hours (zones do not change
 * offset twice within that), each change found to the second by bisection.
 */
function offsetPieces(timezone: string, fromMs: number, toMs: number): OffsetPiece[] {
  const STEP = 6 * 3_600_000;
  const pieces: OffsetPiece[] = [];
  let start = fromMs;
  let off = zoneOffsetMs(timezone, fromMs);
  for (let t = fromMs; t < toMs; ) {
    const next = Math.min(t + STEP, toMs);
    const o = zoneOffsetMs(timezone, next);
    if (o !== off) {
      // The change lies in (t, next]: bisect on whole seconds.
      let lo = Math.floor(t / 1000);
      let hi = Math.ceil(next / 1000);
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (zoneOffsetMs(timezone, mid * 1000) === off) lo = mid; else hi = mid;
      }
      pieces.push({ fromMs: start, toMs: hi * 1000, offsetMs: off });
      start = hi * 1000;
      off = zoneOffsetMs(timezone, start);
    }
    t = next;
  }
  pieces.push({ fromMs: start, toMs, offsetMs: off });
  return pieces;
}

// --- segments --------------------------------------------------------------------------

/** A business interval as real instants [startMs, endMs), and the business ms from the span's start to startMs. */
export interface BusinessSegment {
  startMs: number;
  endMs: number;
  cumStartMs: number;
}

/**
 * The business intervals of `calendar` that lie in [fromUtcMs, toUtcMs), ascending,
 * disjoint, touching ones merged, with the business time before each (from fromUtcMs).
 * For 24x7: one segment over the whole span.
 */
export function businessSegments(calendar: BusinessCalendar, fromUtcMs: number, toUtcMs: number): BusinessSegment[] {
  if (!(toUtcMs > fromUtcMs)) return [];
  if (calendar.is24x7) return [{ startMs: fromUtcMs, endMs: toUtcMs, cumStartMs: 0 }];
  const MARGIN = 2 * DAY_MS; // more than any zone's offset
  const pieces = offsetPieces(calendar.timezone, fromUtcMs - MARGIN, toUtcMs + MARGIN);
  const holidays = new Set(calendar.holidays);
  const raw: Array<[number, number]> = [];
  // Local days (as the UTC midnight of their date) that can hold an instant of the span.
  const firstDay = Math.floor((fromUtcMs - DAY_MS) / DAY_MS) * DAY_MS;
  const lastDay = Math.floor((toUtcMs + DAY_MS) / DAY_MS) * DAY_MS;
  let p0 = 0;
  for (let day = firstDay; day <= lastDay; day += DAY_MS) {
    const intervals = calendar.weekly[WEEKDAYS[(new Date(day).getUTCDay() + 6) % 7]];
    if (intervals.length === 0 || holidays.has(new Date(day).toISOString().slice(0, 10))) continue;
    while (p0 < pieces.length && pieces[p0].toMs <= day - MARGIN) p0++;
    for (const iv of intervals) {
      const w1 = day + iv.start * 60_000;
      const w2 = day + iv.end * 60_000;
      // Within one offset piece local time is UTC + offset: the instants with a wall-clock
      // time in [w1, w2) are [w1 - offset, w2 - offset), cut to the piece.
      for (let i = p0; i < pieces.length && pieces[i].fromMs < w2 + MARGIN; i++) {
        const p = pieces[i];
        const lo = Math.max(w1 - p.offsetMs, p.fromMs, fromUtcMs);
        const hi = Math.min(w2 - p.offsetMs, p.toMs, toUtcMs);
        if (lo < hi) raw.push([lo, hi]);
      }
    }
  }
  raw.sort((a, b) => a[0] - b[0]);
  const out: BusinessSegment[] = [];
  let cum = 0;
  for (const [lo, hi] of raw) {
    const last = out[out.length - 1];
    if (last && lo <= last.endMs) {
      if (hi > last.endMs) { cum += hi - last.endMs; last.endMs = hi; }
      continue;
    }
    out.push({ startMs: lo, endMs: hi, cumStartMs: cum });
    cum += hi - lo;
  }
  return out;
}

/**
 * The span a run's segments must cover: from the UTC day before the oldest created_at to
 * as_of plus enough whole days that the calendar's business time after as_of reaches the
 * largest target (every due_at then falls inside; see caseClock). The look-ahead stops at
 * `maxDaysAhead`: a calendar with almost no business time leaves the furthest due_at empty.
 */
export function clockSpan(calendar: BusinessCalendar, oldestCreatedMs: number, asOfMs: number, maxTargetS: number, maxDaysAhead = 1100): { fromMs: number; toMs: number } {
  const fromMs = Math.floor(Math.min(oldestCreatedMs, asOfMs) / DAY_MS) * DAY_MS - DAY_MS;
  const start = Math.ceil(asOfMs / DAY_MS) * DAY_MS;
  const need = maxTargetS * 1000;
  if (calendar.is24x7) return { fromMs, toMs: start + Math.ceil(need / DAY_MS) * DAY_MS + DAY_MS };
  let days = 14;
  for (;;) {
    const segs = businessSegments(calendar, asOfMs, start + days * DAY_MS);
    const last = segs[segs.length - 1];
    const have = last ? last.cumStartMs + last.endMs - last.startMs : 0;
    if (have >= need || days >= maxDaysAhead) return { fromMs, toMs: start + days * DAY_MS + DAY_MS };
    days = Math.min(maxDaysAhead, days * 2);
  }
}

// --- the clock ---------------------------------------------------------------------------

/** Business time of one calendar over a span: B(t) and its inverse, in ms. */
export interface BusinessClock {
  calendar: BusinessCalendar;
  segments: BusinessSegment[];
  /** B(t): business ms from the span's start (24x7: from the epoch) to t. Times outside the span are clamped. */
  at(tMs: number): number;
  /** Business ms between two instants (negative when b < a). */
  between(aMs: number, bMs: number): number;
  /** B⁻¹(x): the first instant at which B reaches x; null beyond the span. */
  inverse(businessMs: number): number | null;
}

export function createBusinessClock(calendar: BusinessCalendar, fromUtcMs: number, toUtcMs: number): BusinessClock {
  if (calendar.is24x7) {
    return { calendar, segments: [], at: (t) => t, between: (a, b) => b - a, inverse: (x) => x };
  }
  const segs = businessSegments(calendar, fromUtcMs, toUtcMs);
  const at = (t: number): number => {
    // Last segment starting at or before t.
    let lo = 0;
    let hi = segs.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid].startMs <= t) { k = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (k < 0) return 0;
    const s = segs[k];
    return s.cumStartMs + Math.min(t - s.startMs, s.endMs - s.startMs);
  };
  const inverse = (x: number): number | null => {
    if (x <= 0) return segs.length ? Math.min(fromUtcMs, segs[0].startMs) : fromUtcMs;
    // First segment whose cumulative end reaches x.
    let lo = 0;
    let hi = segs.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = segs[mid];
      if (s.cumStartMs + s.endMs - s.startMs >= x) { k = mid; hi = mid - 1; } else lo = mid + 1;
    }
    if (k < 0) return null;
    return segs[k].startMs + (x - segs[k].cumStartMs);
  };
  return { calendar, segments: segs, at, between: (a, b) => at(b) - at(a), inverse };
}

// --- patterns and policies ---------------------------------------------------------------

/** Contract 6.1: case-insensitive, exact, except that a trailing `*` matches any suffix. */
export function matchesPattern(value: string | null | undefined, pattern: string): boolean {
  if (value == null) return false;
  const v = value.trim().toLowerCase();
  const p = pattern.trim().toLowerCase();
  return p.endsWith('*') ? v.startsWith(p.slice(0, -1)) : v === p;
}

export type CaseAttributes = Partial<Record<ConditionKey, string | null>>;

/** Why a policy does or does not apply: each `when` key with the case's value and whether it matched. */
export interface PolicyMatch {
  policy: SlaPolicy;
  matched: boolean;
  checks: Array<{ key: ConditionKey; values: string[]; caseValue: string | null; matched: boolean }>;
}

/**
 * The policies tried in file order up to the one that applies (contract 6.1: the first
 * whose `when` matches; every key must match). `priority` is the case's priority code.
 * The last entry is the applying policy when its `matched` is true; otherwise no policy
 * covers the case.
 */
export function selectPolicy(set: SlaPolicySet, attrs: CaseAttributes): PolicyMatch[] {
  const tried: PolicyMatch[] = [];
  for (const policy of set.policies) {
    const checks = CONDITION_KEYS.filter((k) => policy.when[k]).map((key) => {
      const values = policy.when[key]!;
      const caseValue = attrs[key] ?? null;
      return { key, values, caseValue, matched: values.some((p) => matchesPattern(caseValue, p)) };
    });
    const matched = checks.every((c) => c.matched);
    tried.push({ policy, matched, checks });
    if (matched) break;
  }
  return tried;
}

// --- per-case clocks -----------------------------------------------------------------------

export type Outcome = 'met' | 'breached' | 'pending';

export interface ClockCaseInput {
  createdAtMs: number;
  /** Resolved at or before as_of; null while open. */
  resolvedAtMs: number | null;
  /** First response at or before as_of; null when none yet. */
  firstResponseAtMs: number | null;
  asOfMs: number;
  resolutionTargetS: number | null;
  responseTargetS: number | null;
  pauseOn: string[];
  /** Status changes in file order (ties on changedAtMs keep this order). */
  history: Array<{ status: string; changedAtMs: number }>;
  /** Ascending percents; null or empty: no stage. */
  riskStages: number[] | null;
}

export interface ClockStretch {
  state: 'running' | 'paused';
  /** The status of the change that began it (null: before the first change). */
  status: string | null;
  fromMs: number;
  toMs: number;
  businessS: number;
}

export interface ResolutionClock {
  /** Business seconds on the clock at resolved_at or as_of (null: resolved before created). */
  clockS: number | null;
  pausedS: number | null;
  targetS: number | null;
  elapsedPct: number | null;
  /** First instant the clock reaches the target, running from as_of on; null while paused at as_of, without a target, or beyond the span. */
  dueAtMs: number | null;
  outcome: Outcome | null;
  /** Open cases only. */
  clockState: 'running' | 'paused' | null;
  /** Open cases with a target: the highest stage reached, 100 when breached. */
  riskStage: number | null;
  stretches: ClockStretch[];
}

export interface FirstResponseClock {
  /** The response the clock stops at (section 4: resolved_at when no first_response_at). */
  atMs: number | null;
  clockS: number | null;
  targetS: number | null;
  dueAtMs: number | null;
  outcome: Outcome | null;
}

export interface CaseClock {
  resolution: ResolutionClock;
  firstResponse: FirstResponseClock;
}

/** Highest stage reached: 100 when breached, null below the lowest stage. */
export function riskStageOf(elapsedPct: number, breached: boolean, stages: number[] | null): number | null {
  if (breached) return 100;
  let out: number | null = null;
  for (const s of stages ?? []) if (elapsedPct >= s) out = s;
  return out;
}

/**
 * The clocks of one case, computed by walking its stretches (an independent reading of
 * what the SQL computes with cumulative sums): the resolution clock runs from created_at
 * to resolved_at (or as_of) except in stretches whose status matches pause_on; due_at is
 * where the running clock reaches the target, continuing without pauses after the end.
 */
export function caseClock(c: ClockCaseInput, clock: BusinessClock): CaseClock {
  const open = c.resolvedAtMs == null;
  const end = c.resolvedAtMs ?? c.asOfMs;
  const resolution: ResolutionClock = {
    clockS: null, pausedS: null, targetS: c.resolutionTargetS, elapsedPct: null, dueAtMs: null,
    outcome: null, clockState: null, riskStage: null, stretches: [],
  };
  if (end >= c.createdAtMs) {
    const changes = c.history.filter((h) => h.changedAtMs <= end).sort((a, b) => a.changedAtMs - b.changedAtMs);
    let status: string | null = null;
    let from = c.createdAtMs;
    const paused = (s: string | null) => s != null && c.pauseOn.some((p) => matchesPattern(s, p));
    let runMs = 0;
    let pausedMs = 0;
    const close = (to: number) => {
      if (to <= from) return;
      const ms = clock.between(from, to);
      if (paused(status)) pausedMs += ms; else runMs += ms;
      resolution.stretches.push({ state: paused(status) ? 'paused' : 'running', status, fromMs: from, toMs: to, businessS: ms / 1000 });
    };
    for (const h of changes) {
      if (h.changedAtMs > from) { close(h.changedAtMs); from = h.changedAtMs; }
      status = h.status;
    }
    close(end);
    const pausedAtEnd = paused(status);
    resolution.clockS = runMs / 1000;
    resolution.pausedS = pausedMs / 1000;
    if (open) resolution.clockState = pausedAtEnd ? 'paused' : 'running';
    if (c.resolutionTargetS != null) {
      const target = c.resolutionTargetS * 1000;
      resolution.elapsedPct = (runMs * 100) / target;
      const breached = runMs > target;
      resolution.outcome = open ? (breached ? 'breached' : 'pending') : breached ? 'breached' : 'met';
      if (open) resolution.riskStage = riskStageOf(resolution.elapsedPct, breached, c.riskStages);
      if (!(open && pausedAtEnd)) {
        let ran = 0;
        let due: number | null | undefined;
        for (const s of resolution.stretches) {
          if (s.state !== 'running') continue;
          const b = clock.between(s.fromMs, s.toMs);
          if (ran + b >= target) { due = clock.inverse(clock.at(s.fromMs) + target - ran); break; }
          ran += b;
        }
        resolution.dueAtMs = due !== undefined ? due : clock.inverse(clock.at(end) + target - ran);
      }
    }
  }

  const fr: FirstResponseClock = { atMs: c.firstResponseAtMs ?? c.resolvedAtMs, clockS: null, targetS: c.responseTargetS, dueAtMs: null, outcome: null };
  const frEnd = fr.atMs ?? c.asOfMs;
  if (frEnd >= c.createdAtMs) {
    const ms = clock.between(c.createdAtMs, frEnd);
    fr.clockS = ms / 1000;
    if (c.responseTargetS != null) {
      const target = c.responseTargetS * 1000;
      fr.dueAtMs = clock.inverse(clock.at(c.createdAtMs) + target);
      fr.outcome = fr.atMs != null ? (ms <= target ? 'met' : 'breached') : ms > target ? 'breached' : 'pending';
    }
  }
  return { resolution, firstResponse: fr };
}
