/**
 * One pipeline run: source -> clean + per-case KPIs (SQL, one pass) -> reports (SQL) -> one typed report
 * -> validation -> writers (output/) -> run history. Slack and the CLI call this.
 */
import { randomUUID } from 'node:crypto';
import { parseAsOf, type Settings } from '../config/settings';
import { silentLogger, type Logger } from '../support/log';
import type { CaseSource, RejectedLine } from '../sources/types';
import type { CaseFilter, KpiReport, RunParams } from '../contract/report';
import { createSource } from '../sources';
import { openMemoryEngine } from '../db/engine';
import { computeReport, dataQualityCounts, type ComputeContext } from '../kpi/compute';
import { baselineStartOf, prepareCases, windowStartOf } from '../kpi/prepare';
import { writeReportFiles } from '../render/files/csv';
import { recoverReportSet } from '../render/files/reportSet';
import { recordRun } from './runHistory';
import { errorText } from '../support/errors';
import { computeInWarehouse } from '../kpi/warehouse';
import type { WarehouseConnection } from '../sources/snowflake/warehouse';

export type Trigger = 'cli' | 'start' | 'schedule' | 'slack' | 'alert' | 'bench' | 'test';

export interface RunOptions {
  settings: Settings;
  log?: Logger;
  /** Default: createSource(settings). */
  source?: CaseSource;
  /** Default: settings.KPI_AS_OF, else now (whole seconds). */
  asOf?: Date;
  /** Default: settings.KPI_OUTPUT_DIR; null writes no files. */
  outDir?: string | null;
  trigger?: Trigger;
  /** Record the run in run_history (default true). */
  recordHistory?: boolean;
  /** Keep the cleaned cases in memory for filtered re-computation (slash commands). */
  keepData?: boolean;
  /** Called as each stage starts (progress display). */
  onStage?: (stage: string) => void;
}

/** The cleaned cases of a run, kept in memory: recompute any report slice without re-reading the source. */
export interface CaseSet {
  compute(filter?: CaseFilter, overrides?: { windowDays?: number }): Promise<KpiReport>;
  close(): void;
}

export interface RunResult {
  report: KpiReport;
  /** Paths written. */
  files: string[];
  /** Present when keepData was set; the caller must close() it. */
  data?: CaseSet;
  /** Input lines the source skipped (KPI_CSV_ON_ERROR=skip), each reported as a warning. */
  rejects?: RejectedLine[];
}

/** Rejected lines listed one by one in the report's warnings; the rest are counted. */
const REJECTS_LISTED = 20;

export function runParams(settings: Settings, asOf: Date): RunParams {
  return {
    asOf,
    windowDays: settings.KPI_WINDOW_DAYS,
    reportTz: settings.KPI_TZ,
    riskThresholdPct: settings.KPI_RISK_THRESHOLD_PCT,
    spikeThresholdPct: settings.KPI_SPIKE_THRESHOLD_PCT,
    spikeBaselineDays: settings.KPI_SPIKE_BASELINE_DAYS,
    spikeMinCases: settings.KPI_SPIKE_MIN_CASES,
    anomalyWeeks: settings.KPI_ANOMALY_WEEKS,
    anomalyZ: settings.KPI_ANOMALY_Z,
    anomalyMinCases: settings.KPI_ANOMALY_MIN_CASES,
    breachHorizonHours: settings.KPI_BREACH_HORIZON_HOURS,
    targets: settings.slaTargets,
    slaPolicies: settings.slaPolicies,
  };
}

export function resolveAsOf(settings: Settings, asOf?: Date): Date {
  if (asOf) return new Date(Math.floor(asOf.getTime() / 1000) * 1000);
  if (settings.KPI_AS_OF) return parseAsOf(settings.KPI_AS_OF, 'KPI_AS_OF');
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

/**
 * Runs the pipeline once. On failure nothing in outDir is touched (files are written only
 * after every report is computed, each atomically), the failure is recorded in run
 * history, and the error is rethrown with secrets removed.
 */
export async function runPipeline(opts: RunOptions): Promise<RunResult> {
  const { settings } = opts;
  const log = opts.log ?? silentLogger();
  const trigger = opts.trigger ?? 'cli';
  const asOf = resolveAsOf(settings, opts.asOf);
  const params = runParams(settings, asOf);
  const windowStart = windowStartOf(params);
  const runId = randomUUID();
  const startedAt = new Date();
  const stage = (name: string) => { opts.onStage?.(name); log.info({ runId, stage: name }, `stage ${name}`); };
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    stage(name);
    const s = performance.now();
    try { return await f(); } finally { timings[name] = performance.now() - s; }
  };
  const engine = await openMemoryEngine({ memoryLimit: settings.KPI_MEMORY_LIMIT });
  let settle!: { resolve: (r: KpiReport) => void; reject: (e: unknown) => void };
  const finalReport = new Promise<KpiReport>((resolve, reject) => { settle = { resolve, reject }; });
  finalReport.catch(() => undefined);
  let history: Promise<string | undefined> | undefined;
  let failed = false;
  let keep = false;
  let sourceName = opts.source?.describe() ?? settings.KPI_SOURCE;
  let demo = false;
  // The history store opens while the reports are computed and written; the run is
  // recorded once the report (with its timings) is final.
  const startHistory = () => {
    if (opts.recordHistory === false) return;
    const start = performance.now();
    history = recordRun(settings.KPI_STATE_PATH, finalReport, { trigger, ok: true, startedAt })
      .then(() => undefined, (e: unknown) => (failed ? undefined : `run history not recorded: ${errorText(e)}`))
      .finally(() => { timings.history = performance.now() - start; });
  };
  try {
    const outDirAtStart = opts.outDir === undefined ? settings.KPI_OUTPUT_DIR : opts.outDir;
    // A run killed while replacing the reports left its journal: restore the previous set first.
    if (outDirAtStart) for (const done of recoverReportSet(outDirAtStart)) log.warn({ runId, stage: 'start' }, `output: ${done}`);
    let report: KpiReport;
    let rejects: RejectedLine[] = [];
    let ctx: ComputeContext | undefined;
    if (settings.KPI_COMPUTE === 'warehouse') {
      // Every KPI computed inside Snowflake (kpi/warehouse.ts): only the report rows come back.
      // What it cannot read (KPI_TIMESTAMP_FORMAT, a local replica) is refused by loadSettings.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { openWarehouse } = require('../sources/snowflake/warehouse') as { openWarehouse(s: Settings, l: Logger): Promise<WarehouseConnection> };
      const warehouse = await timed('extract', () => openWarehouse(settings, log));
      sourceName = `snowflake warehouse compute account=${settings.SNOWFLAKE_ACCOUNT ?? '-'} user=${settings.SNOWFLAKE_USER ?? '-'}`;
      log.info({ runId, stage: 'start', source: sourceName, asOf: asOf.toISOString(), trigger }, 'run started');
      try {
        report = await timed('kpis', () => computeInWarehouse(warehouse, engine.conn, { relation: warehouse.relation, types: warehouse.types, history: warehouse.history, sourceTz: settings.KPI_SOURCE_TZ, params },
          { source: sourceName, rowsRead: null, runId }));
      } finally {
        await warehouse.close();
      }
      for (const [k, v] of Object.entries(report.timings)) timings[`kpi.${k}`] = v;
      startHistory();
    } else {
      const source = opts.source ?? createSource(settings);
      demo = source.kind === 'demo';
      sourceName = source.describe();
      log.info({ runId, stage: 'start', source: sourceName, asOf: asOf.toISOString(), trigger }, 'run started');
      const loaded = await timed('extract', () => source.load({ conn: engine.conn, settings, scope: { asOf, windowStart, baselineStart: baselineStartOf(params) }, log }));
      const rowsRead = loaded.rowsRead ?? null;
      await timed('normalise', async () => {
        try {
          await prepareCases(engine.conn, {
            relation: loaded.relation, sourceTz: settings.KPI_SOURCE_TZ, timestampFormat: settings.KPI_TIMESTAMP_FORMAT, params, keepText: opts.keepData,
            historyRelation: loaded.historyRelation,
          }, timings);
          if (loaded.rejects) rejects = await loaded.rejects();
        } catch (e) {
          throw loaded.explain ? loaded.explain(e) : e;
        } finally {
          await loaded.close();
        }
      });
      for (const r of rejects) log.warn({ runId, stage: 'extract', line: r.line }, `rejected line ${r.line}: ${r.reason}`);
      startHistory();
      const dq = await timed('data_quality', () => dataQualityCounts(engine.conn));
      log.info({ runId, stage: 'normalise', rowsRead, rowsInScope: dq.total_rows, duplicates: dq.duplicate_rows, missing: dq.missing_rows, invalid: dq.invalid_sla_rows }, 'rows read');
      const localCtx = { source: sourceName, rowsRead, runId, dq, demo };
      ctx = localCtx;
      report = await timed('kpis', () => computeReport(engine.instance, params, localCtx));
      for (const [k, v] of Object.entries(report.timings)) timings[`kpi.${k}`] = v;
    }
    report.warnings.push(...nonsenseWarnings(report, asOf, settings, opts.asOf !== undefined || settings.KPI_AS_OF !== undefined, trigger));
    if (rejects.length) {
      report.meta.rejectedLines = rejects.length;
      report.warnings.unshift(...rejectWarnings(sourceName, rejects));
    }
    for (const w of report.warnings) log.warn({ runId, stage: 'validation' }, w);
    const outDir = opts.outDir === undefined ? settings.KPI_OUTPUT_DIR : opts.outDir;
    const files = outDir ? await timed('write', async () => writeReportFiles(report, outDir)) : [];
    timings.total = performance.now() - t0;
    report.timings = timings;
    settle.resolve(report);
    // Freeing the engine overlaps the history insert.
    if (!opts.keepData) engine.close();
    if (history) {
      stage('history');
      const warning = await history;
      if (warning) report.warnings.push(warning);
      timings.total = performance.now() - t0;
    }
    log.info({ runId, stage: 'done', ms: Math.round(timings.total), cases: report.dailyOps.cases_in_window, openBacklog: report.dailyOps.open_backlog, atRisk: report.dailyOps.at_risk_cases, breached: report.dailyOps.breached_open_cases, quality: report.dataQuality.quality_score, warnings: report.warnings.length }, 'run finished');
    if (report.dailyOps.backlog_spike) log.warn({ runId, stage: 'alert', growthPct: report.dailyOps.backlog_growth_pct }, 'backlog spike');
    if (report.dailyOps.breached_open_cases > 0) log.warn({ runId, stage: 'alert', breached: report.dailyOps.breached_open_cases, atRisk: report.dailyOps.at_risk_cases }, 'open cases breached SLA');
    let data: CaseSet | undefined;
    if (opts.keepData) {
      keep = true;
      data = {
        compute: async (filter, overrides) => {
          // Warehouse compute keeps no cases here: only the run's own report is at hand.
          if (!ctx) {
            if ((filter && Object.keys(filter).length) || (overrides?.windowDays ?? params.windowDays) !== params.windowDays) {
              throw new Error('A filtered or re-windowed view needs the cases: not available with KPI_COMPUTE=warehouse (use KPI_COMPUTE=local)');
            }
            return report;
          }
          const p = { ...params, windowDays: overrides?.windowDays ?? params.windowDays };
          return computeReport(engine.instance, p, ctx, filter);
        },
        close: () => engine.close(),
      };
    }
    return { report, files, data, rejects };
  } catch (e) {
    failed = true;
    settle.reject(e);
    await history;
    const message = errorText(e);
    const detail = (e as { detail?: unknown } | null)?.detail;
    log.error({ runId, stage: 'failed', source: sourceName, ...(typeof detail === 'string' ? { detail: errorText(detail) } : {}) }, message);
    if (opts.recordHistory !== false) {
      await recordRun(settings.KPI_STATE_PATH, null, { trigger, ok: false, error: message, startedAt, runId, source: sourceName, asOf }).catch(() => undefined);
    }
    if (e instanceof Error) {
      e.message = message;
      throw e;
    }
    throw new Error(message);
  } finally {
    if (!keep) engine.close();
  }
}

/** The warnings for skipped input lines: a count, then the first lines with their reasons. */
export function rejectWarnings(source: string, rejects: RejectedLine[]): string[] {
  const out = [`${rejects.length} input line(s) of ${source} were not read (KPI_CSV_ON_ERROR=skip)`];
  for (const r of rejects.slice(0, REJECTS_LISTED)) out.push(`line ${r.line} rejected: ${r.reason}`);
  if (rejects.length > REJECTS_LISTED) out.push(`... and ${rejects.length - REJECTS_LISTED} more rejected line(s): see the log or --json rejects`);
  return out;
}

/**
 * Warnings for a run that is technically fine but describes nonsense: an as_of in the
 * future, data much older than as_of (command-line runs; the bot raises its own staleness
 * incident), cases none of which has an SLA target.
 */
export function nonsenseWarnings(report: KpiReport, asOf: Date, settings: Settings, explicitAsOf: boolean, trigger: Trigger): string[] {
  const w: string[] = [];
  if (explicitAsOf && asOf.getTime() > Date.now() + 60_000) {
    w.push(`as_of ${report.meta.asOf} is in the future: the window ends after now`);
  }
  const newest = report.meta.newestCreatedAt;
  if ((trigger === 'cli' || trigger === 'start') && newest && settings.KPI_STALE_HOURS > 0) {
    const hours = (asOf.getTime() - new Date(newest).getTime()) / 3_600_000;
    if (hours > settings.KPI_STALE_HOURS) {
      w.push(`stale data: the newest case was created ${Math.round(hours)} h before as_of (${newest}); more than KPI_STALE_HOURS (${settings.KPI_STALE_HOURS})`);
    }
  }
  const all = report.slaSummary.find((x) => x.priority === 'ALL');
  if (report.dailyOps.cases_in_window > 0 && all && all.total_cases === 0) {
    w.push('no case has an SLA target: check priorities or the policy');
  }
  return w;
}
