/**
 * DuckDB helpers shared by the pipeline, the store and the sources.
 * Values are normalised at this edge: BIGINT -> number, timestamps -> ISO UTC strings,
 * NULL -> null, so the rest of the code never sees driver value classes.
 */
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';

export type Row = Record<string, unknown>;
export type Params = Record<string, DuckDBValue> | DuckDBValue[];

/** A fresh in-memory engine for one run, all computations in UTC. */
export async function openMemoryEngine(): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  return {
    instance,
    conn,
    close() {
      try { conn.closeSync(); } catch { /* already closed */ }
      try { instance.closeSync(); } catch { /* already closed */ }
    },
  };
}

/** Runs a query and returns plain JS rows (see normaliseValue). Built column-wise: about 3x faster than getRowObjectsJS. */
export async function query<T = Row>(conn: DuckDBConnection, sql: string, params?: Params): Promise<T[]> {
  const reader = await conn.runAndReadAll(sql, params as never);
  const names = reader.columnNames();
  const cols = reader.getColumnsJS();
  const n = reader.currentRowCount;
  const rows: Row[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r: Row = {};
    for (let j = 0; j < names.length; j++) r[names[j]] = normaliseValue(cols[j][i]);
    rows[i] = r;
  }
  return rows as T[];
}

export async function exec(conn: DuckDBConnection, sql: string, params?: Params): Promise<void> {
  await conn.run(sql, params as never);
}

export function normaliseValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return isoSeconds(v);
  return v;
}

/** `2026-11-23T09:00:00Z`: ISO 8601 UTC to whole seconds, as the contract writes times. */
export function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal (only for values from settings, never from Slack users). */
export function lit(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
