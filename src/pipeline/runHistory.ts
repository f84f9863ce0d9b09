/**
 * Run history (table run_history in the store): one row per pipeline run, successful or
 * not. The digest compares today's numbers with an earlier run's; /healthz and the
 * alerts read the newest run.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { KpiReport } from '../contract/report';
import { query } from '../db/engine';
import { registerSchema, withStore } from '../db/stateStore';
import { sqlText } from '../db/sqlFiles';
import { type RunHistoryRow } from '../contract/runHistory';

registerSchema('run_history', sqlText('pipeline/run_history.sql'));


export interface RecordRunOptions {
  trigger: string;
  ok: boolean;
  error?: string;
  /** Default: now. */
  startedAt?: Date;
  /** Needed when there is no report (a failed run). */
  runId?: string;
  asOf?: Date | string;
  asOfDate?: string;
  source?: string;
}

/** `2026-11-23T09:00:00Z` -> `2026-11-23 09:00:00` (TIMESTAMP literal, UTC). */
function tsParam(v: Date | string): string {
  const iso = typeof v === 'string' ? new Date(v).toISOString() : v.toISOString();
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, '').replace(/Z$/, '');
}

const SELECT_COLS = `run_id,
  strftime(started_at, '%Y-%m-%dT%H:%M:%SZ') AS started_at,
  strftime(as_of, '%Y-%m-%dT%H:%M:%SZ') AS as_of,
  strftime(as_of_date, '%Y-%m-%d') AS as_of_date,
  source, trigger, ok, error, cases_in_window, created_today, resolved_today, open_backlog,
  at_risk_cases, breached_open_cases, sla_compliance_pct, first_response_compliance_pct,
  backlog_growth_pct, backlog_spike, data_quality_score, warnings, total_ms, timings`;

function toRow(r: Record<string, unknown>): RunHistoryRow {
  let timings: Record<string, number> | null = null;
  if (typeof r.timings === 'string' && r.timings) {
    try { timings = JSON.parse(r.timings) as Record<string, number>; } catch { timings = null; }
  }
  return { ...(r as unknown as RunHistoryRow), ok: Boolean(r.ok), timings };
}

/**
 * Records one run. A run id already recorded is left as it is. `report` may be a promise
 * of the final report: the store opens meanwhile (a run opens it while it computes), and
 * a rejected promise records nothing.
 */
export async function recordRun(dbPath: string, report: KpiReport | null | Promise<KpiReport>, opts: RecordRunOptions): Promise<void> {
  await withStore(dbPath, async (c) => {
    await insertRun(c, await report, opts);
  });
}

async function insertRun(c: DuckDBConnection, report: KpiReport | null, opts: RecordRunOptions): Promise<void> {
  const d = report?.dailyOps;
  const runId = report?.meta.runId ?? opts.runId ?? `failed-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const asOf = report?.meta.asOf ?? opts.asOf ?? new Date();
  const asOfDate = report?.meta.asOfDate ?? opts.asOfDate ?? tsParam(asOf).slice(0, 10);
  const totalMs = report ? (report.timings.total ?? Object.values(report.timings).reduce((a, b) => a + b, 0)) : null;
  const values = [
    runId, tsParam(opts.startedAt ?? new Date()), tsParam(asOf), asOfDate,
    report?.meta.source ?? opts.source ?? 'unknown', opts.trigger, opts.ok, opts.error ?? null,
    d?.cases_in_window ?? null, d?.created_today ?? null, d?.resolved_today ?? null, d?.open_backlog ?? null,
    d?.at_risk_cases ?? null, d?.breached_open_cases ?? null, d?.sla_compliance_pct ?? null,
    d?.first_response_compliance_pct ?? null, d?.backlog_growth_pct ?? null, d?.backlog_spike ?? null,
    d?.data_quality_score ?? null, report ? report.warnings.length : null, totalMs,
    report ? JSON.stringify(report.timings) : null,
  ];
  const placeholders = values.map((_, i) => `$${i + 1}`);
  placeholders[1] = 'CAST($2 AS TIMESTAMP)';
  placeholders[2] = 'CAST($3 AS TIMESTAMP)';
  placeholders[3] = 'CAST($4 AS DATE)';
  await c.run(
    `INSERT INTO run_history (run_id, started_at, as_of, as_of_date, source, trigger, ok, error,
       cases_in_window, created_today, resolved_today, open_backlog, at_risk_cases, breached_open_cases,
       sla_compliance_pct, first_response_compliance_pct, backlog_growth_pct, backlog_spike,
       data_quality_score, warnings, total_ms, timings)
     VALUES (${placeholders.join(', ')})
     ON CONFLICT (run_id) DO NOTHING`,
    values as never,
  );
}

export interface PreviousRunOptions {
  /** Only runs with one of these triggers. */
  triggers?: string[];
  /** Only runs whose as_of_date is before this day (YYYY-MM-DD): "yesterday or earlier". */
  beforeDate?: string;
}

/** The newest successful run with as_of before `beforeAsOf` (optionally narrowed), or null. */
export async function previousRun(dbPath: string, beforeAsOf: Date | string, opts: PreviousRunOptions = {}): Promise<RunHistoryRow | null> {
  const where = ['ok', 'as_of < CAST($1 AS TIMESTAMP)'];
  const params: (string | number)[] = [tsParam(beforeAsOf)];
  if (opts.beforeDate) {
    params.push(opts.beforeDate);
    where.push(`as_of_date < CAST($${params.length} AS DATE)`);
  }
  if (opts.triggers && opts.triggers.length) {
    const ph = opts.triggers.map((t) => { params.push(t); return `$${params.length}`; });
    where.push(`trigger IN (${ph.join(', ')})`);
  }
  const rows = await withStore(dbPath, (c) => query(c,
    `SELECT ${SELECT_COLS} FROM run_history WHERE ${where.join(' AND ')} ORDER BY as_of DESC, started_at DESC, rowid DESC LIMIT 1`,
    params));
  return rows.length ? toRow(rows[0]) : null;
}

/** The newest recorded run (successful or not), or null. */
export async function lastRun(dbPath: string, opts: { okOnly?: boolean } = {}): Promise<RunHistoryRow | null> {
  const rows = await withStore(dbPath, (c) => query(c,
    `SELECT ${SELECT_COLS} FROM run_history ${opts.okOnly ? 'WHERE ok' : ''} ORDER BY started_at DESC, rowid DESC LIMIT 1`));
  return rows.length ? toRow(rows[0]) : null;
}
