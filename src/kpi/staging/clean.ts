/**
 * Normalise and clean (contract sections 1 to 3), as SQL on the run's DuckDB engine.
 *
 *   source relation (contract-named columns, any of VARCHAR / TIMESTAMP / TIMESTAMPTZ)
 *     -> cleanedRowsSql: every row in the run's scope, typed, timestamps as naive UTC,
 *        priority and status families, and the row's data-quality defects
 *     -> case_rows (caseRowsSql, models/caseMetrics.ts): the same rows with their per-case KPIs, one table
 *        built in one pass; `duplicate` marks rows that are not the survivor of their case_id
 *
 * Timestamps: an offset in the text wins; text without one is read in the source time
 * zone (KPI_SOURCE_TZ); an optional strptime format (KPI_TIMESTAMP_FORMAT, e.g.
 * `%d/%m/%Y %H:%M`) is tried first. A non-empty value that does not parse is a defect:
 * it is NULL for the KPIs and counted by data quality.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, lit, query } from '../../db/engine';
import { type ContractColumn, PRIORITY_ALIASES, OPEN_STATUSES, CLOSED_STATUSES, OPEN_PREFIXES, TIMESTAMP_COLUMNS, type TimestampColumn } from '../../contract/columns';
import { tsLit } from '../../db/engine';

export interface NormaliseOptions {
  relation: string;
  sourceTz: string;
  timestampFormat?: string;
  asOf: Date;
  windowStart: Date;
  /**
   * Only rows whose case_id passes this test (an SQL condition on `case_id`, the cleaned
   * id), applied to the source's rows before anything is parsed.
   */
  caseIdFilter?: (caseId: string) => string;
}

/** The case id as the reports see it: trimmed only when it needs it, empty is NULL. */
function cleanCaseId(raw: string): string {
  return `nullif(CASE WHEN starts_with(${raw}, ' ') OR ends_with(${raw}, ' ') THEN trim(${raw}) ELSE ${raw} END, '')`;
}

/**
 * Vocabulary lookups are list lookups (not IN lists, which the optimizer may turn into
 * joins), and the exact spelling is tried first: lower-casing and trimming copy the
 * string, so they run only for the rare value that needs them.
 */
const PRIORITY_CODES = ['P1', 'P2', 'P3', 'P4'];
const PRIORITY_ENTRIES = [
  ...PRIORITY_CODES.map((p) => [p, p]),
  ...Object.entries(PRIORITY_ALIASES).flatMap(([p, a]) => a.map((alias) => [alias, p])),
];
const STATUS_ENTRIES = [...OPEN_STATUSES.map((x) => [x, 'open']), ...CLOSED_STATUSES.map((x) => [x, 'closed'])];

/** Position of a raw value among `entries` (exact first, then lower-cased and trimmed); NULL: unknown. */
function lookupPos(raw: string, entries: string[][]): string {
  const keys = `[${entries.map(([k]) => lit(k)).join(', ')}]`;
  return `coalesce(list_position(${keys}, ${raw}), list_position(${keys}, lower(trim(${raw}))))`;
}

/** The value (of the ENUM type `type`) at a lookup position. */
function valueAt(pos: string, entries: string[][], type: string): string {
  return `CAST([${entries.map(([, v]) => lit(v)).join(', ')}] AS ${type}[])[${pos}]`;
}

/** A raw value that is NULL or blank; the text is trimmed only when the lookup failed. */
function blankExpr(raw: string, pos: string): string {
  return `CASE WHEN ${raw} IS NULL THEN true WHEN ${pos} IS NOT NULL THEN false ELSE trim(${raw}) = '' END`;
}

/**
 * Small fixed vocabularies as ENUM types: one byte per row instead of a string, which
 * makes the per-case table cheap to build and to group by.
 */
export const ENUM_TYPES_SQL = `
CREATE TYPE IF NOT EXISTS kpi_priority AS ENUM ('P1', 'P2', 'P3', 'P4');
CREATE TYPE IF NOT EXISTS kpi_priority_label AS ENUM ('P1', 'P2', 'P3', 'P4', 'UNKNOWN');
CREATE TYPE IF NOT EXISTS kpi_status_family AS ENUM ('open', 'closed', 'other');
CREATE TYPE IF NOT EXISTS kpi_outcome AS ENUM ('met', 'breached', 'pending');`;

/**
 * Expression giving a naive-UTC TIMESTAMP for a column of the given DuckDB type. The
 * session time zone is the source time zone while this runs, so casts of naive values to
 * TIMESTAMPTZ read them in that zone, and text with an offset keeps its offset.
 * make_timestamp(epoch_us(x)) turns an instant into naive UTC without a zone lookup.
 */
function timestampExpr(col: string, type: string, o: NormaliseOptions): { value: string; raw: string | null } {
  const t = type.toUpperCase();
  const utc = (tstz: string) => `make_timestamp(epoch_us(${tstz}))`;
  if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMPTZ') return { value: utc(col), raw: null };
  if (t.startsWith('TIMESTAMP') || t === 'DATETIME' || t === 'DATE') {
    return { value: o.sourceTz === 'UTC' ? `CAST(${col} AS TIMESTAMP)` : utc(`CAST(CAST(${col} AS TIMESTAMP) AS TIMESTAMPTZ)`), raw: null };
  }
  // Casts accept surrounding spaces, so the text is used as it is.
  const text = t === 'VARCHAR' ? col : `CAST(${col} AS VARCHAR)`;
  const iso = utc(`try_cast(${text} AS TIMESTAMPTZ)`);
  const value = o.timestampFormat
    ? `coalesce(${utc(`CAST(try_strptime(trim(${text}), ${lit(o.timestampFormat)}) AS TIMESTAMPTZ)`)}, ${iso})`
    : iso;
  return { value, raw: text };
}

export async function describeRelation(conn: DuckDBConnection, relation: string): Promise<Map<string, string>> {
  const rows = await query<{ column_name: string; column_type: string }>(conn, `DESCRIBE SELECT * FROM ${relation}`);
  return new Map(rows.map((r) => [r.column_name.toLowerCase(), r.column_type]));
}

/**
 * The cleaned rows in the run's scope, as a SELECT over the source relation (contract 1
 * and 3, before duplicates). Must run with the session TimeZone set to the source time
 * zone (see prepareCases). Columns: case_id, status_raw, region_raw, team_raw,
 * assignee_raw (text as read), created_at, first_response_at, resolved_at, updated_at (naive UTC),
 * priority (kpi_priority, NULL when missing or unknown), priority_label (kpi_priority_label:
 * the priority or UNKNOWN), status_family (kpi_status_family),
 * dq_missing and dq_invalid (the row's data-quality defects, contract 5).
 */
export async function cleanedRowsSql(conn: DuckDBConnection, o: NormaliseOptions): Promise<CleanedRows> {
  const types = await describeRelation(conn, o.relation);
  const colRef = (c: ContractColumn) => (types.has(c) ? ident([...types.keys()].find((k) => k === c)!) : 'NULL');
  const textRef = (c: ContractColumn) => (!types.has(c) ? 'CAST(NULL AS VARCHAR)' : types.get(c) === 'VARCHAR' ? colRef(c) : `CAST(${colRef(c)} AS VARCHAR)`);
  // Nested levels, each expression computed once: `parsed` reads the source (the two
  // timestamps the scope needs parsed, text as it is) and is filtered to the run's scope;
  // `keyed` parses the other two timestamps (only for rows in scope) and looks up the
  // vocabularies; the next flags unparseable timestamps and derives status families and
  // blanks; the outer one the row's data-quality defects. Text is only trimmed where it
  // is used (see caseRowsSql).
  const parsed: string[] = [`${textRef('case_id')} AS case_id_raw`];
  for (const c of ['status', 'priority', 'region', 'team', 'assignee'] as const) parsed.push(`${textRef(c)} AS ${c}_raw`);
  const keyed: string[] = [];
  const flags: string[] = [];
  const bad: string[] = [];
  let parsesText = false;
  for (const c of TIMESTAMP_COLUMNS as readonly TimestampColumn[]) {
    const level = SCOPE_COLUMNS.has(c) ? parsed : keyed;
    if (!types.has(c)) { level.push(`CAST(NULL AS TIMESTAMP) AS ${c}`); continue; }
    const source = SCOPE_COLUMNS.has(c) ? colRef(c) : `${c}_src`;
    if (!SCOPE_COLUMNS.has(c)) parsed.push(`${colRef(c)} AS ${c}_src`);
    const e = timestampExpr(source, types.get(c)!, o);
    level.push(`${e.value} AS ${c}`);
    if (e.raw) {
      parsesText = true;
      // Unparseable = non-blank text that gave no time; the text is looked at only then.
      level.push(`${e.raw} AS ${c}_raw`);
      flags.push(`CASE WHEN ${c} IS NULL AND ${c}_raw IS NOT NULL THEN trim(${c}_raw) <> '' ELSE false END AS ${c}_bad`);
      bad.push(`${c}_bad`);
    }
  }
  // Case ids are trimmed only when they need it: ids are unique, so trimming every one
  // would copy every one.
  keyed.push(`${cleanCaseId('case_id_raw')} AS case_id`);
  keyed.push(`${lookupPos('priority_raw', PRIORITY_ENTRIES)} AS priority_pos`);
  keyed.push(`${lookupPos('status_raw', STATUS_ENTRIES)} AS status_pos`);
  const prefixes = OPEN_PREFIXES.map((p) => `starts_with(lower(trim(status_raw)), ${lit(p)})`).join(' OR ');
  const createdBad = bad.includes('created_at_bad') ? 'created_at_bad' : 'false';
  // Contract 2: a row is in scope when its case was open at some time in the window; rows
  // that cannot be placed in time stay, so that data quality sees them. Written as a CASE:
  // DuckDB's filter pushdown replaces each column by its parse, and an OR form parsed
  // them up to six times (measured 650 ms against 430 ms at 1M rows of CSV). When
  // timestamps are parsed from text, run this with filter pushdown off (textTimestamps):
  // the filter then reads the parses of `parsed` instead of parsing again.
  const sql = `
    SELECT case_id, status_raw, region_raw, team_raw, assignee_raw,
      created_at, first_response_at, resolved_at, updated_at,
      ${valueAt('priority_pos', PRIORITY_ENTRIES, 'kpi_priority')} AS priority,
      coalesce(${valueAt('priority_pos', PRIORITY_ENTRIES, 'kpi_priority_label')}, 'UNKNOWN') AS priority_label,
      status_family,
      case_id IS NULL OR (created_at IS NULL AND NOT ${createdBad}) OR status_blank OR priority_blank AS dq_missing,
      coalesce((NOT priority_blank AND priority_pos IS NULL)
        OR resolved_at < created_at
        OR first_response_at < created_at
        OR (status_family = 'closed' AND resolved_at IS NULL)${bad.map((b) => `\n        OR ${b}`).join('')}, false) AS dq_invalid
    FROM (
      SELECT *,${flags.map((f) => `\n        ${f},`).join('')}
        ${blankExpr('status_raw', 'status_pos')} AS status_blank,
        ${blankExpr('priority_raw', 'priority_pos')} AS priority_blank,
        CASE WHEN status_raw IS NULL THEN NULL
          WHEN status_pos IS NOT NULL THEN ${valueAt('status_pos', STATUS_ENTRIES, 'kpi_status_family')}
          WHEN ${prefixes} THEN 'open'::kpi_status_family
          ELSE 'other'::kpi_status_family END AS status_family
      FROM (
        SELECT *, ${keyed.join(',\n          ')}
        FROM (SELECT ${parsed.join(',\n          ')} FROM ${o.relation}${o.caseIdFilter ? ` WHERE ${o.caseIdFilter(cleanCaseId(textRef('case_id')))}` : ''})
        WHERE CASE WHEN created_at IS NULL THEN true WHEN created_at > ${tsLit(o.asOf)} THEN false
          ELSE coalesce(resolved_at >= ${tsLit(o.windowStart)}, true) END
      )
    )`;
  return { sql, textTimestamps: parsesText };
}

/** The cleaned rows' SELECT, and whether it parses timestamps from text. */
export interface CleanedRows {
  sql: string;
  textTimestamps: boolean;
}

/** The timestamps the run's scope is decided on: parsed before the scope filter. */
const SCOPE_COLUMNS: ReadonlySet<TimestampColumn> = new Set(['created_at', 'resolved_at']);

/** Data quality over case_rows (contract 5, data_quality_score.csv), unrounded counts. */
export const DATA_QUALITY_SQL = `
SELECT
  count(*) AS total_rows,
  coalesce(count_if(dq_missing), 0) AS missing_rows,
  coalesce(count_if(duplicate), 0) AS duplicate_rows,
  coalesce(count_if(dq_invalid), 0) AS invalid_sla_rows
FROM case_rows`;
