/**
 * The extract SQL: one parameterised query for the run's window, rows with
 * created_at <= as_of and (resolved_at IS NULL OR resolved_at >= window start, or created_at
 * >= the volume-anomaly baseline's start), plus rows whose created_at is NULL (data quality
 * must see them). Dates are binds (`?`); identifiers
 * are quoted (see identifiers.ts).
 *
 * created_at / resolved_at may be timestamp (or DATE) columns or VARCHAR: text is read
 * with TRY_TO_TIMESTAMP_TZ in the WHERE (filterExpr), so the warehouse prunes instead of
 * shipping the table. The filter only ever keeps a superset of the window's rows; the
 * pipeline applies the window again after parsing. The binds for an NTZ column are the
 * instants rendered as wall clock in KPI_SOURCE_TZ, so filter and conversion (typePlan.ts)
 * agree.
 */
import type { Logger } from '../../support/log';
import type { SourceScope } from '../types';
import { quoteColumn } from './identifiers';
import type { Plan } from './typePlan';

/**
 * Largest result chunk Snowflake may send, in MB of uncompressed JSON: the smallest value
 * Snowflake accepts (48 to 160, default 160). Chunks are parsed as they stream in
 * (stream.ts), so their size no longer bounds memory; smaller chunks still start arriving
 * sooner, and bound memory on the driver's own path (when its internals cannot be patched),
 * which parses a whole chunk at once.
 */
export const RESULT_CHUNK_MB = 48;

/**
 * The session setup: UTC, a server-side statement timeout so the warehouse stops when we
 * stop waiting, and small result chunks.
 */
export function sessionSql(queryTimeoutMs: number): string {
  const timeoutS = Math.max(1, Math.ceil(queryTimeoutMs / 1000));
  return `ALTER SESSION SET TIMEZONE = 'UTC', STATEMENT_TIMEOUT_IN_SECONDS = ${timeoutS}, CLIENT_RESULT_CHUNK_SIZE = ${RESULT_CHUNK_MB}`;
}

/** The column probe: names and types, no rows. */
export function probeSql(table: string): string {
  return `SELECT * FROM ${table} LIMIT 0`;
}

/**
 * What Snowflake sends for a column. Timestamps come as epoch milliseconds computed by
 * Snowflake: instants (LTZ/TZ) converted to UTC first, so the epoch is the instant's;
 * NTZ/DATE as the epoch of their wall clock read as UTC (which is what an NTZ epoch is).
 * Other non-text values come as text.
 */
export function selectExpr(p: Plan): string {
  const c = quoteColumn(p.source);
  if (p.kind === 'instant') return `TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, CONVERT_TIMEZONE('UTC', ${c})))`;
  if (p.kind === 'wall') return `TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, ${c}::TIMESTAMP_NTZ))`;
  if (p.sfType === 'text') return c;
  if (p.sfType.startsWith('timestamp')) return `TO_VARCHAR(${c}, 'YYYY-MM-DD HH24:MI:SS.FF6TZH:TZM')`;
  return `TO_VARCHAR(${c})`;
}

/**
 * Widening of the window for timestamps kept as text: Snowflake reads text without an
 * offset in the session's zone (UTC), the pipeline in KPI_SOURCE_TZ; no zone is more than
 * a day from UTC, so widening each bound by a day keeps every row the pipeline keeps.
 */
const TEXT_MARGIN_MS = 86_400_000;

/**
 * Text that the pipeline and Snowflake read alike: ISO dates (`YYYY-MM-DD`, then anything).
 * Other text is not parsed in Snowflake, so its rows are kept and the pipeline judges them
 * (a text it cannot parse is a data-quality defect that must still be counted).
 */
const ISO_TEXT = '[0-9]{4}-[0-9]{2}-[0-9]{2}.*';

/**
 * A timestamp column as Snowflake can compare it, or undefined when it cannot be filtered
 * in Snowflake. TIMESTAMP_* and DATE columns as they are; VARCHAR through
 * TRY_TO_TIMESTAMP_TZ of ISO-shaped text (NULL otherwise, and NULL rows are kept), unless
 * KPI_TIMESTAMP_FORMAT says the text has another layout.
 */
export function filterExpr(p: Plan, timestampFormat: string | undefined): string | undefined {
  const c = quoteColumn(p.source);
  if (p.kind !== 'text') return c;
  if (p.sfType !== 'text' || timestampFormat) return undefined;
  return `TRY_TO_TIMESTAMP_TZ(CASE WHEN REGEXP_LIKE(TRIM(${c}), '${ISO_TEXT}') THEN TRIM(${c}) END)`;
}

/** Options of the extract beyond the window. */
export interface ExtractOptions {
  /** KPI_TIMESTAMP_FORMAT: text timestamps in a custom layout are not filtered in Snowflake. */
  timestampFormat?: string;
  /**
   * No created_at bound: every row not resolved before the window start (the incremental
   * replica, which later runs with a later as_of read).
   */
  openEnded?: boolean;
}

/** The extraction query and its binds. */
export function extractionSql(plan: Plan[], table: string, scope: SourceScope, sourceTz: string, log: Logger, options: ExtractOptions = {}): { sql: string; binds: string[] } {
  const binds: string[] = [];
  const bound = (p: Plan, at: Date, widenMs: number): string => {
    if (p.kind === 'instant') {
      binds.push(at.toISOString());
      return 'TO_TIMESTAMP_TZ(?)';
    }
    if (p.kind === 'text') {
      binds.push(new Date(at.getTime() + widenMs).toISOString());
      return 'TO_TIMESTAMP_TZ(?)';
    }
    binds.push(wallClock(at, sourceTz));
    return 'TO_TIMESTAMP_NTZ(?)';
  };
  const created = plan.find((p) => p.contract === 'created_at')!;
  const resolved = plan.find((p) => p.contract === 'resolved_at');
  const c = filterExpr(created, options.timestampFormat);
  let where = '';
  // Rows created since the anomaly baseline's start count too, resolved or not (contract 7.1).
  const sinceBaseline = () => (c && scope.baselineStart ? ` OR ${c} >= ${bound(created, scope.baselineStart, -TEXT_MARGIN_MS)}` : '');
  if (options.openEnded) {
    const r = resolved && filterExpr(resolved, options.timestampFormat);
    if (resolved && r) where = ` WHERE ${r} IS NULL OR ${r} >= ${bound(resolved, scope.windowStart, -TEXT_MARGIN_MS)}${sinceBaseline()}`;
  } else if (c) {
    let inWindow = `${c} <= ${bound(created, scope.asOf, TEXT_MARGIN_MS)}`;
    const r = resolved && filterExpr(resolved, options.timestampFormat);
    if (resolved && r) inWindow += ` AND (${r} IS NULL OR ${r} >= ${bound(resolved, scope.windowStart, -TEXT_MARGIN_MS)}${sinceBaseline()})`;
    where = ` WHERE ${c} IS NULL OR (${inWindow})`;
  } else {
    log.info({ stage: 'source', source: 'snowflake', type: created.sfType }, 'created_at cannot be compared in Snowflake (not a timestamp, or text in KPI_TIMESTAMP_FORMAT): reading the whole table');
  }
  const select = plan.map((p) => `${selectExpr(p)} AS ${quoteColumn(p.contract)}`).join(', ');
  return { sql: `SELECT ${select} FROM ${table}${where}`, binds };
}

/**
 * The incremental delta: every row of each case_id that has a row changed at or after
 * `since` (a raw epoch of updated_at, as the replica holds it) or a row without updated_at,
 * and every row without a case_id. One query; Snowflake runs the semi-join.
 */
export function deltaSql(plan: Plan[], table: string, since: number): { sql: string; binds: string[] } {
  const caseId = quoteColumn(plan.find((p) => p.contract === 'case_id')!.source);
  const updated = plan.find((p) => p.contract === 'updated_at')!;
  const u = quoteColumn(updated.source);
  // 'instant': the epoch is the instant's; 'wall': the epoch of the wall clock read as UTC.
  const iso = new Date(since).toISOString();
  const bind = updated.kind === 'instant' ? iso : `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  const cast = updated.kind === 'instant' ? 'TO_TIMESTAMP_TZ(?)' : 'TO_TIMESTAMP_NTZ(?)';
  const select = plan.map((p) => `${selectExpr(p)} AS ${quoteColumn(p.contract)}`).join(', ');
  return {
    sql: `SELECT ${select} FROM ${table} WHERE ${caseId} IN (SELECT ${caseId} FROM ${table} WHERE ${u} >= ${cast} OR ${u} IS NULL) OR ${caseId} IS NULL`,
    binds: [bind],
  };
}

/** `2026-11-23 10:00:00.000` for an instant, as a wall clock in `tz`. */
export function wallClock(at: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}.${String(at.getUTCMilliseconds()).padStart(3, '0')}`;
}
