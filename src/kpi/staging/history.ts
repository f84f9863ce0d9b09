/**
 * The status history (contract 6.3) on the run's DuckDB connection: the source's history
 * relation typed into `status_history` (status_history.sql; its rowid is the read order), and the counts data quality
 * reports (history_counts.sql). Without a history input both exist and are empty / zero.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { exec, ident, lit, query, tsLit } from '../../db/engine';
import { sqlFile } from '../../db/sqlFiles';
import { describeRelation, timestampExpr } from './clean';

export interface HistoryOptions {
  /** The history relation (columns case_id, status, changed_at); undefined: no history. */
  relation?: string;
  /** The cases' source relation: ids of history rows outside the run's scope are looked up there. */
  casesRelation: string;
  sourceTz: string;
  timestampFormat?: string;
  asOf: Date;
}

const cleanId = (raw: string) => `nullif(trim(CAST(${raw} AS VARCHAR)), '')`;

/** Stages status_history and history_counts. */
export async function stageHistory(conn: DuckDBConnection, o: HistoryOptions, timings: Record<string, number> = {}): Promise<void> {
  let t = performance.now();
  const lap = (name: string) => { const now = performance.now(); timings[`history.${name}`] = now - t; t = now; };
  if (!o.relation) {
    await exec(conn, `CREATE OR REPLACE TEMP TABLE status_history (case_id VARCHAR, status VARCHAR, changed_at TIMESTAMP);
      CREATE OR REPLACE TEMP TABLE history_counts AS SELECT 0::BIGINT AS history_rows, 0::BIGINT AS invalid_history_rows`);
    return;
  }
  const types = await describeRelation(conn, o.relation);
  const col = (c: string) => ([...types.keys()].includes(c) ? ident(c) : 'NULL');
  const changed = timestampExpr(col('changed_at'), types.get('changed_at') ?? 'VARCHAR', { sourceTz: o.sourceTz, timestampFormat: o.timestampFormat });
  await exec(conn, `SET TimeZone = ${lit(o.sourceTz)}; SET preserve_insertion_order = true`);
  try {
    await exec(conn, sqlFile('kpi/staging/status_history.sql', {
      case_id: cleanId(col('case_id')),
      status: `CAST(${col('status')} AS VARCHAR)`,
      changed_at: changed.value,
      relation: o.relation,
      as_of: tsLit(o.asOf),
    }));
  } finally {
    await exec(conn, `SET TimeZone = 'UTC'`);
  }
  lap('read');
  // Ids not among the run's cases, each with its dated rows: grouped first, so that the anti
  // join looks at each id once.
  await exec(conn, `CREATE OR REPLACE TEMP TABLE history_outside_run AS
    WITH history_ids AS (
      SELECT case_id, count(changed_at) AS dated_rows FROM status_history WHERE case_id IS NOT NULL GROUP BY case_id
    )
    SELECT h.case_id, h.dated_rows FROM history_ids h
    WHERE NOT EXISTS (SELECT 1 FROM case_rows c WHERE c.case_id = h.case_id)`);
  lap('unknown_ids');
  // Those that the cases input has after all are known: kept are the ids it lacks (an anti
  // join into a new table rather than a delete of the many that it has).
  const [{ n }] = await query<{ n: number }>(conn, 'SELECT count(*) AS n FROM history_outside_run');
  await exec(conn, Number(n) > 0
    ? `CREATE OR REPLACE TEMP TABLE history_unknown_ids AS
      WITH source_ids AS (SELECT ${cleanId('case_id')} AS case_id FROM ${o.casesRelation})
      SELECT u.case_id, u.dated_rows FROM history_outside_run u
      WHERE NOT EXISTS (SELECT 1 FROM source_ids s WHERE s.case_id = u.case_id)`
    : 'CREATE OR REPLACE TEMP TABLE history_unknown_ids AS SELECT * FROM history_outside_run');
  await exec(conn, `${sqlFile('kpi/staging/history_counts.sql')}; DROP TABLE history_unknown_ids; DROP TABLE history_outside_run`);
  lap('counts');
}
