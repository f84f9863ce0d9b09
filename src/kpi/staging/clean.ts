/**
 * Clean (contract sections 1 to 3), as SQL on the run's DuckDB engine: cleaned_rows.sql and
 * the expressions it is filled with.
 *
 *   source relation (contract-named columns, any of VARCHAR / TIMESTAMP / TIMESTAMPTZ)
 *     -> cleanedRowsSql: every row in the run's scope, typed, timestamps as naive UTC,
 *        priority and status families, and the row's data-quality defects
 *     -> case_rows (caseRows.ts): the same rows with their per-case KPIs, one table
 *        built in one pass; `duplicate` marks rows that are not the survivor of their case_id
 *
 * Timestamps: an offset in the text wins; text without one is read in the source time
 * zone (KPI_SOURCE_TZ); an optional strptime format (KPI_TIMESTAMP_FORMAT, e.g.
 * `%d/%m/%Y %H:%M`) is tried first. A non-empty value that does not parse is a defect:
 * it is NULL for the KPIs and counted by data quality.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, lit, query, tsLit } from '../../db/engine';
import { sqlFile } from '../../db/sqlFiles';
import { DUCKDB, type Dialect } from '../../db/dialect';
import { PRIORITIES } from '../../contract/report';
import { type ContractColumn, PRIORITY_ALIASES, OPEN_STATUSES, CLOSED_STATUSES, OPEN_PREFIXES, TIMESTAMP_COLUMNS, type TimestampColumn } from '../../contract/columns';

export interface NormaliseOptions {
  relation: string;
  sourceTz: string;
  timestampFormat?: string;
  asOf: Date;
  windowStart: Date;
  /**
   * Volume anomalies (contract 7): rows created in the judgedDays spans ([start, end)) are
   * kept even outside the window.
   */
  judgedDays: { start: Date; end: Date }[];
  /**
   * Only rows whose case_id passes this test (an SQL condition on `case_id`, the cleaned
   * id), applied to the source's rows before anything is parsed.
   */
  caseIdFilter?: (caseId: string) => string;
  /** More text columns kept as `<column>_raw` (the SLA policies' `when` conditions). */
  extraText?: ContractColumn[];
  /**
   * The relation's column types (lower-case names, DuckDB type names); default: described
   * on `conn`. Warehouse compute gives them from the Snowflake table's probe.
   */
  types?: Map<string, string>;
  /** The SQL dialect; default DuckDB. */
  dialect?: Dialect;
}

/**
 * The characters a value is trimmed of: spaces, tabs, line breaks and non-breaking spaces
 * (spreadsheets export "\tP2" and "P2\u00a0"). DuckDB's one-argument trim() takes spaces only.
 */
export const BLANKS = lit(' \t\r\n\u00a0');

/** `trim(x)` of every blank character. */
function trimBlanks(x: string): string {
  return `trim(${x}, ${BLANKS})`;
}

/** The case id as the reports see it: trimmed only when it needs it, empty is NULL. */
export function cleanCaseId(raw: string, d: Dialect = DUCKDB): string {
  const edge = [' ', '\t', '\u00a0'].map((c) => `${d.starts(raw, lit(c))} OR ${d.ends(raw, lit(c))}`).join(' OR ');
  return `nullif(CASE WHEN ${edge} THEN ${trimBlanks(raw)} ELSE ${raw} END, '')`;
}

/**
 * Vocabulary lookups are list lookups (not IN lists, which the optimizer may turn into
 * joins), and the exact spelling is tried first: lower-casing and trimming copy the
 * string, so they run only for the rare value that needs them.
 */
const PRIORITY_ENTRIES = [
  ...PRIORITIES.map((p) => [p, p]),
  ...Object.entries(PRIORITY_ALIASES).flatMap(([p, a]) => a.map((alias) => [alias, p])),
];
const STATUS_ENTRIES = [...OPEN_STATUSES.map((x) => [x, 'open']), ...CLOSED_STATUSES.map((x) => [x, 'closed'])];

/** Position of a raw value among `entries` (exact first, then lower-cased and trimmed); NULL: unknown. */
function lookupPos(raw: string, entries: string[][], d: Dialect): string {
  const keys = entries.map(([k]) => k);
  return `coalesce(${d.position(keys, raw)}, ${d.position(keys, `lower(${trimBlanks(raw)})`)})`;
}

/** The value (of the ENUM type `type`) at a lookup position. */
function valueAt(pos: string, entries: string[][], type: string, d: Dialect): string {
  return d.valueAt(entries.map(([, v]) => v), pos, type);
}

/** A raw value that is NULL or blank; the text is trimmed only when the lookup failed. */
function blankExpr(raw: string, pos: string): string {
  return `CASE WHEN ${raw} IS NULL THEN true WHEN ${pos} IS NOT NULL THEN false ELSE ${trimBlanks(raw)} = '' END`;
}

/**
 * Expression giving a naive-UTC TIMESTAMP for a column of the given DuckDB type. The
 * session time zone is the source time zone while this runs, so casts of naive values to
 * TIMESTAMPTZ read them in that zone, and text with an offset keeps its offset.
 * make_timestamp(epoch_us(x)) turns an instant into naive UTC without a zone lookup.
 */
export function timestampExpr(col: string, type: string, o: Pick<NormaliseOptions, 'sourceTz' | 'timestampFormat'>, d: Dialect = DUCKDB): { value: string; raw: string | null } {
  const t = type.toUpperCase();
  const utc = d.utcOf;
  if (t === 'TIMESTAMP WITH TIME ZONE' || t === 'TIMESTAMPTZ') return { value: utc(col), raw: null };
  if (t.startsWith('TIMESTAMP') || t === 'DATETIME' || t === 'DATE') {
    return { value: o.sourceTz === 'UTC' ? `CAST(${col} AS TIMESTAMP)` : d.utcOfWall(col, o.sourceTz), raw: null };
  }
  if (o.timestampFormat && d !== DUCKDB) throw new Error('KPI_TIMESTAMP_FORMAT is read by DuckDB\'s strptime: not available in warehouse compute');
  // Casts accept surrounding spaces, so the text is used as it is. The rare value the cast
  // refuses takes the slow path (coalesce evaluates it only for those rows): trimmed of
  // every blank, and an ISO 8601 time without seconds but with an offset
  // (2026-11-19T10:00Z, 2026-11-19T10:00+01:00) given its seconds.
  const text = t === 'VARCHAR' ? col : `CAST(${col} AS VARCHAR)`;
  const slow = d.tryInstant(`regexp_replace(${trimBlanks(text)}, ${d.lit('^(\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2})([Zz]|[+-]\\d{2}(:?\\d{2})?)$')}, ${d.lit('\\1:00\\2')})`);
  const iso = utc(`coalesce(${d.tryInstant(text)}, CASE WHEN ${text} IS NOT NULL THEN ${slow} END)`);
  const value = o.timestampFormat
    ? `coalesce(${utc(`CAST(try_strptime(${trimBlanks(text)}, ${lit(o.timestampFormat)}) AS TIMESTAMPTZ)`)}, ${iso})`
    : iso;
  return { value, raw: text };
}

export async function describeRelation(conn: DuckDBConnection, relation: string): Promise<Map<string, string>> {
  const rows = await query<{ column_name: string; column_type: string }>(conn, `DESCRIBE SELECT * FROM ${relation}`);
  return new Map(rows.map((r) => [r.column_name.toLowerCase(), r.column_type]));
}

/**
 * The cleaned rows in the run's scope: cleaned_rows.sql with the fragments that depend on
 * the source's column types (which timestamps are text and must be parsed, which columns
 * exist) and on the vocabularies.
 */
export async function cleanedRowsSql(conn: DuckDBConnection | null, o: NormaliseOptions): Promise<CleanedRows> {
  const d = o.dialect ?? DUCKDB;
  const types = o.types ?? await describeRelation(conn!, o.relation);
  const colRef = (c: ContractColumn) => (types.has(c) ? ident([...types.keys()].find((k) => k === c)!) : 'NULL');
  const textRef = (c: ContractColumn) => (!types.has(c) ? 'CAST(NULL AS VARCHAR)' : types.get(c) === 'VARCHAR' ? colRef(c) : `CAST(${colRef(c)} AS VARCHAR)`);
  // The timestamps the scope is decided on are parsed in `source_rows`, the others only for
  // rows in scope; text is only trimmed where it is used (see case_rows.sql).
  const source: string[] = [`${textRef('case_id')} AS case_id_raw`];
  for (const c of ['status', 'priority', 'region', 'team', 'assignee'] as const) source.push(`${textRef(c)} AS ${c}_raw`);
  const extra = (o.extraText ?? []).filter((c) => !['status', 'priority', 'region', 'team', 'assignee'].includes(c));
  for (const c of extra) source.push(`${textRef(c)} AS ${c}_raw`);
  const inScope: string[] = [];
  const flags: string[] = [];
  const bad: string[] = [];
  let parsesText = false;
  for (const c of TIMESTAMP_COLUMNS) {
    const level = SCOPE_COLUMNS.has(c) ? source : inScope;
    if (!types.has(c)) { level.push(`CAST(NULL AS TIMESTAMP) AS ${c}`); continue; }
    const from = SCOPE_COLUMNS.has(c) ? colRef(c) : `${c}_src`;
    if (!SCOPE_COLUMNS.has(c)) source.push(`${colRef(c)} AS ${c}_src`);
    const e = timestampExpr(from, types.get(c)!, o, d);
    level.push(`${e.value} AS ${c}`);
    if (e.raw) {
      parsesText = true;
      // Unparseable = non-blank text that gave no time; the text is looked at only then.
      level.push(`${e.raw} AS ${c}_raw`);
      flags.push(`CASE WHEN ${c} IS NULL AND ${c}_raw IS NOT NULL THEN ${trimBlanks(`${c}_raw`)} <> '' ELSE false END AS ${c}_bad`);
      bad.push(`${c}_bad`);
    }
  }
  // Case ids are trimmed only when they need it: ids are unique, so trimming every one
  // would copy every one.
  inScope.push(`${cleanCaseId('case_id_raw', d)} AS case_id`);
  inScope.push(`${lookupPos('priority_raw', PRIORITY_ENTRIES, d)} AS priority_pos`);
  inScope.push(`${lookupPos('status_raw', STATUS_ENTRIES, d)} AS status_pos`);
  const sql = sqlFile('kpi/staging/cleaned_rows.sql', {
    priority: valueAt('priority_pos', PRIORITY_ENTRIES, 'kpi_priority', d),
    priority_label: valueAt('priority_pos', PRIORITY_ENTRIES, 'kpi_priority_label', d),
    created_at_unparseable: bad.includes('created_at_bad') ? 'created_at_bad' : 'false',
    unparseable_timestamps: bad.map((b) => `\n    OR ${b}`).join(''),
    timestamp_flags: flags.map((f) => `\n    ${f},`).join(''),
    status_blank: blankExpr('status_raw', 'status_pos'),
    priority_blank: blankExpr('priority_raw', 'priority_pos'),
    status_family: valueAt('status_pos', STATUS_ENTRIES, 'kpi_status_family', d),
    open_status_prefix: OPEN_PREFIXES.map((p) => d.starts(`lower(${trimBlanks('status_raw')})`, lit(p))).join(' OR '),
    parsed_and_looked_up: inScope.join(',\n      '),
    source_columns: source.join(',\n      '),
    relation: o.relation,
    extra_columns: extra.map((c) => ` ${c}_raw,`).join(''),
    case_id_filter: o.caseIdFilter ? ` WHERE ${o.caseIdFilter(cleanCaseId(textRef('case_id'), d))}` : '',
    as_of: tsLit(o.asOf),
    window_start: tsLit(o.windowStart),
    on_judged_day: onJudgedDay('created_at', o.judgedDays),
  }, d);
  return { sql, textTimestamps: parsesText };
}

/**
 * The earliest created_at (naive UTC, as text) among the source's rows with a case id, at or
 * before as_of: the first day with data when case_rows cannot tell (prepare.ts). Needs the
 * session TimeZone set to the source time zone, like cleaned_rows.sql.
 */
export async function earliestCreatedSql(conn: DuckDBConnection | null, o: NormaliseOptions): Promise<string> {
  const d = o.dialect ?? DUCKDB;
  const types = o.types ?? await describeRelation(conn!, o.relation);
  const col = (c: ContractColumn) => ident([...types.keys()].find((k) => k === c)!);
  if (!types.has('created_at') || !types.has('case_id')) return 'SELECT CAST(NULL AS VARCHAR) AS earliest';
  const idText = types.get('case_id') === 'VARCHAR' ? col('case_id') : `CAST(${col('case_id')} AS VARCHAR)`;
  const created = timestampExpr(col('created_at'), types.get('created_at')!, o, d).value;
  return d.render(`SELECT @strftime(min(created_at), '%Y-%m-%dT%H:%M:%SZ') AS earliest FROM (
    SELECT ${cleanCaseId(idText, d)} AS case_id, ${created} AS created_at FROM ${o.relation}
  ) AS source_rows WHERE case_id IS NOT NULL AND created_at <= ${tsLit(o.asOf)}`);
}

/**
 * A time on one of the days volume anomalies count: comparisons with literal instants, no
 * join per row; `false` when there are none.
 */
export function onJudgedDay(col: string, days: { start: Date; end: Date }[]): string {
  if (days.length === 0) return 'false';
  return `(${days.map((d) => `(${col} >= ${tsLit(d.start)} AND ${col} < ${tsLit(d.end)})`).join(' OR ')})`;
}

/** The cleaned rows' SELECT, and whether it parses timestamps from text. */
export interface CleanedRows {
  sql: string;
  textTimestamps: boolean;
}

/** The timestamps the run's scope is decided on: parsed before the scope filter. */
const SCOPE_COLUMNS: ReadonlySet<TimestampColumn> = new Set(['created_at', 'resolved_at']);
