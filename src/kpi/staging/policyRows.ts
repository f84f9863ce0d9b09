/**
 * SLA policies in the per-case table (contract 6): what a policy file changes in
 * case_rows.sql (the policy of each row, its targets, the lowest risk stage, the extra
 * columns), the business-time buckets the clocks join on, and the clock step
 * (case_clocks.sql) for the rows whose policy has a business-hours calendar or pauses.
 * Without a policy file none of this runs: case_rows is built by exactly the plain SQL.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { CALENDAR_24X7, PRIORITIES, type BusinessCalendar, type SlaPolicySet } from '../../contract/slaPolicy';
import { exec, lit } from '../../db/engine';
import { sqlFile } from '../../db/sqlFiles';
import { DUCKDB, type Dialect } from '../../db/dialect';
import { businessSegments, clockSpan, type BusinessSegment } from '../businessCalendar';
import { pauseMatchSql, policyChoiceSql } from '../policySql';
import type { ContractColumn } from '../../contract/columns';
import type { PolicyFragments } from './caseRows';
import { HISTORY_SLIM, type HistoryRead } from './history';

/** The lowest risk stage: it replaces risk_threshold_pct everywhere (contract 6.5). */
export function lowestStage(set: SlaPolicySet | null | undefined, riskThresholdPct: number): number {
  return set?.riskStages?.length ? Math.min(...set.riskStages) : riskThresholdPct;
}

/** The risk stages of a run: the file's, else risk_threshold_pct alone. */
export function riskStagesOf(set: SlaPolicySet | null | undefined, riskThresholdPct: number): number[] {
  return set?.riskStages?.length ? [...set.riskStages].sort((a, b) => a - b) : [riskThresholdPct];
}

/** Policies whose resolution clock pauses on some status (pause_on). */
export function pausingPolicies(set: SlaPolicySet): string[] {
  return set.policies.filter((p) => p.pauseOn.length > 0).map((p) => p.name);
}

/** Policies whose clock is not plain elapsed time: a business-hours calendar, or pauses. */
export function clockPolicies(set: SlaPolicySet): string[] {
  return set.policies.filter((p) => p.calendar !== CALENDAR_24X7 || p.pauseOn.length > 0).map((p) => p.name);
}

/** The input columns the policies' `when` conditions read beyond those always read. */
export function conditionColumns(set: SlaPolicySet): ContractColumn[] {
  const keys = new Set(set.policies.flatMap((p) => Object.keys(p.when)));
  return (['channel', 'customer_tier'] as const).filter((k) => keys.has(k));
}

/** `CASE policy WHEN ... THEN calendar END`: the calendar of a row's policy. */
export function calendarOfPolicySql(set: SlaPolicySet, col = 'policy'): string {
  return `CASE ${col} ${set.policies.map((p) => `WHEN ${lit(p.name)} THEN ${lit(p.calendar)}`).join(' ')} END`;
}

/** A target (seconds in the file) of the row's policy and priority, in microseconds; NULL: none. */
function targetSql(set: SlaPolicySet, which: 'resolutionS' | 'firstResponseS'): string {
  const arms = set.policies.map((p) => {
    const byPriority = PRIORITIES.filter((pr) => p.targets[pr]).map((pr) => `WHEN '${pr}' THEN ${Math.round(p.targets[pr]![which] * 1e6)}::BIGINT`);
    return byPriority.length ? `WHEN ${lit(p.name)} THEN CASE priority ${byPriority.join(' ')} END` : '';
  }).filter(Boolean);
  return arms.length ? `CASE policy ${arms.join(' ')} END` : 'CAST(NULL AS BIGINT)';
}

/**
 * The policy names as the ENUM type kpi_policy (one byte a row instead of a string; DuckDB
 * compares it with text as text). Created before case_rows, which must not exist then.
 */
export function policyTypeSql(set: SlaPolicySet): string {
  return `DROP TYPE IF EXISTS kpi_policy; CREATE TYPE kpi_policy AS ENUM (${set.policies.map((p) => lit(p.name)).join(', ')})`;
}

/** case_rows.sql's fragments for a policy file (see caseRows.ts); policyTypeSql first. */
export function policyFragments(set: SlaPolicySet, d: Dialect = DUCKDB): PolicyFragments {
  const choice = policyChoiceSql(set.policies, {
    priority: 'CAST(priority AS VARCHAR)', region: 'region_raw', channel: 'channel_raw', team: 'team_raw',
    customer_tier: 'customer_tier_raw', status: 'status_raw',
  }, d);
  const clocks = clockPolicies(set).length > 0;
  return {
    withPolicy: (cleaned) => `SELECT *, (${choice})${d.render('::kpi_policy')} AS policy FROM (${cleaned}\n) AS cleaned_rows`,
    resolutionTargetUs: targetSql(set, 'resolutionS'),
    responseTargetUs: targetSql(set, 'firstResponseS'),
    textKept: clocks ? '(is_open AND has_sla)' : 'risk_listed',
    columns: `,
  policy, resolution_us, response_us, fr_at,
  CASE WHEN is_open THEN elapsed_us END AS clock_us,
  CASE WHEN is_open THEN 'running' END AS clock_state`,
  };
}

// --- business-time buckets ---------------------------------------------------------------

/** One row of clock_buckets (microseconds; offsets from the bucket's start). */
export interface BucketRow {
  calendar: string;
  bucket: number;
  bucketUs: number;
  startUs: number;
  cumUs: number;
  pieces: Array<[number, number]>;
}

/** Bucket sizes tried, largest first: the first where no bucket holds more than two business pieces is used. */
const BUCKET_SIZES_MS = [3_600_000, 900_000, 300_000, 60_000];

/**
 * A calendar's business segments cut into buckets of `gMs` over [fromMs, toMs): the business
 * time before each bucket and its pieces; null when some bucket holds more than two pieces.
 */
export function bucketsOf(calendar: string, segs: BusinessSegment[], fromMs: number, toMs: number, gMs: number): BucketRow[] | null {
  const rows: BucketRow[] = [];
  const total = segs.length ? segs[segs.length - 1].cumStartMs + segs[segs.length - 1].endMs - segs[segs.length - 1].startMs : 0;
  let i = 0;
  for (let k = Math.floor(fromMs / gMs); k * gMs < toMs; k++) {
    const start = k * gMs;
    const end = start + gMs;
    while (i < segs.length && segs[i].endMs <= start) i++;
    const cum = i >= segs.length ? total : segs[i].startMs <= start ? segs[i].cumStartMs + (start - segs[i].startMs) : segs[i].cumStartMs;
    const pieces: Array<[number, number]> = [];
    for (let j = i; j < segs.length && segs[j].startMs < end; j++) {
      const lo = Math.max(segs[j].startMs, start);
      const hi = Math.min(segs[j].endMs, end);
      if (lo < hi) pieces.push([(lo - start) * 1000, (hi - start) * 1000]);
    }
    if (pieces.length > 2) return null;
    rows.push({ calendar, bucket: k, bucketUs: gMs * 1000, startUs: start * 1000, cumUs: cum * 1000, pieces });
  }
  return rows;
}

/**
 * The clock_buckets rows of every business-hours calendar a clock policy names, over the
 * span the run needs (clockSpan: from before the oldest created_at to past as_of by the
 * calendar's largest target).
 */
export function clockBucketRows(set: SlaPolicySet, oldestCreatedMs: number, asOfMs: number): { rows: BucketRow[]; bucketMs: Record<string, number> } {
  const maxTarget = new Map<string, number>();
  for (const p of set.policies) {
    if (p.calendar === CALENDAR_24X7) continue;
    const m = Math.max(0, ...Object.values(p.targets).map((t) => Math.max(t!.resolutionS, t!.firstResponseS)));
    maxTarget.set(p.calendar, Math.max(maxTarget.get(p.calendar) ?? 0, m));
  }
  const rows: BucketRow[] = [];
  const bucketMs: Record<string, number> = {};
  for (const [name, target] of maxTarget) {
    const cal: BusinessCalendar = set.calendars[name];
    const span = clockSpan(cal, oldestCreatedMs, asOfMs, target);
    const segs = businessSegments(cal, span.fromMs, span.toMs);
    let found: BucketRow[] | null = null;
    for (const g of BUCKET_SIZES_MS) {
      found = bucketsOf(name, segs, span.fromMs, span.toMs, g);
      if (found) { bucketMs[name] = g; break; }
    }
    if (!found) throw new Error(`calendar ${name}: business intervals closer than a minute apart`);
    rows.push(...found);
  }
  return { rows, bucketMs };
}

const CLOCK_BUCKETS_DDL = `CREATE OR REPLACE TEMP TABLE clock_buckets (
  calendar VARCHAR NOT NULL, bucket BIGINT NOT NULL, bucket_us BIGINT NOT NULL, start_us BIGINT NOT NULL,
  cum_us BIGINT NOT NULL, a1 BIGINT NOT NULL, b1 BIGINT NOT NULL, a2 BIGINT NOT NULL, b2 BIGINT NOT NULL)`;

async function appendBuckets(conn: DuckDBConnection, rows: BucketRow[]): Promise<void> {
  await exec(conn, CLOCK_BUCKETS_DDL);
  const appender = await conn.createAppender('clock_buckets');
  try {
    for (const r of rows) {
      const [p1, p2] = [r.pieces[0] ?? [0, 0], r.pieces[1] ?? [0, 0]];
      appender.appendVarchar(r.calendar);
      appender.appendBigInt(BigInt(r.bucket));
      appender.appendBigInt(BigInt(r.bucketUs));
      appender.appendBigInt(BigInt(r.startUs));
      appender.appendBigInt(BigInt(Math.round(r.cumUs)));
      appender.appendBigInt(BigInt(p1[0]));
      appender.appendBigInt(BigInt(p1[1]));
      appender.appendBigInt(BigInt(p2[0]));
      appender.appendBigInt(BigInt(p2[1]));
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/**
 * B(t) in microseconds for the instant `row.col` (case_clocks.sql): t itself on the 24x7
 * calendar, else the business time before t's bucket (the joined clock_buckets row `s`)
 * plus the parts of its two business pieces that lie before t.
 */
export function businessTimeSql(row: string, col: string, d: Dialect = DUCKDB): string {
  const t = d.epochUs(`${row}.${col}`);
  const piece = (a: string, b: string) => `least(greatest(${t} - s.start_us - s.${a}, 0), s.${b} - s.${a})`;
  return `CASE WHEN ${row}.calendar = '24x7' THEN ${t} ELSE coalesce(s.cum_us + ${piece('a1', 'b1')} + ${piece('a2', 'b2')}, 0) END`;
}

/**
 * case_clocks.sql's clock_history step: the history rows the pauses read, each with a
 * row_key in read order (ties on changed_at, contract 6.5). DuckDB (local compute): a view on
 * the history as history.ts read it once into a table in read order (history_slim), whose
 * rowid is that order. Snowflake (warehouse compute): a semi-join of the history table on
 * the cases whose pauses matter (clock_cases.pauses_matter), their changes up to as_of, each
 * with a row_key from the dialect's rowKey(): a table scan has no read order there, so ties
 * on changed_at have none either (docs/snowflake.md).
 */
function clockHistorySql(read: HistoryRead | undefined, asOfSql: string, d: Dialect = DUCKDB): string {
  if (!read) return `CREATE OR REPLACE TEMPORARY TABLE clock_history (case_id VARCHAR, status VARCHAR, changed_at ${d.name === 'snowflake' ? 'TIMESTAMP_NTZ' : 'TIMESTAMP'}, row_key BIGINT)`;
  if (d.name === 'snowflake') {
    return `CREATE OR REPLACE TEMPORARY TABLE clock_history AS
SELECT case_id, status, changed_at, ${d.rowKey()} AS row_key
FROM (SELECT ${read.caseId} AS case_id, ${read.status} AS status, ${read.changedAt} AS changed_at FROM ${read.relation}) AS history_rows
WHERE case_id IN (SELECT case_id FROM clock_cases WHERE pauses_matter) AND changed_at <= ${asOfSql}`;
  }
  return `CREATE OR REPLACE TEMP VIEW clock_history AS
SELECT ${read.caseId} AS case_id, ${read.status} AS status, ${read.changedAt} AS changed_at, rowid AS row_key FROM ${read.relation}`;
}

/** How case_clocks.sql drops clock_history once paused_history is built (locally a view, and the table history.ts read). */
function dropClockHistorySql(read: HistoryRead | undefined, d: Dialect): string {
  return read && d.name !== 'snowflake' ? `DROP VIEW clock_history; DROP TABLE IF EXISTS ${read.relation}` : 'DROP TABLE clock_history';
}

/**
 * Applies the business-hours and paused clocks to case_rows (case_clocks.sql). Reads the
 * status history (history.ts) in the source time zone when `history` is given.
 */
export async function applyPolicyClocks(
  conn: DuckDBConnection, set: SlaPolicySet,
  o: { asOf: Date; asOfSql: string; oldestCreatedMs: number; riskThresholdPct: number; history?: HistoryRead },
  timings: Record<string, number> = {},
): Promise<void> {
  const names = clockPolicies(set);
  if (!names.length) return;
  const t0 = performance.now();
  const { rows, bucketMs } = clockBucketRows(set, o.oldestCreatedMs, o.asOf.getTime());
  await appendBuckets(conn, rows);
  timings['clocks.buckets'] = performance.now() - t0;
  try {
    const sql = caseClocksSql(set, o, bucketMs);
    // One statement at a time, each step's time in the run's timings (clocks.<table>).
    for (const stmt of sql.split(/;\n\n/)) {
      const t = performance.now();
      await exec(conn, stmt);
      const name = /TEMP (?:TABLE|VIEW) (\w+)|^(UPDATE|DROP)/m.exec(stmt.replace(/^--.*$/gm, ''));
      const key = `clocks.${(name?.[1] ?? name?.[2] ?? 'other').toLowerCase()}`;
      timings[key] = (timings[key] ?? 0) + performance.now() - t;
    }
  } finally {
    // After a failed step: clock_history is a view or a table, and DuckDB refuses to drop
    // one as the other even with IF EXISTS.
    for (const drop of ['DROP TABLE IF EXISTS clock_buckets', 'DROP TABLE IF EXISTS pausing_statuses', 'DROP TABLE IF EXISTS paused_history', 'DROP VIEW IF EXISTS clock_history', 'DROP TABLE IF EXISTS clock_history', `DROP TABLE IF EXISTS ${HISTORY_SLIM}`]) {
      await exec(conn, drop).catch(() => undefined);
    }
  }
}

/** case_clocks.sql for a policy set and run (`bucketMs`: each calendar's bucket size, clockBucketRows). */
export function caseClocksSql(set: SlaPolicySet, o: { asOfSql: string; riskThresholdPct: number; history?: HistoryRead }, bucketMs: Record<string, number>, d: Dialect = DUCKDB): string {
  const names = clockPolicies(set);
  const pausing = pausingPolicies(set).map(d.lit);
  // Each policy's bucket size, by its calendar's (24x7 and calendars without buckets: an hour).
  const bucketArms = set.policies.filter((p) => bucketMs[p.calendar] !== undefined).map((p) => `WHEN ${d.lit(p.name)} THEN ${bucketMs[p.calendar] * 1000}::BIGINT`);
  return sqlFile('kpi/staging/case_clocks.sql', {
    calendar: calendarOfPolicySql(set),
    bucket_us: bucketArms.length ? `CASE policy ${bucketArms.join(' ')} ELSE 3600000000::BIGINT END` : '3600000000::BIGINT',
    may_pause: pausing.length ? `policy IN (${pausing.join(', ')})` : 'false',
    as_of: o.asOfSql,
    clock_history: clockHistorySql(o.history, o.asOfSql, d),
    drop_clock_history: dropClockHistorySql(o.history, d),
    pausing_policies: pausing.length ? `SELECT policy FROM (VALUES ${pausing.map((p) => `(${p})`).join(', ')}) AS v(policy)` : 'SELECT CAST(NULL AS VARCHAR) AS policy WHERE false',
    clock_policies: names.map(d.lit).join(', '),
    pause_match: pauseMatchSql(set.policies, 'p.policy', 's.status', d),
    risk_threshold_pct: o.riskThresholdPct,
    b_created_at: businessTimeSql('c', 'created_at', d),
    b_end_at: businessTimeSql('c', 'end_at', d),
    b_response_at: businessTimeSql('c', 'response_at', d),
    b_pause_from: businessTimeSql('p', 'pause_from', d),
    b_pause_to: businessTimeSql('p', 'pause_to', d),
  }, d);
}
