/**
 * Normalise and clean (contract sections 1 and 3), as SQL on the run's DuckDB engine.
 *
 *   source relation (contract-named columns, any of VARCHAR / TIMESTAMP / TIMESTAMPTZ)
 *     -> scoped_rows: every row in the run's scope, typed, timestamps as naive UTC, with
 *        defect flags and `duplicate` (not the survivor of its case_id); data quality
 *        reads this
 *     -> cases (view): one survivor per case_id that can be placed in time; the KPIs read it
 *
 * Timestamps: an offset in the text wins; text without one is read in the source time
 * zone (KPI_SOURCE_TZ); an optional strptime format (KPI_TIMESTAMP_FORMAT, e.g.
 * `%d/%m/%Y %H:%M`) is tried first. A non-empty value that does not parse is a defect:
 * it is NULL for the KPIs and counted by data quality.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { CONTRACT_COLUMNS, type ContractColumn } from '../config';
import { exec, ident, lit, query } from '../store/engine';

export const TIMESTAMP_COLUMNS = ['created_at', 'first_response_at', 'resolved_at', 'updated_at'] as const;
type TsColumn = (typeof TIMESTAMP_COLUMNS)[number];
// channel and customer_tier are part of the input contract but no report uses them, so
// they are not carried through the run (fewer strings to copy).
const UNUSED_COLUMNS = ['channel', 'customer_tier'];
const TEXT_COLUMNS = CONTRACT_COLUMNS.filter((c) => !(TIMESTAMP_COLUMNS as readonly string[]).includes(c) && !UNUSED_COLUMNS.includes(c));

export const OPEN_STATUSES = ['new', 'open', 'pending', 'on_hold', 'on-hold', 'hold', 'active', 'in_progress'];
export const OPEN_PREFIXES = ['awaiting', 'waiting'];
export const CLOSED_STATUSES = ['solved', 'resolved', 'closed', 'done', 'cancelled'];

export const PRIORITY_ALIASES: Record<string, string[]> = {
  P1: ['p1', '1', 'urgent', 'critical', '1 - critical'],
  P2: ['p2', '2', 'high', '2 - high'],
  P3: ['p3', '3', 'normal', 'medium', 'moderate', '3 - moderate'],
  P4: ['p4', '4', 'low', '4 - low'],
};

export interface NormaliseOptions {
  relation: string;
  sourceTz: string;
  timestampFormat?: string;
  asOf: Date;
  windowStart: Date;
}

/** `TIMESTAMP '2026-11-23 09:00:00'` (naive UTC) for an instant. */
export function tsLit(d: Date): string {
  return `TIMESTAMP '${d.toISOString().replace('T', ' ').replace('Z', '')}'`;
}


/**
 * `key` is the lower-cased, trimmed priority. A list lookup (not IN lists, which the
 * optimizer may turn into joins) keeps this a plain per-row expression.
 */
function priorityExpr(key: string): string {
  const entries = Object.entries(PRIORITY_ALIASES).flatMap(([p, a]) => a.map((alias) => [alias, p]));
  return `[${entries.map(([, p]) => lit(p)).join(', ')}][list_position([${entries.map(([a]) => lit(a)).join(', ')}], ${key})]`;
}

/** `key` is the lower-cased, trimmed status. */
function statusFamilyExpr(key: string): string {
  const fam = [...OPEN_STATUSES.map((x) => [x, 'open']), ...CLOSED_STATUSES.map((x) => [x, 'closed'])];
  const exact = `[${fam.map(([, f]) => lit(f)).join(', ')}][list_position([${fam.map(([x]) => lit(x)).join(', ')}], ${key})]`;
  const prefixes = OPEN_PREFIXES.map((p) => `starts_with(${key}, ${lit(p)})`).join(' OR ');
  return `CASE WHEN ${key} IS NULL THEN NULL ELSE coalesce(${exact}, CASE WHEN ${prefixes} THEN 'open' ELSE 'other' END) END`;
}

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
 * Builds scoped_rows and the cases view from the source relation.
 */
export async function normalise(conn: DuckDBConnection, o: NormaliseOptions, timings: Record<string, number> = {}): Promise<void> {
  const step = async (name: string, sql: string) => {
    const t = performance.now();
    await exec(conn, sql);
    timings[name] = (timings[name] ?? 0) + performance.now() - t;
  };
  const types = await describeRelation(conn, o.relation);
  const colRef = (c: ContractColumn) => (types.has(c) ? ident([...types.keys()].find((k) => k === c)!) : 'NULL');
  // Inner projection: every expensive expression once (parsed timestamps, presence of the
  // raw text, lower-cased keys). The outer one derives flags and families from those.
  const inner: string[] = [];
  const derived: string[] = [];
  const helpers: string[] = [];
  const TRIMMED = new Set(['case_id', 'status', 'priority']);
  for (const c of TEXT_COLUMNS) {
    if (!types.has(c)) { inner.push(`CAST(NULL AS VARCHAR) AS ${c}`); continue; }
    const text = types.get(c) === 'VARCHAR' ? colRef(c) : `CAST(${colRef(c)} AS VARCHAR)`;
    // Keys that decide KPIs are trimmed; descriptive text only loses empty strings.
    inner.push(TRIMMED.has(c) ? `nullif(trim(${text}), '') AS ${c}` : `nullif(${text}, '') AS ${c}`);
  }
  for (const c of TIMESTAMP_COLUMNS as readonly TsColumn[]) {
    if (!types.has(c)) {
      inner.push(`CAST(NULL AS TIMESTAMP) AS ${c}`);
      derived.push(`false AS ${c}_bad`);
      continue;
    }
    const e = timestampExpr(colRef(c), types.get(c)!, o);
    inner.push(`${e.value} AS ${c}`);
    if (e.raw) {
      // Unparseable = non-blank text that gave no time; the text is looked at only then.
      inner.push(`${e.raw} AS ${c}_raw`);
      derived.push(`CASE WHEN ${c} IS NULL AND ${c}_raw IS NOT NULL THEN trim(${c}_raw) <> '' ELSE false END AS ${c}_bad`);
      helpers.push(`${c}_raw`);
    } else {
      derived.push(`false AS ${c}_bad`);
    }
  }
  inner.push(`lower(${types.has('priority') ? `trim(CAST(${colRef('priority')} AS VARCHAR))` : 'NULL'}) AS priority_key`);
  inner.push(`lower(${types.has('status') ? `trim(CAST(${colRef('status')} AS VARCHAR))` : 'NULL'}) AS status_key`);
  helpers.push('priority_key', 'status_key');
  const asOf = tsLit(o.asOf);
  const ws = tsLit(o.windowStart);
  await exec(conn, `DROP TABLE IF EXISTS scoped_rows; DROP TABLE IF EXISTS duplicate_ids; DROP VIEW IF EXISTS cases;`);
  // One pass over the source: parse and flag every row and keep those in the run's scope
  // (contract 2: open at some time in the window; rows that cannot be placed in time stay
  // so that data quality sees them). Insertion order is preserved: rowid is the read order.
  await exec(conn, `SET TimeZone = ${lit(o.sourceTz)}`);
  try {
    await step('parse', `
      CREATE TABLE scoped_rows AS
      SELECT * EXCLUDE (${helpers.join(', ')}), ${derived.join(', ')},
             ${priorityExpr('priority_key')} AS priority_code, ${statusFamilyExpr('status_key')} AS status_family,
             false AS duplicate
      FROM (SELECT ${inner.join(',\n  ')} FROM ${o.relation})
      WHERE created_at IS NULL OR (created_at <= ${asOf} AND (resolved_at IS NULL OR resolved_at >= ${ws}))`);
  } finally {
    await exec(conn, `SET TimeZone = 'UTC'`);
  }
  // Duplicates (contract 3): the survivor is the row with the latest updated_at, among
  // equals the one read last. Only ids that occur more than once are ranked.
  await step('duplicates', `
    CREATE TABLE duplicate_ids AS
    SELECT case_id, max_by(rowid, (coalesce(epoch_us(updated_at), -9223372036854775807), rowid)) AS survivor_rowid, count(*) AS n
    FROM scoped_rows WHERE case_id IS NOT NULL GROUP BY case_id HAVING count(*) > 1`);
  await step('duplicates', `
    UPDATE scoped_rows SET duplicate = true
    FROM duplicate_ids d WHERE scoped_rows.case_id = d.case_id AND scoped_rows.rowid <> d.survivor_rowid`);
  await exec(conn, `
    CREATE VIEW cases AS
    SELECT rowid AS rid, case_id, created_at, first_response_at, resolved_at, status, status_family,
           priority_code AS priority, coalesce(priority_code, 'UNKNOWN') AS priority_label,
           region, team, assignee, updated_at
    FROM scoped_rows
    WHERE NOT duplicate AND case_id IS NOT NULL AND created_at IS NOT NULL`);
}

/** Data quality over scoped_rows (contract 5, data_quality_score.csv), unrounded counts. */
export const DATA_QUALITY_SQL = `
SELECT
  count(*) AS total_rows,
  count(*) FILTER (WHERE case_id IS NULL OR (created_at IS NULL AND NOT created_at_bad) OR status IS NULL OR priority IS NULL) AS missing_rows,
  count(*) FILTER (WHERE duplicate) AS duplicate_rows,
  count(*) FILTER (WHERE
       (priority IS NOT NULL AND priority_code IS NULL)
    OR resolved_at < created_at
    OR first_response_at < created_at
    OR (status_family = 'closed' AND resolved_at IS NULL)
    OR created_at_bad OR first_response_at_bad OR resolved_at_bad OR updated_at_bad
  ) AS invalid_sla_rows
FROM scoped_rows`;
