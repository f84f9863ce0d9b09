/**
 * Incremental loads (KPI_INCREMENTAL=true): a replica of the source's rows in the state
 * file, refreshed with only the rows changed since the last watermark.
 *
 * - The replica (table snowflake_replica) holds the raw extract columns (epoch numbers and
 *   text, as streamed) of every source row the current and later windows may need: rows
 *   resolved at or after the replica's window start, or not resolved (a full load has no
 *   created_at bound, so a later as_of finds its new cases already there).
 * - snowflake_replica_meta (one row) records what the replica is a copy of (signature: the
 *   table, the column plan, KPI_SOURCE_TZ), its window start, and the watermark: the
 *   largest updated_at it holds.
 * - A delta load fetches every row of each case_id that has a row with updated_at at or
 *   after watermark - KPI_INCREMENTAL_OVERLAP_MINUTES (or with no updated_at), and every
 *   row without a case_id; in the replica the rows of those case_ids (and the rows without
 *   one) are replaced by what was fetched. So each case holds exactly the source's current
 *   rows, duplicates included, and the survivor rule and duplicate counting see what a full
 *   load would see.
 * - A full load rebuilds the replica: on the first run, with --full-refresh
 *   (KPI_FULL_REFRESH), when the signature changed (schema change, other table or zone),
 *   when the run's window starts before the replica's, or when there is no usable
 *   updated_at column (missing, or text).
 *
 * Rows deleted in Snowflake, and rows changed without a newer updated_at, are only seen by
 * a full refresh (see docs/snowflake.md).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Settings } from '../../config/settings';
import { exec, ident, lit, query } from '../../db/engine';
import { holdFileTurn, retryWhileLocked } from '../../db/stateStore';
import type { Plan } from './typePlan';

/** The state file that keeps the replica. The one place that says which file it is. */
export function statePath(settings: Settings): string {
  return settings.KPI_STATE_PATH;
}

const SCHEMA = 'kpi_state';
export const REPLICA = `${SCHEMA}.snowflake_replica`;
const META = `${SCHEMA}.snowflake_replica_meta`;

export interface ReplicaMeta {
  signature: string;
  windowStartMs: number;
  /** Largest updated_at in the replica, as the raw epoch number; null when none has one. */
  watermark: number | null;
  rows: number;
}

/** What the replica is a copy of: a change in any part means a full load. */
export function signatureOf(plan: Plan[], table: string, sourceTz: string): string {
  return JSON.stringify({ table, sourceTz, columns: plan.map((p) => [p.contract, p.source, p.sfType, p.kind]) });
}

/**
 * Runs `fn` with the state file attached to the run's connection as kpi_state (after this
 * process's other accesses to the file; waiting while another process holds it).
 */
export async function withState<T>(conn: DuckDBConnection, path: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const release = await holdFileTurn(path);
  try {
    await retryWhileLocked(path, () => conn.run(`ATTACH ${lit(path)} AS ${SCHEMA}`));
    try {
      return await fn();
    } finally {
      await conn.run(`DETACH DATABASE IF EXISTS ${SCHEMA}`);
    }
  } finally {
    release();
  }
}

/** The replica's meta row, or undefined when the state file has no replica. */
export async function readMeta(conn: DuckDBConnection): Promise<ReplicaMeta | undefined> {
  const [{ n }] = await query<{ n: number }>(conn, `SELECT count(*)::INT AS n FROM duckdb_tables() WHERE database_name = ${lit(SCHEMA)} AND table_name IN ('snowflake_replica', 'snowflake_replica_meta')`);
  if (n < 2) return undefined;
  const rows = await query<{ signature: string; window_start_ms: number; watermark: number | null; rows: number }>(conn, `SELECT signature, window_start_ms, watermark, rows::BIGINT AS rows FROM ${META}`);
  if (rows.length !== 1) return undefined;
  const r = rows[0];
  return { signature: r.signature, windowStartMs: Number(r.window_start_ms), watermark: r.watermark === null ? null : Number(r.watermark), rows: Number(r.rows) };
}

/** Why a delta load is not possible (a full load it is), or undefined when it is. */
export function fullLoadReason(meta: ReplicaMeta | undefined, signature: string, windowStart: Date, plan: Plan[], fullRefresh: boolean): string | undefined {
  const updated = plan.find((p) => p.contract === 'updated_at');
  if (!updated) return 'the source has no updated_at column';
  if (updated.kind === 'text') return `updated_at is not a timestamp column in Snowflake (${updated.sfType})`;
  if (fullRefresh) return 'full refresh requested';
  if (!meta) return 'no replica yet';
  if (meta.signature !== signature) return 'the source schema (or table, or KPI_SOURCE_TZ) changed since the replica was built';
  if (windowStart.getTime() < meta.windowStartMs) return 'the run\'s window starts before the replica\'s';
  if (meta.watermark === null) return 'the replica has no updated_at values';
  return undefined;
}

/** Replaces the replica by `table` (a full load). */
export async function writeReplica(conn: DuckDBConnection, table: string, signature: string, windowStart: Date): Promise<void> {
  await exec(conn, 'BEGIN TRANSACTION');
  try {
    await exec(conn, `CREATE OR REPLACE TABLE ${REPLICA} AS SELECT * FROM ${ident(table)}`);
    await exec(conn, `CREATE OR REPLACE TABLE ${META} (signature VARCHAR, window_start_ms DOUBLE, watermark DOUBLE, rows BIGINT)`);
    await exec(conn, `INSERT INTO ${META} SELECT ${lit(signature)}, ${windowStart.getTime()}, max(updated_at), count(*) FROM ${REPLICA}`);
    await exec(conn, 'COMMIT');
  } catch (err) {
    await exec(conn, 'ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Merges a delta (`table`): the replica's rows of every case_id in the delta, and its rows
 * without a case_id, are replaced by the delta's rows. One transaction.
 */
export async function mergeDelta(conn: DuckDBConnection, table: string): Promise<void> {
  await exec(conn, 'BEGIN TRANSACTION');
  try {
    await exec(conn, `DELETE FROM ${REPLICA} WHERE case_id IS NULL OR case_id IN (SELECT case_id FROM ${ident(table)} WHERE case_id IS NOT NULL)`);
    await exec(conn, `INSERT INTO ${REPLICA} SELECT * FROM ${ident(table)}`);
    await exec(conn, `UPDATE ${META} SET watermark = (SELECT max(updated_at) FROM ${REPLICA}), rows = (SELECT count(*) FROM ${REPLICA})`);
    await exec(conn, 'COMMIT');
  } catch (err) {
    await exec(conn, 'ROLLBACK').catch(() => undefined);
    throw err;
  }
}
