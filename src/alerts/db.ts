/**
 * Short transactions on the shared database file for the alert state.
 *
 * withStore (src/store/store.ts) opens the file, runs one piece of work and closes it, so
 * another process can take its turn; across processes DuckDB's file lock serialises us.
 * Inside ONE process DuckDB does not stop two instances from opening the same file (its
 * lock is per process), so alert code also queues its own accesses per file here: two
 * overlapping sweeps or an interaction handler never hold the file at the same time.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { withStore, type StoreOptions } from '../db/stateStore';
import { exec, query, type Params, type Row } from '../db/engine';
import { ALERT_SCHEMA_SQL } from './schema';

const queues = new Map<string, Promise<unknown>>();
const schemaReady = new Set<string>();

/** Runs fn after every earlier call for the same key has finished (in this process). */
export async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.then(() => undefined, () => undefined);
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}

export interface Tx {
  conn: DuckDBConnection;
  q<T = Row>(sql: string, params?: Params): Promise<T[]>;
  x(sql: string, params?: Params): Promise<void>;
}

/**
 * One transaction on the alert tables: opens the file, BEGIN, fn, COMMIT (ROLLBACK on
 * error), closes the file. Creates the alert tables on first use.
 */
export async function alertTx<T>(dbPath: string, fn: (tx: Tx) => Promise<T>, opts: StoreOptions = {}): Promise<T> {
  return serialised(dbPath, () => withStore(dbPath, async (conn) => {
    if (!schemaReady.has(dbPath) && !opts.readOnly) {
      await conn.run(ALERT_SCHEMA_SQL);
      schemaReady.add(dbPath);
    }
    const tx: Tx = { conn, q: (sql, p) => query(conn, sql, p), x: (sql, p) => exec(conn, sql, p) };
    if (opts.readOnly) return fn(tx);
    await conn.run('BEGIN TRANSACTION');
    try {
      const out = await fn(tx);
      await conn.run('COMMIT');
      return out;
    } catch (e) {
      try { await conn.run('ROLLBACK'); } catch { /* connection is closed next anyway */ }
      throw e;
    }
  }, opts));
}
