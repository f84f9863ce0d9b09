/**
 * The extract SQL: one parameterised query for the run's window, rows with
 * created_at <= as_of and (resolved_at IS NULL OR resolved_at >= window start, or created_at
 * >= the volume-anomaly baseline's start), plus rows whose created_at is NULL (data quality
 * must see them). Dates are binds (`?`); identifiers
 * are quoted (see identifiers.ts).
 *
 * The filter assumes created_at / resolved_at are timestamp (or DATE) columns. When a
 * warehouse keeps them as VARCHAR the filter cannot be evaluated in Snowflake: created_at
 * as text means no filter at all, resolved_at as text drops the resolved_at condition (a
 * superset; the pipeline applies the window again after parsing). The binds for an NTZ
 * column are the instants rendered as wall clock in KPI_SOURCE_TZ, so filter and
 * conversion (typePlan.ts) agree.
 */
import type { Logger } from '../../support/log';
import type { SourceScope } from '../types';
import { quoteColumn } from './identifiers';
import type { Plan } from './typePlan';

/**
 * Largest result chunk Snowflake may send, in MB of uncompressed JSON: the smallest value
 * Snowflake accepts (its default is 160). The driver parses a whole chunk at once and holds
 * the next one while the current one drains, so the chunk size bounds the extract's memory.
 */
export const RESULT_CHUNK_MB = 16;

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

/** The extraction query and its binds. */
export function extractionSql(plan: Plan[], table: string, scope: SourceScope, sourceTz: string, log: Logger): { sql: string; binds: string[] } {
  const binds: string[] = [];
  const bound = (p: Plan, at: Date): string => {
    if (p.kind === 'instant') {
      binds.push(at.toISOString());
      return 'TO_TIMESTAMP_TZ(?)';
    }
    binds.push(wallClock(at, sourceTz));
    return 'TO_TIMESTAMP_NTZ(?)';
  };
  const created = plan.find((p) => p.contract === 'created_at')!;
  const resolved = plan.find((p) => p.contract === 'resolved_at');
  let where = '';
  if (created.kind !== 'text') {
    const c = quoteColumn(created.source);
    let inWindow = `${c} <= ${bound(created, scope.asOf)}`;
    if (resolved && resolved.kind !== 'text') {
      const r = quoteColumn(resolved.source);
      const resolvedInWindow = `${r} IS NULL OR ${r} >= ${bound(resolved, scope.windowStart)}`;
      // Rows created since the anomaly baseline's start count too, resolved or not (contract 7.1).
      inWindow += scope.baselineStart
        ? ` AND (${resolvedInWindow} OR ${c} >= ${bound(created, scope.baselineStart)})`
        : ` AND (${resolvedInWindow})`;
    }
    where = ` WHERE ${c} IS NULL OR (${inWindow})`;
  } else {
    log.info({ stage: 'source', source: 'snowflake', type: created.sfType }, 'created_at is not a timestamp column in Snowflake: reading the whole table');
  }
  const select = plan.map((p) => `${selectExpr(p)} AS ${quoteColumn(p.contract)}`).join(', ');
  return { sql: `SELECT ${select} FROM ${table}${where}`, binds };
}

/** `2026-11-23 10:00:00.000` for an instant, as a wall clock in `tz`. */
export function wallClock(at: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}.${String(at.getUTCMilliseconds()).padStart(3, '0')}`;
}
