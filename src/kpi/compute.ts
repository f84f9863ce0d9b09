/**
 * The reports: from `case_rows` (prepare.ts) to one typed KpiReport, on a DuckDB engine. One
 * model per output in models/*.sql; this file runs them and assembles the report. Pure with
 * respect to the outside world: no files, no Slack, no settings, no clock (as_of is a
 * parameter).
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  type AtRiskCase, type BacklogSpikeRow, type Priority, type BacklogSummaryRow, type CaseFilter,
  type DataQualityScore, type KpiReport, type RunParams, type SlaComplianceDayRow, type SlaPolicySummaryRow, type SlaSummaryRow, type VolumeAnomalyRow, type VolumeTrendRow,
} from '../contract/report';
import { CALENDAR_24X7 } from '../contract/slaPolicy';
import { exec, query, queryJson, tsLit } from '../db/engine';
import { riskStageSql } from './policySql';
import { calendarOfPolicySql, riskStagesOf } from './staging/policyRows';
import { CREATED_IN_SOURCE } from './staging/caseRows';
import { isoSeconds } from '../support/time';
import { sqlFile } from '../db/sqlFiles';
import { DUCKDB, type Dialect } from '../db/dialect';
import { localDate } from '../support/cronTime';
import { runParamsSql, windowStartOf } from './prepare';
import { validateReport } from './validate';

/** A model's SQL: `models/<name>.sql`, in a dialect. */
export const model = (name: string, d: Dialect = DUCKDB, vars: Record<string, string | number> = {}) => sqlFile(`kpi/models/${name}.sql`, vars, d);

/** days.sql for a run: the trend's window_days days. */
export const daysSql = (params: RunParams, d: Dialect = DUCKDB) => model('days', d, { window_days: params.windowDays });

/** volume_anomaly_summary.sql over `createdCases` (see CREATED_IN_SOURCE). */
export const volumeAnomalySql = (params: RunParams, createdCases: string, d: Dialect = DUCKDB) =>
  model('volume_anomaly_summary', d, { created_cases: createdCases, judged_weeks: params.anomalyWeeks + 1 });

/** backlog_by_priority.sql's rows (one per priority and day, in day order) as one list per priority. */
export function backlogLists(rows: { priority: string; backlog: number }[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of rows) (out[r.priority] ??= []).push(Number(r.backlog));
  return out;
}

/** sla_at_risk_cases.csv's order, by its own columns (due_at is fixed-width UTC text, so it sorts as time). */
const AT_RISK_ORDER = 't.due_at NULLS LAST, t.case_id';

/**
 * counted_cases.sql's policy columns (contract 6): without a policy file the built-in
 * `default` policy on 24x7, its clock the elapsed time; with one, the calendar of each
 * row's policy (the rest is stored in case_rows).
 */
export function policyColumnsSql(params: RunParams, d: Dialect = DUCKDB): string {
  const set = params.slaPolicies;
  if (set) return `,\n  ${calendarOfPolicySql(set)} AS calendar`;
  return `,
  'default' AS policy, '${CALENDAR_24X7}' AS calendar,
  ${d.epochUs('due_at')} - ${d.epochUs('created_at')} AS resolution_us,
  CASE WHEN eff_resolved_at IS NULL AND NOT ghost THEN ${d.epochUs(tsLit(params.asOf))} - ${d.epochUs('created_at')} END AS clock_us,
  CASE WHEN eff_resolved_at IS NULL AND NOT ghost THEN 'running' END AS clock_state`;
}

/** sla_at_risk_cases.sql with the run's risk stages. */
export function atRiskSql(params: RunParams, d: Dialect = DUCKDB): string {
  const stages = riskStagesOf(params.slaPolicies, Number(params.riskThresholdPct));
  return sqlFile('kpi/models/sla_at_risk_cases.sql', {
    risk_stage: riskStageSql(stages, 'clock_us * 100.0 / resolution_us', `outcome = 'breached'`),
  }, d);
}

/** sla_policy_summary.sql with the policies in file order (the built-in `default` without a file). */
export function policySummarySql(params: RunParams, d: Dialect = DUCKDB): string {
  const policies = params.slaPolicies?.policies ?? [{ name: 'default', calendar: CALENDAR_24X7 }];
  return sqlFile('kpi/models/sla_policy_summary.sql', {
    policy_order: policies.map((p, i) => `(${d.lit(p.name)}, ${d.lit(p.calendar)}, ${i})`).join(', '),
  }, d);
}

export interface DataQualityCounts {
  total_rows: number;
  missing_rows: number;
  duplicate_rows: number;
  invalid_sla_rows: number;
  history_rows: number;
  invalid_history_rows: number;
}

export async function dataQualityCounts(conn: DuckDBConnection): Promise<DataQualityCounts> {
  const [r] = await query<DataQualityCounts>(conn, model('data_quality_score'));
  return r;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const pctOf = (n: number, d: number) => (d > 0 ? round1((n * 100) / d) : null);

/** data_quality_score.csv from the counts (contract 5). */
export function dataQualityScore(asOf: Date, c: DataQualityCounts): DataQualityScore {
  const missing = pctOf(c.missing_rows, c.total_rows);
  const dup = pctOf(c.duplicate_rows, c.total_rows);
  const inv = pctOf(c.invalid_sla_rows, c.total_rows);
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
    history_rows: Number(c.history_rows ?? 0),
    invalid_history_rows: Number(c.invalid_history_rows ?? 0),
  };
}

/**
 * The slice's conditions on case_rows; values are bound parameters. `policyColumn`: whether
 * case_rows names each case's policy (a run with an SLA policy file); without one every case
 * is under the built-in `default` policy.
 */
function filterClause(filter: CaseFilter | undefined, policyColumn = false): { where: string; params: Record<string, string> } {
  const parts: string[] = [];
  const params: Record<string, string> = {};
  if (filter?.priority) { parts.push(`CAST(priority AS VARCHAR) = $f_priority`); params.f_priority = filter.priority; }
  if (filter?.region) { parts.push(`lower(region) = lower($f_region)`); params.f_region = filter.region; }
  if (filter?.team) { parts.push(`lower(team) = lower($f_team)`); params.f_team = filter.team; }
  // case_rows.policy: the applying policy's name, NULL when none covers the case (NO_POLICY).
  if (filter?.policy) {
    parts.push(policyColumn ? `lower(coalesce(policy, 'NO_POLICY')) = lower($f_policy)` : `lower($f_policy) = 'default'`);
    params.f_policy = filter.policy;
  }
  return { where: parts.map((p) => `AND ${p}`).join(' '), params };
}

/**
 * The reports' queries on three connections ("lanes") reading `counted_cases` over `source`;
 * volume anomalies read `createdCases` (CREATED_IN_SOURCE, or a slice of it).
 */
async function runLanes(instance: DuckDBInstance, params: RunParams, source: string, createdCases: string, t: <T>(stage: string, f: () => Promise<T>) => Promise<T>) {
  const lane = async (): Promise<DuckDBConnection> => {
    const conn = await instance.connect();
    try {
      await exec(conn, `SET TimeZone = 'UTC';\n${runParamsSql(params)}`);
      await exec(conn, sqlFile('kpi/staging/counted_cases.sql', { cases: source, policy_columns: policyColumnsSql(params) }));
      return conn;
    } catch (e) {
      conn.closeSync();
      throw e;
    }
  };
  // Every lane settles before the connections close, even when one fails.
  const opened = await Promise.allSettled([lane(), lane(), lane()]);
  const lanes = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  try {
    const [a, b, c] = opened.map(settledValue);
    const trend = (async () => {
      const volume = await t('aggregates', async () => {
        await exec(a, daysSql(params));
        await exec(a, model('daily'));
        return query<VolumeTrendRow & { chain_adjustment: number }>(a, model('volume_trend'));
      });
      const backlogSpike = await t('backlog_spike', () => query<BacklogSpikeRow>(a, model('backlog_spike_summary')));
      const byPriority = await t('backlog_spike', async () => backlogLists(await query<{ priority: Priority; backlog: number }>(a, model('backlog_by_priority'))));
      const volumeAnomaly = await t('volume_anomaly', () => query<VolumeAnomalyRow>(a, volumeAnomalySql(params, createdCases)));
      const complianceByDay = await t('aggregates', () => query<SlaComplianceDayRow>(a, model('sla_compliance_by_day')));
      return { volume, backlogSpike, byPriority, volumeAnomaly, complianceByDay };
    })();
    const summaries = (async () => {
      const slaSummary = await t('aggregates', () => query<SlaSummaryRow>(b, model('sla_summary')));
      const backlogSummary = await t('aggregates', () => query<BacklogSummaryRow>(b, model('backlog_summary')));
      const [facts] = await t('daily_ops', () => query<{ cases_in_window: number; open_backlog: number; at_risk_cases: number; breached_open_cases: number; newest: string | null }>(b, model('daily_ops_summary')));
      const slaPolicySummary = await t('aggregates', () => query<SlaPolicySummaryRow>(b, policySummarySql(params)));
      return { slaSummary, backlogSummary, facts, slaPolicySummary };
    })();
    const risk = t('sla_risk', () => queryJson<AtRiskCase>(c, atRiskSql(params), AT_RISK_ORDER));
    return await Promise.allSettled([trend, summaries, risk]);
  } finally {
    for (const l of lanes) l.closeSync();
  }
}

let slices = 0;

async function hasPolicyColumn(instance: DuckDBInstance): Promise<boolean> {
  const conn = await instance.connect();
  try {
    const [r] = await query<{ n: number }>(conn, `SELECT count(*) AS n FROM duckdb_columns() WHERE table_name = 'case_rows' AND column_name = 'policy'`);
    return r.n > 0;
  } finally {
    conn.closeSync();
  }
}

async function dropTable(instance: DuckDBInstance, table: string): Promise<void> {
  const conn = await instance.connect();
  try {
    await exec(conn, `DROP TABLE IF EXISTS ${table}`);
  } finally {
    conn.closeSync();
  }
}

function settledValue<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

export interface ComputeContext {
  source: string;
  rowsRead: number | null;
  runId: string;
  dq: DataQualityCounts;
  /** The rows are the generated demo data. */
  demo?: boolean;
}

/**
 * Computes every report from `case_rows` (see prepareCases). The reports are independent
 * aggregates, so they run at once on three connections of the engine ("lanes"); each lane
 * has its own temp objects (p, m, days, daily) and a slice its own table, so several
 * computations (slash-command slices) can also run at once.
 */
export async function computeReport(instance: DuckDBInstance, params: RunParams, ctx: ComputeContext, filter?: CaseFilter): Promise<KpiReport> {
  const timings: Record<string, number> = {};
  const t = async <T>(stage: string, f: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    try { return await f(); } finally { timings[stage] = (timings[stage] ?? 0) + performance.now() - s; }
  };
  const f = filterClause(filter, filter?.policy ? await hasPolicyColumn(instance) : false);
  // The cases the reports count: survivors that can be placed in time, open at some time
  // in the window. A slice (slash-command filter) is copied once into its own table, so
  // the reports scan only its rows and the filter runs once, not in every report.
  const counted = countedCasesWhere(params);
  let source = `case_rows WHERE ${counted}`;
  let createdCases = `(SELECT created_day, priority_label FROM case_rows WHERE ${CREATED_IN_SOURCE})`;
  let sliceTable: string | undefined;
  let createdSliceTable: string | undefined;
  let results;
  try {
    if (f.where) {
      sliceTable = `slice_${++slices}`;
      createdSliceTable = `${sliceTable}_created`;
      const conn = await instance.connect();
      try {
        await t('cases', () => exec(conn, `CREATE TABLE ${sliceTable} AS SELECT * FROM case_rows WHERE ${counted} ${f.where}`, f.params));
        await t('cases', () => exec(conn, `CREATE TABLE ${createdSliceTable} AS SELECT created_day, priority_label FROM case_rows WHERE ${CREATED_IN_SOURCE} ${f.where}`, f.params));
      } finally {
        conn.closeSync();
      }
      source = sliceTable;
      createdCases = createdSliceTable;
    }
    results = await runLanes(instance, params, source, createdCases, t);
  } finally {
    if (sliceTable) await dropTable(instance, sliceTable);
    if (createdSliceTable) await dropTable(instance, createdSliceTable);
  }
  const [trend, summaries, atRiskCases] = [settledValue(results[0]), settledValue(results[1]), settledValue(results[2])];
  return assembleReport(params, ctx, { ...trend, ...summaries, atRiskCases }, timings, filter);
}

/** The cases the reports count, as a condition on case_rows (see computeReport). */
export function countedCasesWhere(params: RunParams): string {
  return `in_window AND NOT duplicate AND case_id IS NOT NULL AND created_at IS NOT NULL
    AND (eff_resolved_at IS NULL OR eff_resolved_at >= ${tsLit(windowStartOf(params))})`;
}

/** Every model's rows, as the report is assembled from them. */
export interface ModelResults {
  volume: (VolumeTrendRow & { chain_adjustment: number })[];
  backlogSpike: BacklogSpikeRow[];
  byPriority: Record<string, number[]>;
  volumeAnomaly: VolumeAnomalyRow[];
  complianceByDay: SlaComplianceDayRow[];
  slaSummary: SlaSummaryRow[];
  backlogSummary: BacklogSummaryRow[];
  facts: { cases_in_window: number; open_backlog: number; at_risk_cases: number; breached_open_cases: number; newest: string | null };
  slaPolicySummary: SlaPolicySummaryRow[];
  atRiskCases: AtRiskCase[];
}

/** The typed report from the models' rows (local or warehouse compute), validated. */
export function assembleReport(params: RunParams, ctx: ComputeContext, m: ModelResults, timings: Record<string, number>, filter?: CaseFilter): KpiReport {
  const { volume, backlogSpike, byPriority, volumeAnomaly, complianceByDay, slaSummary, backlogSummary, facts, slaPolicySummary, atRiskCases } = m;
  const windowStart = windowStartOf(params);
  const asOfDate = localDate(params.asOf, params.reportTz);
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
      ...(params.breachHorizonHours !== undefined ? { breachHorizonHours: params.breachHorizonHours } : {}),
      ...(filter && Object.keys(filter).length ? { filter } : {}),
      rowsRead: ctx.rowsRead,
      ...(ctx.demo ? { demo: true } : {}),
      newestCreatedAt: facts.newest,
      backlogChainAdjustment: volume.map((v) => v.chain_adjustment),
    },
    slaSummary,
    backlogSummary,
    volumeTrend: volume.map(({ chain_adjustment: _a, ...v }) => v),
    atRiskCases,
    slaPolicySummary,
    backlogSpike,
    backlogByPriority: byPriority,
    slaComplianceByDay: complianceByDay,
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
    volumeAnomaly: volumeAnomaly.map((r) => ({ ...r, direction: r.direction ?? null })),
    warnings: [],
    timings,
  };
  const s = performance.now();
  report.warnings.push(...validateReport(report));
  timings.validation = performance.now() - s;
  return report;
}
