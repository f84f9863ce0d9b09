/**
 * Per-case KPIs at as_of (contract 4), built with the cleaning in one pass: `case_rows`
 * holds every row in the run's scope with its KPIs, so no second copy of the cases is
 * made. `cleaned` is the SELECT from normalise.ts (cleanedRowsSql). The run's parameters
 * come in as SQL literals (`RunLiterals`: trusted numbers and times, no join per row).
 *
 * Columns: case_id, created_at, eff_resolved_at (resolved at or before as_of),
 * updated_at, priority / priority_label, ghost (closed status, no resolved_at: counted in
 * created volume only), bad_order (resolved before created), due_at, outcome and
 * fr_outcome (NULL: no SLA applies), risk_listed (listed in sla_at_risk_cases: open,
 * past the risk threshold, breached or not), created_day / resolved_day (calendar days
 * in report_tz), dq_missing, dq_invalid, duplicate (set by the survivor rule afterwards),
 * and the text columns status, region, team, assignee: only for listed rows, unless
 * `keepText` (slash-command filters need region and team on every row). Strings are the
 * costly part of the table, so text is copied only where a report shows it; what follows
 * from the stored columns is derived in the `m` view (CASE_VIEW_COLUMNS) instead of stored.
 * Times are compared in whole microseconds, so a case exactly at its target has met it.
 */
export interface RunLiterals {
  asOf: string;
  riskThresholdPct: number;
  /** priority -> [resolution us, response us] */
  targets: Record<string, [number, number]>;
}

const byPriority = (t: RunLiterals['targets'], i: 0 | 1, type: string) =>
  `CASE priority ${Object.entries(t).map(([p, v]) => `WHEN '${p}' THEN ${v[i]}::${type}`).join(' ')} END`;

export const caseRowsSql = (cleaned: string, zone: ZoneSegment[] | null, r: RunLiterals, keepText: boolean, table = 'case_rows') => `
CREATE TABLE ${table} AS
WITH cleaned AS (${cleaned}
), base AS (
  SELECT *,
    CASE WHEN resolved_at <= ${r.asOf} THEN resolved_at END AS eff_resolved_at,
    CASE WHEN first_response_at <= ${r.asOf} THEN first_response_at END AS eff_first_response_at,
    (resolved_at IS NULL AND coalesce(status_family = 'closed', false)) AS ghost,
    ${byPriority(r.targets, 0, 'BIGINT')} AS resolution_us,
    ${byPriority(r.targets, 1, 'BIGINT')} AS response_us
  FROM cleaned
), k AS (
  SELECT *,
    eff_resolved_at IS NULL AND NOT ghost AS is_open,
    coalesce(eff_resolved_at < created_at, false) AS bad_order,
    coalesce(eff_first_response_at, eff_resolved_at) AS fr_at,
    epoch_us(created_at) AS created_us,
    epoch_us(coalesce(eff_resolved_at, ${r.asOf})) - epoch_us(created_at) AS elapsed_us
  FROM base
), o AS (
  SELECT *,
    resolution_us IS NOT NULL AND NOT ghost AND NOT bad_order AS has_sla,
    CASE WHEN resolution_us IS NOT NULL THEN elapsed_us * 100.0 / resolution_us END AS sla_elapsed_pct
  FROM k
), l AS (
  SELECT *, coalesce(is_open AND has_sla AND sla_elapsed_pct >= ${r.riskThresholdPct}::DOUBLE, false) AS risk_listed
  FROM o
)
SELECT
  case_id, created_at, eff_resolved_at, updated_at, priority, priority_label, ghost, bad_order,
  CASE WHEN resolution_us IS NOT NULL THEN created_at + to_microseconds(resolution_us) END AS due_at,
  CASE
    WHEN NOT has_sla THEN NULL
    WHEN eff_resolved_at IS NOT NULL THEN CASE WHEN elapsed_us <= resolution_us THEN 'met'::kpi_outcome ELSE 'breached'::kpi_outcome END
    WHEN elapsed_us > resolution_us THEN 'breached'::kpi_outcome
    ELSE 'pending'::kpi_outcome
  END AS outcome,
  CASE
    WHEN response_us IS NULL OR ghost THEN NULL
    WHEN fr_at IS NOT NULL THEN CASE
      WHEN fr_at < created_at THEN NULL
      WHEN epoch_us(fr_at) - created_us <= response_us THEN 'met'::kpi_outcome ELSE 'breached'::kpi_outcome END
    WHEN epoch_us(${r.asOf}) - created_us > response_us THEN 'breached'::kpi_outcome
    ELSE 'pending'::kpi_outcome
  END AS fr_outcome,
  risk_listed,
  ${zone ? localDay('created_at', zone) : 'CAST(created_at AS DATE)'} AS created_day,
  ${zone ? localDay('eff_resolved_at', zone) : 'CAST(eff_resolved_at AS DATE)'} AS resolved_day,
  dq_missing, dq_invalid, false AS duplicate,
  CASE WHEN risk_listed THEN nullif(trim(status_raw), '') END AS status,
  ${keepText ? '' : 'CASE WHEN risk_listed THEN '}nullif(region_raw, '')${keepText ? '' : ' END'} AS region,
  ${keepText ? '' : 'CASE WHEN risk_listed THEN '}nullif(team_raw, '')${keepText ? '' : ' END'} AS team,
  CASE WHEN risk_listed THEN nullif(assignee_raw, '') END AS assignee
FROM l`;

/**
 * Per-case KPIs derived from case_rows' columns in the `m` view: is_open, has_sla,
 * at_risk (listed and not yet breached), resolution_hours (resolved cases with an SLA),
 * target_hours.
 */
export const CASE_VIEW_COLUMNS = `
  eff_resolved_at IS NULL AND NOT ghost AS is_open,
  outcome IS NOT NULL AS has_sla,
  risk_listed AND outcome = 'pending' AS at_risk,
  CASE WHEN outcome IS NOT NULL AND eff_resolved_at IS NOT NULL THEN (epoch_us(eff_resolved_at) - epoch_us(created_at)) / 3600e6 END AS resolution_hours,
  (epoch_us(due_at) - epoch_us(created_at)) / 3600e6 AS target_hours`;

/**
 * Duplicates (contract 3): the survivor is the row with the latest updated_at, among
 * equals the one read last. Only ids that occur more than once are ranked: finding them
 * is a plain count, ranking them is a small job. `tied`: several rows share the latest
 * updated_at.
 *
 * case_rows is built without keeping the read order (see prepareCases), so its rowid is
 * not the read order. Tied rows that are equal in every stored column give the same
 * reports whichever of them survives. The rows of ids whose tied rows differ
 * (AMBIGUOUS_IDS_SQL) are read again and put back in read order (REREAD_SQL), so that
 * among them a higher rowid is a later read.
 */
/** A row's rank among its duplicates: its updated_at, a missing one lowest. */
const version = (updatedAt: string) => `coalesce(epoch_us(${updatedAt}), -9223372036854775807)`;

export const duplicateIdsSql = `
CREATE OR REPLACE TEMP TABLE duplicate_ids AS
WITH repeated AS (SELECT case_id FROM case_rows WHERE case_id IS NOT NULL GROUP BY case_id HAVING count(*) > 1),
candidates AS (
  SELECT rowid AS row_id, case_id, ${version('updated_at')} AS version
  FROM case_rows WHERE case_id IN (SELECT case_id FROM repeated)
),
ranked AS (SELECT *, max(version) OVER (PARTITION BY case_id) AS latest FROM candidates)
SELECT case_id, max_by(row_id, (version, row_id)) AS survivor_rowid, max(latest) AS latest,
  count_if(version = latest) > 1 AS tied
FROM ranked GROUP BY case_id`;

/** Ids with tied rows (see duplicateIdsSql). */
export const TIED_DUPLICATES_SQL = `SELECT count_if(tied) AS n FROM duplicate_ids`;

/** The ids whose tied rows differ in some stored column: only the read order decides. */
export const AMBIGUOUS_IDS_SQL = `
CREATE OR REPLACE TEMP TABLE ambiguous_ids AS
WITH t AS (SELECT case_id, latest FROM duplicate_ids WHERE tied),
c AS (SELECT * EXCLUDE (duplicate) FROM case_rows WHERE case_id IN (SELECT case_id FROM t)),
k AS (SELECT c.* FROM c JOIN t USING (case_id) WHERE ${version('c.updated_at')} = t.latest),
v AS (SELECT case_id, count(DISTINCT row(*COLUMNS(*))) AS variants FROM k GROUP BY case_id)
SELECT case_id FROM v WHERE variants > 1`;

/**
 * For the re-read of the ambiguous ids' rows: a bit set of their ids' hashes in the
 * variable kpi_ambiguous, and the test of a case id against it. The test lets through
 * the ambiguous ids and a few others (hash collisions): the source is read again in
 * order, but only these rows are parsed (into reread_rows, see caseRowsSql).
 */
const REREAD_BITS = 1 << 20;
export const AMBIGUOUS_BITS_SQL = `SET VARIABLE kpi_ambiguous = (
  SELECT bitstring_agg((hash(case_id) % ${REREAD_BITS})::BIGINT, 0, ${REREAD_BITS - 1}) FROM ambiguous_ids)`;
export const maybeAmbiguous = (caseId: string) => `get_bit(getvariable('kpi_ambiguous'), (hash(${caseId}) % ${REREAD_BITS})::INTEGER) = 1`;

/**
 * The ambiguous ids' rows of case_rows replaced by the same rows in read order: the
 * ORDER BY keeps reread_rows' order, which is the read order (it was built in order, by
 * a plan without joins).
 */
export const REREAD_SQL = `
DELETE FROM case_rows WHERE case_id IN (SELECT case_id FROM ambiguous_ids);
INSERT INTO case_rows SELECT r.* FROM reread_rows r WHERE r.case_id IN (SELECT case_id FROM ambiguous_ids) ORDER BY r.rowid;
DROP TABLE reread_rows;
RESET VARIABLE kpi_ambiguous;`;

export const markDuplicatesSql = `
UPDATE case_rows SET duplicate = true
FROM duplicate_ids d WHERE case_rows.case_id = d.case_id AND case_rows.rowid <> d.survivor_rowid;`;

/** A stretch of time with one UTC offset in report_tz: from `start` (naive UTC) on. */
export interface ZoneSegment {
  start: string;
  offsetUs: number;
}

/**
 * Calendar day in report_tz: the time plus the zone's UTC offset at that time, from the
 * offset segments of the trend's span (zoneSegments: a few, split at DST changes). Earlier
 * times fall before the trend: day 0001-01-01. A CASE on literals, no join per row.
 */
const localDay = (col: string, zone: ZoneSegment[]) => {
  const parts = [`WHEN ${col} IS NULL THEN NULL`, `WHEN ${col} < ${zone[0].start} THEN DATE '0001-01-01'`];
  for (let i = 1; i < zone.length; i++) {
    parts.push(`WHEN ${col} < ${zone[i].start} THEN CAST(${col} + to_microseconds(${zone[i - 1].offsetUs}::BIGINT) AS DATE)`);
  }
  parts.push(`ELSE CAST(${col} + to_microseconds(${zone[zone.length - 1].offsetUs}::BIGINT) AS DATE)`);
  return `CASE ${parts.join('\n    ')} END`;
};

/** The offset segments of tz_offsets, oldest first (each quarter hour's offset, merged). */
export const zoneSegmentsSql = `
SELECT strftime(min(bucket_start), '%Y-%m-%d %H:%M:%S') AS start, offset_us
FROM (SELECT *, bucket - row_number() OVER (PARTITION BY offset_us ORDER BY bucket) AS island FROM tz_offsets)
GROUP BY offset_us, island ORDER BY min(bucket)`;

/**
 * The zone's UTC offset for every quarter hour from the day before the trend's first day
 * to as_of (exact across DST changes, which happen on quarter hours). Reads `p`.
 */
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
