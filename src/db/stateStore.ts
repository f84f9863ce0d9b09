/**
 * The state store: the embedded database file (data/kpi.duckdb by default) that holds run
 * history, the digest log and alert state (and the demo cases). Each feature registers its
 * tables (registerSchema); they are created on the first write access to a file.
 *
 * Two processes (the bot and a manual `kpi run`) share it. DuckDB lets one process at a
 * time hold a file, so nobody keeps it open: every access opens the file, does its short
 * piece of work in one transaction, and closes it. A process that finds the file locked
 * waits and retries (bounded), so a run is never lost and no lock is left behind.
 *
 * Within one process, DuckDB's file lock does not separate two instances of the same file,
 * so accesses to one file are also queued here (per path, in order). A withStore() called
 * inside another one for the same file reuses its connection instead of waiting for itself.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { setTimeout as sleep } from 'node:timers/promises';

export class StoreBusyError extends Error {
  constructor(path: string, waitedMs: number) {
    super(`The database ${path} stayed locked by another process for ${Math.round(waitedMs / 1000)} s; try again when the other run has finished`);
    this.name = 'StoreBusyError';
  }
}

export interface StoreOptions {
  readOnly?: boolean;
  /** Give up after this long waiting for another process's lock (default 60 s). */
  lockTimeoutMs?: number;
}


function isLockError(e: unknown): boolean {
  const m = e instanceof Error ? e.message : String(e);
  return /Could not set lock|Conflicting lock|lock on file/i.test(m);
}

const schemas = new Map<string, string>();
const schemaReady = new Set<string>();

/** A feature's tables (CREATE ... IF NOT EXISTS), created on the first write access to each file. */
export function registerSchema(name: string, sql: string): void {
  schemas.set(name, sql);
}
const queues = new Map<string, Promise<unknown>>();
const held = new AsyncLocalStorage<Map<string, DuckDBConnection>>();

/** Runs fn after every earlier access to the same file in this process has finished. */
function serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => { if (queues.get(key) === tail) queues.delete(key); });
  return next;
}

/**
 * Takes this process's turn on a database file until the returned release() is called
 * (the duckdb source keeps the file attached while the run parses it).
 */
export function holdFileTurn(path: string): Promise<() => void> {
  const key = resolve(path);
  return new Promise((granted) => {
    void serial(key, () => new Promise<void>((release) => {
      let done = false;
      granted(() => { if (!done) { done = true; release(); } });
    }));
  });
}

/**
 * Opens the database file, runs `fn` on a connection, closes the file.
 * Queued behind other accesses to the file in this process; retries while another
 * process holds it.
 */
export async function withStore<T>(path: string, fn: (conn: DuckDBConnection) => Promise<T>, opts: StoreOptions = {}): Promise<T> {
  const key = resolve(path);
  const outer = held.getStore()?.get(key);
  if (outer) return fn(outer);
  return serial(key, () => openAndRun(path, key, fn, opts));
}

/**
 * Calls open() until it stops failing on another process's lock (backoff with jitter,
 * doubling from a short first wait to a cap), up to timeoutMs; then StoreBusyError. Other
 * errors pass through.
 */
export async function retryWhileLocked<T>(path: string, open: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  let delay = 25;
  for (;;) {
    try {
      return await open();
    } catch (e) {
      if (!isLockError(e)) throw e;
      if (Date.now() - start >= timeoutMs) throw new StoreBusyError(path, Date.now() - start);
      await sleep(delay + Math.floor(Math.random() * delay));
      delay = Math.min(delay * 2, 500);
    }
  }
}

async function openAndRun<T>(path: string, key: string, fn: (conn: DuckDBConnection) => Promise<T>, opts: StoreOptions): Promise<T> {
  if (!opts.readOnly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const instance = await retryWhileLocked(path, () => DuckDBInstance.create(path, {
    access_mode: opts.readOnly ? 'READ_ONLY' : 'READ_WRITE',
  }), opts.lockTimeoutMs);
  const conn = await instance.connect();
  try {
    await conn.run(`SET TimeZone = 'UTC'`);
    if (!opts.readOnly) {
      for (const [name, sql] of schemas) {
        if (schemaReady.has(`${key}\0${name}`)) continue;
        await conn.run(sql);
        schemaReady.add(`${key}\0${name}`);
      }
    }
    return await held.run(new Map([...(held.getStore() ?? []), [key, conn]]), () => fn(conn));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Adds tables of a feature (alerts, ...) to the store schema; idempotent. */
export async function ensureSchema(path: string, sql: string): Promise<void> {
  await withStore(path, async (c) => { await c.run(sql); });
}
