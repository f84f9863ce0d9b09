/**
 * The per-case table and the survivor rule (contract 3 and 4): case_rows.sql filled with the
 * run's literals, the duplicate steps, and the report-time-zone day expression.
 */
import { sqlFile } from '../../db/sqlFiles';
import { DUCKDB, type Dialect } from '../../db/dialect';

/** The run's parameters as SQL literals for case_rows.sql. */
export interface RunLiterals {
  asOf: string;
  riskThresholdPct: number;
  /** priority -> [resolution us, response us] */
  targets: Record<string, [number, number]>;
}

/**
 * What an SLA policy file changes in case_rows.sql (policyRows.ts): the policy of each row
 * (a column added to the cleaned rows), the targets by policy and priority, the lowest risk
 * stage, and the extra columns.
 */
export interface PolicyFragments {
  /** Wraps the cleaned rows' SELECT, adding `policy`. */
  withPolicy: (cleaned: string) => string;
  resolutionTargetUs: string;
  responseTargetUs: string;
  /** Text is kept where this holds (the at-risk list is only known after the clocks). */
  textKept: string;
  /** Appended output columns, each with its leading comma. */
  columns: string;
}

/** A target by priority as a CASE on literals (no join per row). */
const targetByPriority = (t: RunLiterals['targets'], i: 0 | 1, type: string) =>
  `CASE priority ${Object.entries(t).map(([p, v]) => `WHEN '${p}' THEN ${v[i]}::${type}`).join(' ')} END`;

/**
 * `CREATE TABLE <table>` of cleaned rows with their per-case KPIs (case_rows.sql). Region and
 * team are kept on every row when `keepText` (slash-command filters need them), otherwise
 * only on the rows the at-risk list shows.
 */
export function caseRowsSql(cleaned: string, zone: ZoneSegment[] | null, r: RunLiterals, keepText: boolean, table = 'case_rows', policy?: PolicyFragments, d: Dialect = DUCKDB): string {
  const textKept = policy?.textKept ?? 'risk_listed';
  const shownText = (raw: string) => (keepText ? `nullif(${raw}, '')` : `CASE WHEN ${textKept} THEN nullif(${raw}, '') END`);
  return sqlFile('kpi/staging/case_rows.sql', {
    table,
    cleaned_rows: policy ? policy.withPolicy(cleaned) : cleaned,
    as_of: r.asOf,
    resolution_target_us: policy?.resolutionTargetUs ?? targetByPriority(r.targets, 0, 'BIGINT'),
    response_target_us: policy?.responseTargetUs ?? targetByPriority(r.targets, 1, 'BIGINT'),
    text_kept: textKept,
    policy_columns: policy?.columns ?? '',
    risk_threshold_pct: r.riskThresholdPct,
    created_day: zone ? localDay('created_at', zone, d) : 'CAST(created_at AS DATE)',
    resolved_day: zone ? localDay('eff_resolved_at', zone, d) : 'CAST(eff_resolved_at AS DATE)',
    region: shownText('region_raw'),
    team: shownText('team_raw'),
  }, d);
}

/**
 * The rows volume anomalies read (contract 7.1), in case_rows: the counted cases (a case_id
 * and a parseable created_at at or before as_of, the survivor across every row, in the run's
 * window or not).
 */
export const CREATED_IN_SOURCE = 'case_id IS NOT NULL AND created_at IS NOT NULL AND NOT source_duplicate';

/** The survivor rule's steps, in the order prepare.ts runs them (see duplicate_ids.sql). */
export const DUPLICATE_IDS_SQL = sqlFile('kpi/staging/duplicate_ids.sql');
export const TIED_DUPLICATES_SQL = sqlFile('kpi/staging/tied_duplicates.sql');
export const AMBIGUOUS_IDS_SQL = sqlFile('kpi/staging/ambiguous_ids.sql');
export const REREAD_SQL = sqlFile('kpi/staging/reread_ambiguous_rows.sql');
export const MARK_DUPLICATES_SQL = sqlFile('kpi/staging/mark_duplicates.sql');

/**
 * The re-read of ambiguous ids: a bit set of their ids' hashes (ambiguous_id_bits.sql) and the
 * test of a case id against it, applied to the source's rows before anything is parsed.
 */
const REREAD_BITS = 1 << 20;
export const AMBIGUOUS_BITS_SQL = sqlFile('kpi/staging/ambiguous_id_bits.sql', { bits: REREAD_BITS, max_bit: REREAD_BITS - 1 });
export const maybeAmbiguous = (caseId: string) => `get_bit(getvariable('kpi_ambiguous'), (hash(${caseId}) % ${REREAD_BITS})::INTEGER) = 1`;

/** A stretch of time with one UTC offset in report_tz: from `start` (naive UTC) on. */
export interface ZoneSegment {
  start: string;
  offsetUs: number;
}

/**
 * Calendar day in report_tz: the time plus the zone's UTC offset at that time, from the
 * offset segments of the trend's span (report_tz_segments.sql: a few, split at DST changes).
 * Earlier times fall before the trend: day 0001-01-01. A CASE on literals, no join per row.
 */
export function localDay(col: string, zone: ZoneSegment[], d: Dialect = DUCKDB): string {
  const parts = [`WHEN ${col} IS NULL THEN NULL`, `WHEN ${col} < ${zone[0].start} THEN DATE '0001-01-01'`];
  for (let i = 1; i < zone.length; i++) {
    parts.push(`WHEN ${col} < ${zone[i].start} THEN CAST(${d.addUs(col, `${zone[i - 1].offsetUs}::BIGINT`)} AS DATE)`);
  }
  parts.push(`ELSE CAST(${d.addUs(col, `${zone[zone.length - 1].offsetUs}::BIGINT`)} AS DATE)`);
  return `CASE ${parts.join('\n    ')} END`;
}
