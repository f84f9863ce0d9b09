/**
 * "Needs attention": the one ordering of the report's at-risk rows that the .txt, the
 * digest, `/kpi risk` and the alert replies share, so they always agree.
 *
 * 1. soon: cases not yet breached, soonest due first (these can still be saved);
 * 2. newly breached: breached at most `horizonHours` ago, most recent breach first;
 * 3. old breached: breached longer ago than the horizon. Only a count (and per priority):
 *    the full list is the sla_at_risk_cases CSV, never one line each.
 *
 * Pure: it orders and partitions rows the report already holds; it computes no KPI.
 */
import type { AtRiskCase, KpiReport } from '../contract/report';

/** Default for KPI_BREACH_HORIZON_HOURS. */
export const DEFAULT_BREACH_HORIZON_HOURS = 24;

export interface Attention {
  horizonHours: number;
  soon: AtRiskCase[];
  newlyBreached: AtRiskCase[];
  /** Breached longer ago than the horizon: counted, not listed. */
  oldBreached: { count: number; byPriority: Record<string, number> };
}

/**
 * Is a row breached longer ago than the horizon (only counted)? A case whose clock is paused
 * has no due time (contract 6.2), so how long ago it breached is unknown: it stays listed.
 */
export function isOldBreach(c: Pick<AtRiskCase, 'risk_level' | 'hours_to_breach'>, horizonHours: number): boolean {
  return c.risk_level === 'breached' && c.hours_to_breach !== null && -c.hours_to_breach > horizonHours;
}

/**
 * Sort key of the attention order: lower comes first; old breaches sort last. Paused cases
 * (no due time) come after the running ones of their group.
 */
export function attentionRank(c: Pick<AtRiskCase, 'risk_level' | 'hours_to_breach'>, horizonHours: number): [number, number] {
  if (c.risk_level !== 'breached') return [0, c.hours_to_breach ?? Number.MAX_VALUE];
  return [isOldBreach(c, horizonHours) ? 2 : 1, c.hours_to_breach === null ? Number.MAX_VALUE : -c.hours_to_breach];
}

/** Ascending by a key where a missing one (a paused clock) sorts last. */
const ascNullsLast = (a: number | null, b: number | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a - b);

const byCaseId = (a: AtRiskCase, b: AtRiskCase) => (a.case_id < b.case_id ? -1 : a.case_id > b.case_id ? 1 : 0);

export function attention(cases: readonly AtRiskCase[], horizonHours = DEFAULT_BREACH_HORIZON_HOURS): Attention {
  const soon: AtRiskCase[] = [];
  const newly: AtRiskCase[] = [];
  const byPriority: Record<string, number> = {};
  let old = 0;
  for (const c of cases) {
    if (c.risk_level !== 'breached') soon.push(c);
    else if (isOldBreach(c, horizonHours)) {
      old += 1;
      byPriority[c.priority] = (byPriority[c.priority] ?? 0) + 1;
    } else newly.push(c);
  }
  soon.sort((a, b) => ascNullsLast(a.hours_to_breach, b.hours_to_breach) || byCaseId(a, b));
  // Most recent breach first: hours_to_breach closest to zero; paused ones last.
  newly.sort((a, b) => ascNullsLast(a.hours_to_breach === null ? null : -a.hours_to_breach, b.hours_to_breach === null ? null : -b.hours_to_breach) || byCaseId(a, b));
  return { horizonHours, soon, newlyBreached: newly, oldBreached: { count: old, byPriority } };
}

/** The report's attention partition, with the horizon the run was made with. */
export function reportAttention(report: Pick<KpiReport, 'atRiskCases' | 'meta'>): Attention {
  return attention(report.atRiskCases, report.meta.breachHorizonHours ?? DEFAULT_BREACH_HORIZON_HOURS);
}

/** The listed cases in order: soon, then newly breached (old breaches are only counted). */
export function attentionList(a: Attention): AtRiskCase[] {
  return [...a.soon, ...a.newlyBreached];
}

/** How many of each part every "needs attention" view lists (.txt, digest, /kpi risk). */
export const ATTENTION_TOP = { soon: 5, newlyBreached: 3 } as const;

/**
 * The cases every "needs attention" view lists, in order: the first `soon` not yet
 * breached, then the first `newlyBreached` newly breached. The rest are in the CSV.
 */
export function attentionTop(a: Attention, top: { soon: number; newlyBreached: number } = ATTENTION_TOP): AtRiskCase[] {
  return [...a.soon.slice(0, top.soon), ...a.newlyBreached.slice(0, top.newlyBreached)];
}

/** "P1 2, P4 305" */
export function priorityCounts(byPriority: Record<string, number>): string {
  return Object.entries(byPriority).sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `${p} ${n.toLocaleString('en-US')}`).join(', ');
}
