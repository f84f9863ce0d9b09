/**
 * The status history (contract 6.3) on the run's DuckDB connection. The source's history
 * relation is never copied whole (about three changes a case make it the run's largest
 * input): it is read once here for the counts data quality reports (history_id_counts.sql ->
 * history_counts), and once more by the clocks for the changes of the cases that may pause
 * (case_clocks.sql's clock_history, with the expressions of `HistoryRead`). Without a history
 * input the counts exist and are zero.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { exec, ident, lit, query, tsLit } from '../../db/engine';
import { sqlFile } from '../../db/sqlFiles';
import { cleanCaseId, describeRelation, timestampExpr } from './clean';

export interface HistoryOptions {
  /** The history relation (columns case_id, status, changed_at); undefined: no history. */
  relation?: string;
  /** The cases' source relation: ids of history rows outside the run's scope are looked up there. */
  casesRelation: string;
  sourceTz: string;
  timestampFormat?: string;
  asOf: Date;
}

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
  const types = await describeRelation(conn, o.relation);
  const col = (c: string) => ([...types.keys()].includes(c) ? ident(c) : 'NULL');
  const read: HistoryRead = {
    relation: o.relation,
    caseId: cleanCaseId(asText(col('case_id'), types.get('case_id'))),
    status: asText(col('status'), types.get('status')),
    changedAt: timestampExpr(col('changed_at'), types.get('changed_at') ?? 'VARCHAR', { sourceTz: o.sourceTz, timestampFormat: o.timestampFormat }).value,
    changedRaw: col('changed_at'),
    sourceTz: o.sourceTz,
  };
  await inSourceZone(conn, o.sourceTz, () => exec(conn, sqlFile('kpi/staging/history_id_counts.sql', {
    case_id: read.caseId, changed_at: read.changedAt, relation: read.relation, as_of: tsLit(o.asOf),
  })));
  lap('read');
  // Ids outside the run that the cases input has after all are known: kept are the ids it
  // lacks (an anti join into a new table; the cases input is read again only when some
  // history id with dated changes is outside the run).
  const [{ n }] = await query<{ n: number }>(conn, 'SELECT count(*) AS n FROM history_id_counts WHERE outside_id IS NOT NULL AND dated_rows > 0');
  await exec(conn, Number(n) > 0
    ? `CREATE OR REPLACE TEMP TABLE history_unknown_ids AS
      WITH source_ids AS (SELECT ${cleanCaseId(`CAST(${ident('case_id')} AS VARCHAR)`)} AS case_id FROM ${o.casesRelation})
      SELECT u.outside_id AS case_id, u.dated_rows FROM history_id_counts u
      WHERE u.outside_id IS NOT NULL AND u.dated_rows > 0 AND NOT EXISTS (SELECT 1 FROM source_ids s WHERE s.case_id = u.outside_id)`
    : 'CREATE OR REPLACE TEMP TABLE history_unknown_ids (case_id VARCHAR, dated_rows BIGINT)');
  lap('unknown_ids');
  await exec(conn, `${sqlFile('kpi/staging/history_counts.sql')}; DROP TABLE history_unknown_ids; DROP TABLE history_id_counts`);
  lap('counts');
  return read;
}
