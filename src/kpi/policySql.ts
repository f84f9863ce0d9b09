/**
 * The SLA policy set (contract 6.1) as SQL expressions: its patterns, the policy choice,
 * which statuses pause which policy, and the risk stage of a clock reading. Used by the
 * per-case table (staging/policyRows.ts, case_clocks.sql) and the at-risk report (compute.ts).
 */
import { CONDITION_KEYS, type ConditionKey, type SlaPolicy } from '../contract/slaPolicy';
import { DUCKDB, type Dialect } from '../db/dialect';

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

/** case_clocks.sql's {{pause_match}}: does the status pause the clock of the case's policy. */
export function pauseMatchSql(policies: SlaPolicy[], policyCol: string, statusCol: string, d: Dialect = DUCKDB): string {
  const arms = policies.filter((p) => p.pauseOn.length).map((p) => `WHEN ${d.lit(p.name)} THEN ${patternsSql(statusCol, p.pauseOn, d)}`);
  return arms.length ? `CASE ${policyCol} ${arms.join(' ')} ELSE false END` : 'false';
}

/** sla_at_risk_cases.sql's {{risk_stage}}: 100 when breached, else the highest stage reached (NULL below the lowest). */
export function riskStageSql(stages: number[] | null, pctCol: string, breachedCol: string): string {
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
