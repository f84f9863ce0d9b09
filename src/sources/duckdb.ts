/**
 * DuckDB file source: a `support_cases` table (KPI_DUCKDB_TABLE) in a DuckDB file,
 * attached read-only while the run parses it (no copy) and detached right after, so the
 * bot and a manual run can share the file. The demo source is this source on the demo
 * file, seeded on first use.
 */
import { existsSync } from 'node:fs';
import type { Settings, SourceKind } from '../config/settings';
import { ident, lit, query } from '../db/engine';
import { historySelect, mapColumns } from './columns';
import { SourceError, type CaseSource, type LoadedSource, type SourceContext } from './types';
import { holdFileTurn, retryWhileLocked } from '../db/stateStore';

export class DuckDbFileSource implements CaseSource {
  constructor(
    readonly kind: SourceKind,
    private readonly path: string,
    private readonly table: string,
    private readonly columnMap: Settings['columnMap'],
    private readonly prepare?: (log: SourceContext['log']) => Promise<void>,
    /** The status-history table (contract 6.3), read when the file has it, and its column names. */
    private readonly history?: HistoryTable,
  ) {}

  describe(): string {
    return `${this.kind}:${this.path}#${this.table}`;
  }

  /** The view `history_rows` over the history table when the file has it (contract 6.3). */
  private async historyView(ctx: SourceContext, h: HistoryTable): Promise<string | undefined> {
    const [schema, table] = h.table.includes('.') ? h.table.split('.') : ['main', h.table];
    const cols = await query<{ column_name: string }>(ctx.conn, `DESCRIBE src.${ident(schema)}.${ident(table)}`).catch((e: Error) => {
      if (/Catalog Error/i.test(e.message)) return [];
      throw e;
    });
    if (cols.length === 0) return undefined;
    const select = historySelect(cols.map((c) => c.column_name), h.columnMap, `Status history table ${h.table} in ${this.path}`, ident);
    await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW history_rows AS SELECT ${select} FROM src.${ident(schema)}.${ident(table)}`);
    return 'history_rows';
  }

  async load(ctx: SourceContext): Promise<LoadedSource> {
    if (this.prepare) await this.prepare(ctx.log);
    if (!existsSync(this.path)) throw new SourceError(`DuckDB source ${this.path} does not exist (pass --db FILE or set KPI_DB_PATH; \`kpi seed-demo\` creates demo data)`);
    const release = await holdFileTurn(this.path);
    try {
      await attachWithRetry(ctx, this.path);
    } catch (e) {
      release();
      throw e;
    }
    const detach = async () => {
      try {
        await ctx.conn.run('DROP VIEW IF EXISTS source_rows');
        await ctx.conn.run('DROP VIEW IF EXISTS history_rows');
        await ctx.conn.run('DETACH DATABASE IF EXISTS src');
      } finally {
        release();
      }
    };
    try {
      const [schema, table] = this.table.includes('.') ? this.table.split('.') : ['main', this.table];
      // DESCRIBE, not duckdb_columns(): the latter lists every catalog's columns, which is slow.
      const cols = await query<{ column_name: string }>(ctx.conn, `DESCRIBE src.${ident(schema)}.${ident(table)}`).catch((e: Error) => {
        if (/Catalog Error/i.test(e.message)) return [];
        throw e;
      });
      if (cols.length === 0) {
        throw new SourceError(`DuckDB source ${this.path} has no table ${this.table} (set KPI_DUCKDB_TABLE, or run \`kpi seed-demo --db ${this.path}\`)`);
      }
      const mapping = mapColumns(cols.map((c) => c.column_name), this.columnMap, `Table ${this.table} in ${this.path}`);
      const select = Object.entries(mapping.select).map(([c, src]) => `${ident(src!)} AS ${c}`).join(', ');
      await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW source_rows AS SELECT ${select} FROM src.${ident(schema)}.${ident(table)}`);
      const [{ n }] = await query<{ n: number }>(ctx.conn, `SELECT count(*) AS n FROM src.${ident(schema)}.${ident(table)}`);
      const historyRelation = this.history ? await this.historyView(ctx, this.history) : undefined;
      return { relation: 'source_rows', rowsRead: n, historyRelation, close: detach };
    } catch (e) {
      await detach();
      throw e;
    }
  }
}

/** A status-history table (contract 6.3) and its column names. */
export interface HistoryTable { table: string; columnMap: Settings['historyColumnMap'] }

/** Another process may be writing the file for a moment (run history, alert state): wait. */
async function attachWithRetry(ctx: SourceContext, path: string): Promise<void> {
  try {
    await retryWhileLocked(path, () => ctx.conn.run(`ATTACH ${lit(path)} AS src (READ_ONLY)`));
  } catch (e) {
    throw new SourceError(`DuckDB source ${path} cannot be opened: ${(e as Error).message.split('\n')[0]}`);
  }
}
