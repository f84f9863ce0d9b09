/**
 * The KPI core: from the cleaned `cases` (and `scoped_rows` for data quality) in a DuckDB
 * engine to one typed KpiReport. Pure with respect to the outside world: no files, no
 * Slack, no clock (as_of is a parameter).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { exec, isoSeconds, lit, query } from '../store/engine';
import { DATA_QUALITY_SQL, tsLit } from './normalise';
import { caseMetricsSql, tzOffsetsSql } from './models/caseMetrics';
import { daysSql, dailyByPrioritySql, volumeTrendSql } from './models/days';
import { slaSummarySql } from './models/slaSummary';
import { backlogSummarySql } from './models/backlogSummary';
import { atRiskCasesSql } from './models/atRiskCases';
import { backlogSpikeSql } from './models/backlogSpike';
import {
  PRIORITIES, type AtRiskCase, type BacklogSpikeRow, type Priority, type BacklogSummaryRow, type CaseFilter,
  type DataQualityScore, type KpiReport, type RunParams, type SlaSummaryRow, type VolumeTrendRow,
} from './types';
import { validateReport } from './validate';

export interface DataQualityCounts {
  total_rows: number;
  missing_rows: number;
  duplicate_rows: number;
  invalid_sla_rows: number;
}

export function windowStartOf(params: Pick<RunParams, 'asOf' | 'windowDays'>): Date {
  return new Date(params.asOf.getTime() - params.windowDays * 86_400_000);
}

/** Calendar date of an instant in a time zone, YYYY-MM-DD. */
export function localDate(d: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

export async function dataQualityCounts(conn: DuckDBConnection): Promise<DataQualityCounts> {
  const [r] = await query<DataQualityCounts>(conn, DATA_QUALITY_SQL);
  return r;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const pct = (n: number, d: number) => (d > 0 ? round1((n * 100) / d) : null);

/** data_quality_score.csv from the counts (contract 5). */
export function dataQualityScore(asOf: Date, c: DataQualityCounts): DataQualityScore {
  const missing = pct(c.missing_rows, c.total_rows);
  const dup = pct(c.duplicate_rows, c.total_rows);
  const inv = pct(c.invalid_sla_rows, c.total_rows);
  // The contract's formula on the file's own (1-decimal) percentages, so a reader can
  // recompute the score from the same row.
  const score = 100 - (0.4 * (missing ?? 0) + 0.3 * (dup ?? 0) + 0.3 * (inv ?? 0));
  return {
    as_of: isoSeconds(asOf),
    total_rows: c.total_rows,
    missing_rows: c.missing_rows,
    missing_pct: missing,
    duplicate_rows: c.duplicate_rows,
    duplicate_pct: dup,
    invalid_sla_rows: c.invalid_sla_rows,
    invalid_sla_pct: inv,
    quality_score: round1(Math.min(100, Math.max(0, score))),
  };
}

function filterClause(filter: CaseFilter | undefined): { where: string; params: Record<string, string> } {
  const parts: string[] = [];
  const params: Record<string, string> = {};
  if (filter?.priority) { parts.push(`c.priority = $f_priority`); params.f_priority = filter.priority; }
  if (filter?.region) { parts.push(`lower(c.region) = lower($f_region)`); params.f_region = filter.region; }
  if (filter?.team) { parts.push(`lower(c.team) = lower($f_team)`); params.f_team = filter.team; }
  return { where: parts.map((p) => `AND ${p}`).join(' '), params };
}

export interface ComputeContext {
  source: string;
  rowsRead: number | null;
  runId: string;
  dq: DataQualityCounts;
}

/**
 * Computes every report on the connection's `cases` table. The connection gets its own
 * temp tables (p, m, days, daily), so several computations can run at once on
 * separate connections of one engine.
 */
export async function computeReport(conn: DuckDBConnection, params: RunParams, ctx: ComputeContext, filter?: CaseFilter): Promise<KpiReport> {
  const timings: Record<string, number> = {};
  const t = async <T>(stage: string, f: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    try { return await f(); } finally { timings[stage] = (timings[stage] ?? 0) + performance.now() - s; }
  };
  const windowStart = windowStartOf(params);
  const asOfDate = localDate(params.asOf, params.reportTz);
  await t('sla_metrics', async () => {
    await exec(conn, `
      CREATE OR REPLACE TEMP TABLE p AS SELECT
        ${tsLit(params.asOf)} AS as_of, ${tsLit(windowStart)} AS window_start,
        DATE '${asOfDate}' AS as_of_date, ${params.windowDays}::INTEGER AS window_days,
        ${lit(params.reportTz)} AS report_tz, ${Number(params.riskThresholdPct)}::DOUBLE AS risk_threshold_pct,
        ${Number(params.spikeThresholdPct)}::DOUBLE AS spike_threshold_pct, ${params.spikeBaselineDays}::INTEGER AS spike_baseline_days;`);
    const utcDays = params.reportTz === 'UTC';
    if (!utcDays) await exec(conn, tzOffsetsSql);
    const f = filterClause(filter);
    const targets = Object.fromEntries(PRIORITIES.map((p) => {
      const tg = params.targets[p];
      return [p, [Math.round(tg.resolutionHours * 3.6e9), Math.round(tg.responseHours * 3.6e9), Number(tg.resolutionHours)]];
    })) as Record<string, [number, number, number]>;
    await exec(conn, caseMetricsSql(f.where, utcDays, {
      asOf: tsLit(params.asOf), windowStart: tsLit(windowStart), riskThresholdPct: Number(params.riskThresholdPct), targets,
    }), f.params);
  });
  const volume = await t('aggregates', async () => {
    await exec(conn, daysSql);
    await exec(conn, dailyByPrioritySql);
    return query<VolumeTrendRow & { chain_adjustment: number }>(conn, volumeTrendSql);
  });
  const slaSummary = await t('aggregates', () => query<SlaSummaryRow>(conn, slaSummarySql));
  const backlogSummary = await t('aggregates', () => query<BacklogSummaryRow>(conn, backlogSummarySql));
  const atRiskCases = await t('sla_risk', () => query<AtRiskCase>(conn, atRiskCasesSql));
  const backlogSpike = await t('backlog_spike', () => query<BacklogSpikeRow>(conn, backlogSpikeSql));
  const byPriority = await t('backlog_spike', () => query<{ priority: Priority; backlog: number[] }>(conn,
    `SELECT priority_label AS priority, list(backlog_end_of_day ORDER BY day) AS backlog FROM daily WHERE priority_label <> 'UNKNOWN' GROUP BY 1 ORDER BY 1`));
  const [facts] = await t('daily_ops', () => query<{ cases_in_window: number; open_backlog: number; at_risk_cases: number; breached_open_cases: number; newest: string | null }>(conn, `
    SELECT count(*) AS cases_in_window,
      count(*) FILTER (WHERE is_open) AS open_backlog,
      count(*) FILTER (WHERE at_risk) AS at_risk_cases,
      count(*) FILTER (WHERE is_open AND outcome = 'breached') AS breached_open_cases,
      max(created_at) AS newest
    FROM m`));
  const dataQuality = dataQualityScore(params.asOf, ctx.dq);
  const all = slaSummary.find((r) => r.priority === 'ALL');
  const spikeAll = backlogSpike.find((r) => r.scope === 'ALL');
  const today = volume[volume.length - 1];
  const asOfIso = isoSeconds(params.asOf);
  const report: KpiReport = {
    meta: {
      runId: ctx.runId,
      source: ctx.source,
      asOf: asOfIso,
      asOfDate,
      windowStart: isoSeconds(windowStart),
      windowDays: params.windowDays,
      reportTz: params.reportTz,
      riskThresholdPct: params.riskThresholdPct,
      spikeThresholdPct: params.spikeThresholdPct,
      spikeBaselineDays: params.spikeBaselineDays,
      ...(filter && Object.keys(filter).length ? { filter } : {}),
      rowsRead: ctx.rowsRead,
      newestCreatedAt: facts.newest,
      backlogChainAdjustment: volume.map((v) => v.chain_adjustment),
    },
    slaSummary,
    backlogSummary,
    volumeTrend: volume.map(({ chain_adjustment: _a, ...v }) => v),
    atRiskCases,
    backlogSpike,
    backlogByPriority: Object.fromEntries(byPriority.map((r) => [r.priority, r.backlog.map(Number)])),
    dailyOps: {
      as_of: asOfIso,
      as_of_date: asOfDate,
      cases_in_window: facts.cases_in_window,
      created_today: today?.created ?? 0,
      resolved_today: today?.resolved ?? 0,
      open_backlog: facts.open_backlog,
      sla_compliance_pct: all?.sla_compliance_pct ?? null,
      first_response_compliance_pct: all?.first_response_compliance_pct ?? null,
      at_risk_cases: facts.at_risk_cases,
      breached_open_cases: facts.breached_open_cases,
      backlog_growth_pct: spikeAll?.growth_pct ?? null,
      backlog_spike: spikeAll?.is_spike ?? false,
      data_quality_score: dataQuality.quality_score,
    },
    dataQuality,
    warnings: [],
    timings,
  };
  const s = performance.now();
  report.warnings.push(...validateReport(report));
  timings.validation = performance.now() - s;
  return report;
}
