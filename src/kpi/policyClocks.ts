/**
 * What the SQL clocks (kpi/sql/clocks/) need from TypeScript: the rows of
 * business_segments for a run, appended to DuckDB, and the few SQL fragments generated
 * from the policy set ({{pause_match}}, {{risk_stage}}), plus the policy choice as SQL.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBTimestampValue } from '@duckdb/node-api';
import { CALENDAR_24X7, CONDITION_KEYS, type ConditionKey, type SlaPolicy, type SlaPolicySet } from '../contract/slaPolicy';
import { businessSegments, clockSpan } from './businessCalendar';
import { DUCKDB, type Dialect } from '../db/dialect';

/** One row of business_segments (times in epoch microseconds). */
export interface SegmentRow {
  calendar: string;
  segStartUs: bigint;
  segEndUs: bigint;
  /** Business seconds of the calendar from the span's start to segStart. */
  cumStartS: number;
}

/**
 * The business_segments rows of every calendar a policy names (24x7 has none), over the
 * span the run needs (clockSpan): from before the oldest created_at to as_of plus the
 * calendar's largest resolution or first-response target of business time.
 */
export function businessSegmentRows(set: SlaPolicySet, oldestCreatedMs: number, asOfMs: number): SegmentRow[] {
  const maxTarget = new Map<string, number>();
  for (const p of set.policies) {
    if (p.calendar === CALENDAR_24X7) continue;
    const m = Math.max(0, ...Object.values(p.targets).map((t) => Math.max(t!.resolutionS, t!.firstResponseS)));
    maxTarget.set(p.calendar, Math.max(maxTarget.get(p.calendar) ?? 0, m));
  }
  const rows: SegmentRow[] = [];
  for (const [name, target] of maxTarget) {
    const cal = set.calendars[name];
    const span = clockSpan(cal, oldestCreatedMs, asOfMs, target);
    for (const s of businessSegments(cal, span.fromMs, span.toMs)) {
      rows.push({ calendar: name, segStartUs: BigInt(s.startMs) * 1000n, segEndUs: BigInt(s.endMs) * 1000n, cumStartS: s.cumStartMs / 1000 });
    }
  }
  return rows;
}

/** Appends rows to the existing table business_segments (business_segments.sql). */
export async function appendBusinessSegments(conn: DuckDBConnection, rows: SegmentRow[]): Promise<void> {
  const appender = await conn.createAppender('business_segments');
  try {
    for (const r of rows) {
      appender.appendVarchar(r.calendar);
      appender.appendTimestamp(new DuckDBTimestampValue(r.segStartUs));
      appender.appendTimestamp(new DuckDBTimestampValue(r.segEndUs));
      appender.appendDouble(r.cumStartS);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * A value against contract 6.1 patterns, as SQL: case-insensitive, exact, a trailing `*`
 * matching any suffix (LIKE with its wildcards escaped). `value` is an SQL expression.
 */
export function patternsSql(value: string, patterns: string[], d: Dialect = DUCKDB): string {
  const sqlText = d.lit;
  const v = `lower(trim(${value}))`;
  const exact = [...new Set(patterns.filter((p) => !p.trim().endsWith('*')).map((p) => p.trim().toLowerCase()))];
  const prefixes = [...new Set(patterns.filter((p) => p.trim().endsWith('*')).map((p) => p.trim().slice(0, -1).toLowerCase()))];
  const parts: string[] = [];
  if (exact.length) parts.push(`${v} IN (${exact.map(sqlText).join(', ')})`);
  for (const p of prefixes) parts.push(`${v} LIKE ${sqlText(p.replace(/[\\%_]/g, (c) => `\\${c}`) + '%')} ESCAPE ${sqlText('\\')}`);
  return parts.length ? `coalesce(${parts.join(' OR ')}, false)` : 'false';
}

/** {{pause_match}}: does the status pause the clock of the case's policy. */
export function pauseMatchSql(policies: SlaPolicy[], policyCol: string, statusCol: string, d: Dialect = DUCKDB): string {
  const arms = policies.filter((p) => p.pauseOn.length).map((p) => `WHEN ${d.lit(p.name)} THEN ${patternsSql(statusCol, p.pauseOn, d)}`);
  return arms.length ? `CASE ${policyCol} ${arms.join(' ')} ELSE false END` : 'false';
}

/** {{risk_stage}}: 100 when breached, else the highest stage reached (NULL below the lowest). */
export function riskStageSql(stages: number[] | null, pctCol = 'elapsed_pct', breachedCol = 'breached'): string {
  const arms = [...(stages ?? [])].sort((a, b) => b - a).map((s) => `WHEN ${pctCol} >= ${s} THEN ${s}`);
  return `CAST(CASE WHEN ${breachedCol} THEN 100 ${arms.join(' ')} END AS DOUBLE)`;
}

/**
 * The name of the policy that applies to a case (the first whose `when` matches), NULL
 * when none does. `cols`: the SQL expression of each `when` key (priority as its code).
 */
export function policyChoiceSql(policies: SlaPolicy[], cols: Record<ConditionKey, string>, d: Dialect = DUCKDB): string {
  const arms = policies.map((p) => {
    const conds = CONDITION_KEYS.filter((k) => p.when[k]).map((k) => patternsSql(cols[k], p.when[k]!, d));
    return `WHEN ${conds.length ? conds.join(' AND ') : 'true'} THEN ${d.lit(p.name)}`;
  });
  return `CASE ${arms.join(' ')} END`;
}

/** The generated fragments of case_clocks.sql for a policy set. */
export function caseClockFragments(set: SlaPolicySet, riskStages: number[] | null = set.riskStages): Record<string, string> {
  return { pause_match: pauseMatchSql(set.policies, 'c.policy', 'h.status'), risk_stage: riskStageSql(riskStages) };
}
