/**
 * Per-case KPIs at as_of (contract 4). Reads `cases` (cleaned survivors; `rid` points back
 * to the row in scoped_rows for its text columns). The run's parameters come in as SQL
 * literals (`RunLiterals`: trusted numbers and times, no join per row); the filter (slash
 * commands) is a bound WHERE.
 *
 * Columns: eff_resolved_at (resolved at or before as_of), is_open, ghost (closed status,
 * no resolved_at: counted in created volume only), bad_order (resolved before created),
 * target_hours, due_at, resolution_hours, elapsed_hours, sla_elapsed_pct, outcome,
 * fr_outcome, at_risk, age_hours, created_day / resolved_day (calendar days in report_tz).
 * Times are compared in whole microseconds, so a case exactly at its target has met it.
 */
export interface RunLiterals {
  asOf: string;
  windowStart: string;
  riskThresholdPct: number;
  /** priority -> [resolution us, response us, resolution hours] */
  targets: Record<string, [number, number, number]>;
}

const byPriority = (t: RunLiterals['targets'], i: 0 | 1 | 2, type: string) =>
  `CASE c.priority ${Object.entries(t).map(([p, v]) => `WHEN '${p}' THEN ${v[i]}::${type}`).join(' ')} END`;

export const caseMetricsSql = (filterWhere: string, utcDays: boolean, r: RunLiterals) => `
CREATE OR REPLACE TEMP TABLE m AS
WITH base AS (
  SELECT c.*,
    CASE WHEN c.resolved_at <= ${r.asOf} THEN c.resolved_at END AS eff_resolved_at,
    CASE WHEN c.first_response_at <= ${r.asOf} THEN c.first_response_at END AS eff_first_response_at,
    (c.resolved_at IS NULL AND coalesce(c.status_family = 'closed', false)) AS ghost,
    ${byPriority(r.targets, 0, 'BIGINT')} AS resolution_us,
    ${byPriority(r.targets, 1, 'BIGINT')} AS response_us,
    ${byPriority(r.targets, 2, 'DOUBLE')} AS target_hours,
    ${r.asOf} AS as_of, ${r.riskThresholdPct}::DOUBLE AS risk_threshold_pct
  FROM cases c
  WHERE (c.resolved_at IS NULL OR c.resolved_at >= ${r.windowStart}) ${filterWhere}
), k AS (
  SELECT *,
    eff_resolved_at IS NULL AND NOT ghost AS is_open,
    coalesce(eff_resolved_at < created_at, false) AS bad_order,
    coalesce(eff_first_response_at, eff_resolved_at) AS fr_at,
    epoch_us(created_at) AS created_us,
    epoch_us(coalesce(eff_resolved_at, as_of)) - epoch_us(created_at) AS elapsed_us
  FROM base
), o AS (
  SELECT *,
    resolution_us IS NOT NULL AND NOT ghost AND NOT bad_order AS has_sla,
    CASE WHEN resolution_us IS NOT NULL THEN created_at + to_microseconds(resolution_us) END AS due_at
  FROM k
)
SELECT
  -- numbers and flags only (cheap to materialise); text is joined back by rid where needed
  rid, created_at, eff_resolved_at, priority, priority_label, ghost, is_open, bad_order, has_sla,
  target_hours, due_at,
  CASE WHEN has_sla AND eff_resolved_at IS NOT NULL THEN elapsed_us / 3600e6 END AS resolution_hours,
  elapsed_us / 3600e6 AS elapsed_hours,
  CASE WHEN resolution_us IS NOT NULL THEN elapsed_us * 100.0 / resolution_us END AS sla_elapsed_pct,
  CASE
    WHEN NOT has_sla THEN NULL
    WHEN eff_resolved_at IS NOT NULL THEN CASE WHEN elapsed_us <= resolution_us THEN 'met' ELSE 'breached' END
    WHEN elapsed_us > resolution_us THEN 'breached'
    ELSE 'pending'
  END AS outcome,
  CASE
    WHEN response_us IS NULL OR ghost THEN NULL
    WHEN fr_at IS NOT NULL THEN CASE
      WHEN fr_at < created_at THEN NULL
      WHEN epoch_us(fr_at) - created_us <= response_us THEN 'met' ELSE 'breached' END
    WHEN epoch_us(as_of) - created_us > response_us THEN 'breached'
    ELSE 'pending'
  END AS fr_outcome,
  (is_open AND has_sla AND elapsed_us <= resolution_us AND elapsed_us * 100.0 / resolution_us >= risk_threshold_pct) AS at_risk,
  (epoch_us(as_of) - created_us) / 3600e6 AS age_hours,
  ${utcDays ? 'CAST(created_at AS DATE)' : localDay('created_at')} AS created_day,
  ${utcDays ? 'CAST(eff_resolved_at AS DATE)' : localDay('eff_resolved_at')} AS resolved_day
FROM o`;

/**
 * Calendar day in report_tz, through tz_offsets (the zone's UTC offset for every quarter
 * hour from the day before the trend's first day to as_of: exact across DST changes,
 * which happen on quarter hours). Earlier times fall before the trend: day 0001-01-01.
 */
const localDay = (col: string) => `CASE WHEN ${col} IS NULL THEN NULL
    WHEN ${col} < (SELECT min(bucket_start) FROM tz_offsets) THEN DATE '0001-01-01'
    ELSE CAST(${col} + to_microseconds((SELECT offset_us FROM tz_offsets z WHERE z.bucket = epoch_us(${col}) // 900000000)) AS DATE) END`;

/** Quarter-hour offsets of report_tz, for localDay(). */
export const tzOffsetsSql = `
CREATE OR REPLACE TEMP TABLE tz_offsets AS
WITH b AS (
  SELECT range AS bucket FROM p, range(
    epoch_us(timezone('UTC', timezone(p.report_tz, CAST(p.as_of_date - p.window_days AS TIMESTAMP)))) // 900000000,
    epoch_us(p.as_of) // 900000000 + 2)
)
SELECT bucket, make_timestamp(bucket * 900000000) AS bucket_start,
  epoch_us(timezone(p.report_tz, to_timestamp(bucket * 900))) - bucket * 900000000 AS offset_us
FROM b, p`;
