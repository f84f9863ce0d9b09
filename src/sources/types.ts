/**
 * One small interface for every source (demo, DuckDB file, CSV, Snowflake).
 *
 * A source makes its rows visible inside the run's in-memory DuckDB engine as one relation
 * (a table or view) whose columns carry the contract's names (section 1 of the KPI
 * contract; optional columns may be absent). Column types may be VARCHAR (parsed by the
 * normaliser) or TIMESTAMP / TIMESTAMP WITH TIME ZONE (converted to UTC by the normaliser).
 * The relation's order is the read order ("among equals, the one read last").
 * Everything after that - cleaning, KPIs - is the same SQL for every source.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Settings, SourceKind } from '../config/settings';
import type { Logger } from '../support/log';

export interface SourceScope {
  asOf: Date;
  /** as_of - window_days days: the source may read only rows that matter for the window. */
  windowStart: Date;
  /**
   * Rows created from this instant on matter too, in the window or not: the days volume
   * anomalies count (contract 7.1). Absent: only the window.
   */
  baselineStart?: Date;
}

export interface SourceContext {
  /** The run's in-memory engine. */
  conn: DuckDBConnection;
  settings: Settings;
  scope: SourceScope;
  log: Logger;
}

export interface LoadedSource {
  /** Name of the table or view in `conn` holding the rows. */
  relation: string;
  /** Rows delivered by the source, when known before cleaning. */
  rowsRead?: number;
  /**
   * The status history (contract 6.3), when the source has one: a table or view in `conn`
   * with columns case_id, status, changed_at (any of VARCHAR / TIMESTAMP types), in read order.
   */
  historyRelation?: string;
  /** Releases what load() attached or created. */
  close(): Promise<void>;
  /**
   * Turns an error raised while the relation is read (the read is lazy: it happens when
   * the normaliser scans it) into one the user can act on, naming the file and line.
   */
  explain?(e: unknown): unknown;
  /** Lines the source skipped (KPI_CSV_ON_ERROR=skip), read after the relation was scanned. */
  rejects?(): Promise<RejectedLine[]>;
}

/** An input line the source could not read. */
export interface RejectedLine {
  line: number;
  /** Why, in the reader's words (escaped, bounded). */
  reason: string;
}

export interface CaseSource {
  readonly kind: SourceKind;
  /** A description for logs and `/kpi status`; never a secret. */
  describe(): string;
  load(ctx: SourceContext): Promise<LoadedSource>;
}

/** A failure the user can act on: the message names the file, row, column or setting. */
export class SourceError extends Error {
  /** The underlying reader's whole message (escaped), when the one-line message summarises it. */
  detail?: string;
  constructor(message: string, detail?: string) {
    super(message);
    this.name = 'SourceError';
    if (detail !== undefined) this.detail = detail;
  }
}
