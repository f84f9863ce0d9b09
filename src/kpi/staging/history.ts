/**
 * The status history (contract 6.3) on the run's DuckDB connection. Data quality needs a
 * count over every history row (history_id_counts.sql -> history_counts); the clocks need the
 * changes of the cases that may pause, in read order (case_clocks.sql's clock_history, with
 * the expressions of `HistoryRead`). Without pausing policies the relation is read once, as
 * a stream, for the counts alone. With them it is read once into `history_slim` (the id
 * cleaned, changed_at parsed, read order kept), and both steps read that table: reading and
 * parsing the input is the costly part, so it is done once.
 * Without a history input the counts exist and are zero.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { exec, ident, lit, query, tsLit } from '../../db/engine';
import { sqlFile } from '../../db/sqlFiles';
import { DUCKDB, type Dialect } from '../../db/dialect';
import { cleanCaseId, describeRelation, timestampExpr } from './clean';

export interface HistoryOptions {
  /** The history relation (columns case_id, status, changed_at); undefined: no history. */
  relation?: string;
  /** The cases' source relation: ids of history rows outside the run's scope are looked up there. */
  casesRelation: string;
  sourceTz: string;
  timestampFormat?: string;
  asOf: Date;
  /**
   * The clocks will read the history again (a policy pauses): read it once into
   * history_slim, which the returned HistoryRead then names; the clocks drop it once
   * paused_history has the rows they need (case_clocks.sql).
   */
  keepRows?: boolean;
}

/** The table of the history read once (stageHistory with keepRows). */
export const HISTORY_SLIM = 'history_slim';

/**
 * How to read the history relation: the case id cleaned like the cases' (cleaned_rows.sql),
 * the status as read, changed_at as naive UTC (NULL: empty or unparseable), each an SQL
 * expression on the relation's columns. Read in the source time zone (inSourceZone).
 */
export interface HistoryRead {
  relation: string;
  caseId: string;
  status: string;
  changedAt: string;
  /** The raw changed_at column that changedAt parses. */
  changedRaw: string;
  sourceTz: string;
}

/**
 * Runs `f` with the session time zone set to the source's, as parsing the history's
 * timestamps needs (casts of naive text read it in that zone, like cleaned_rows.sql).
 */
export async function inSourceZone<T>(conn: DuckDBConnection, sourceTz: string, f: () => Promise<T>): Promise<T> {
  await exec(conn, `SET TimeZone = ${lit(sourceTz)}`);
  try {
    return await f();
  } finally {
    await exec(conn, `SET TimeZone = 'UTC'`);
  }
}

const asText = (col: string, type: string | undefined) => (type === 'VARCHAR' ? col : `CAST(${col} AS VARCHAR)`);

/**
 * How to read a history relation whose column types (lower-case names, DuckDB type names)
 * are `types`: described on the run's connection locally, from the Snowflake table's probe
 * in warehouse compute (kpi/warehouse.ts). Expressions in dialect `d`.
 */
export function historyReadOf(
  relation: string, types: Map<string, string>, o: { sourceTz: string; timestampFormat?: string }, d: Dialect = DUCKDB,
): HistoryRead {
  const col = (c: string) => ([...types.keys()].includes(c) ? ident(c) : 'NULL');
  return {
    relation,
    caseId: cleanCaseId(asText(col('case_id'), types.get('case_id')), d),
    status: asText(col('status'), types.get('status')),
    changedAt: timestampExpr(col('changed_at'), types.get('changed_at') ?? 'VARCHAR', { sourceTz: o.sourceTz, timestampFormat: o.timestampFormat }, d).value,
    changedRaw: col('changed_at'),
    sourceTz: o.sourceTz,
  };
}

/**
 * history_id_counts.sql for a history read (the session time zone: the source's). Whether a
 * row's case is among the run's: DuckDB tests `IN (subquery)` in the select list; Snowflake
 * allows an IN subquery only in a WHERE clause (it is `= ANY`,
 * https://docs.snowflake.com/en/sql-reference/operators-subquery), so there the history rows
 * are left-joined to the run's distinct ids instead (the same result: NULL ids are outside
 * neither way).
 */
export function historyIdCountsSql(read: HistoryRead, asOf: Date, d: Dialect = DUCKDB): string {
  const inRun = d.name === 'snowflake'
    ? { in_run: 'run_ids.run_id IS NOT NULL', marked_from: 'history_rows LEFT JOIN (SELECT DISTINCT case_id AS run_id FROM case_rows WHERE case_id IS NOT NULL) AS run_ids ON run_ids.run_id = history_rows.case_id' }
    : { in_run: 'case_id IN (SELECT case_id FROM case_rows WHERE case_id IS NOT NULL)', marked_from: 'history_rows' };
  return sqlFile('kpi/staging/history_id_counts.sql', {
    case_id: read.caseId, changed_at: read.changedAt, relation: read.relation, as_of: tsLit(asOf), ...inRun,
  }, d);
}

/** The history ids with dated changes outside the run: how many (history_unknown_ids reads the cases input only when some are). */
export const OUTSIDE_IDS_SQL = 'SELECT count(*) AS n FROM history_id_counts WHERE outside_id IS NOT NULL AND dated_rows > 0';

/**
 * history_unknown_ids: ids outside the run that the cases input has after all are known;
 * kept are the ids it lacks (an anti join into a new table). `outside`: OUTSIDE_IDS_SQL's
 * count; without such ids the cases input is not read again.
 */
export function historyUnknownIdsSql(casesRelation: string, outside: number, d: Dialect = DUCKDB): string {
  return d.render(outside > 0
    ? `CREATE OR REPLACE TEMP TABLE history_unknown_ids AS
      WITH source_ids AS (SELECT ${cleanCaseId(`CAST(${ident('case_id')} AS VARCHAR)`, d)} AS case_id FROM ${casesRelation})
      SELECT u.outside_id AS case_id, u.dated_rows FROM history_id_counts u
      WHERE u.outside_id IS NOT NULL AND u.dated_rows > 0 AND NOT EXISTS (SELECT 1 FROM source_ids s WHERE s.case_id = u.outside_id)`
    : 'CREATE OR REPLACE TEMP TABLE history_unknown_ids (case_id VARCHAR, dated_rows BIGINT)');
}

/** Stages history_counts; returns how the clocks read the history (undefined: none). */
export async function stageHistory(conn: DuckDBConnection, o: HistoryOptions, timings: Record<string, number> = {}): Promise<HistoryRead | undefined> {
  let t = performance.now();
  const lap = (name: string) => { const now = performance.now(); timings[`history.${name}`] = now - t; t = now; };
  if (!o.relation) {
    await exec(conn, `CREATE OR REPLACE TEMP TABLE history_id_counts (outside_id VARCHAR, history_rows BIGINT, invalid_rows BIGINT, dated_rows BIGINT);
      CREATE OR REPLACE TEMP TABLE history_unknown_ids (case_id VARCHAR, dated_rows BIGINT);
      ${sqlFile('kpi/staging/history_counts.sql')}; DROP TABLE history_id_counts; DROP TABLE history_unknown_ids`);
    return undefined;
  }
  let read = historyReadOf(o.relation, await describeRelation(conn, o.relation), o);
  if (o.keepRows) {
    // In read order (the rowid of history_slim is the read order that breaks ties on
    // changed_at, contract 6.5): the run's connection keeps insertion order here.
    await inSourceZone(conn, o.sourceTz, () => exec(conn, `CREATE OR REPLACE TEMP TABLE ${HISTORY_SLIM} AS
      SELECT ${read.caseId} AS case_id, ${read.status} AS status, ${read.changedAt} AS changed_at FROM ${read.relation}`));
    lap('slim');
    read = { relation: HISTORY_SLIM, caseId: 'case_id', status: 'status', changedAt: 'changed_at', changedRaw: 'changed_at', sourceTz: 'UTC' };
  }
  await inSourceZone(conn, read.sourceTz, () => exec(conn, historyIdCountsSql(read, o.asOf)));
  lap('read');
  const [{ n }] = await query<{ n: number }>(conn, OUTSIDE_IDS_SQL);
  await exec(conn, historyUnknownIdsSql(o.casesRelation, Number(n)));
  lap('unknown_ids');
  await exec(conn, `${sqlFile('kpi/staging/history_counts.sql')}; DROP TABLE history_unknown_ids; DROP TABLE history_id_counts`);
  lap('counts');
  return read;
}
