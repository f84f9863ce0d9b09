/**
 * SLA policies, business calendars and their policy set (contract section 6): the shapes
 * the policy file is read into (config/slaPolicyFile.ts) and that the clocks are computed
 * from (kpi/businessCalendar.ts, kpi/staging/policyRows.ts and case_clocks.sql). Types only.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The keys a policy's `when` can test, in the contract's order. */
export const CONDITION_KEYS = ['priority', 'region', 'channel', 'team', 'customer_tier', 'status'] as const;
export type ConditionKey = (typeof CONDITION_KEYS)[number];

/** The built-in calendar: every instant counts, business time is elapsed time. */
export const CALENDAR_24X7 = '24x7';

/**
 * Wall-clock minutes of a local day, [start, end): 0 is 00:00, 1440 is 24:00 (an end
 * only). start < end always.
 */
export interface MinuteInterval {
  start: number;
  end: number;
}

export interface BusinessCalendar {
  name: string;
  /** IANA zone the intervals and holidays are read in ('UTC' for 24x7). */
  timezone: string;
  /** True only for the built-in 24x7: no intervals, no holidays, business time = elapsed time. */
  is24x7: boolean;
  /** Business intervals of each weekday, ascending and disjoint (touching ones merged). A day with none is closed. */
  weekly: Record<Weekday, MinuteInterval[]>;
  /** Whole local days with no business time, `YYYY-MM-DD`, ascending, unique (the list and the .ics together). */
  holidays: string[];
  /** Line of the calendar's name in the policy file (null: built in). */
  line: number | null;
}

/** A `when` condition: the case's value (case-insensitive) equals one of `values`, or starts with a pattern's text before its trailing `*`. */
export type PolicyConditions = Partial<Record<ConditionKey, string[]>>;

/** Targets of one priority, in seconds (whole, > 0). */
export interface PriorityTargets {
  firstResponseS: number;
  resolutionS: number;
}

export interface SlaPolicy {
  name: string;
  /** Calendar name: a key of SlaPolicySet.calendars ('24x7' when the file names none). */
  calendar: string;
  /** All keys must match; empty: every case matches. `priority` values are codes (P1..P4) or patterns. */
  when: PolicyConditions;
  /** Statuses that pause the resolution clock: exact (case-insensitive) or a trailing `*` prefix. Empty: nothing pauses. */
  pauseOn: string[];
  /** Targets by priority; a priority not here has no SLA target under this policy. */
  targets: Partial<Record<Priority, PriorityTargets>>;
  /** Line of the policy's entry in the policy file (null: built in). */
  line: number | null;
}

export interface SlaPolicySet {
  /** The policy file as named (null: the built-in `default` policy). */
  file: string | null;
  /** Every calendar a policy may name, the built-in 24x7 included, by name. */
  calendars: Record<string, BusinessCalendar>;
  /** In file order: the first whose `when` matches applies. */
  policies: SlaPolicy[];
  /** Ascending percents of target (0 < stage <= 100); null: the run's risk_threshold_pct alone. */
  riskStages: number[] | null;
}
