/**
 * The KPI core: from a source relation to `case_rows` (cleaned rows with their per-case
 * KPIs, prepareCases) and from there to one typed KpiReport (computeReport), on a DuckDB
 * engine. Pure with respect to the outside world: no files, no
 * Slack, no clock (as_of is a parameter).
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { exec, isoSeconds, lit, query, queryJson } from '../db/engine';
import { cleanedRowsSql, DATA_QUALITY_SQL, ENUM_TYPES_SQL } from './staging/clean';
import { AMBIGUOUS_BITS_SQL, AMBIGUOUS_IDS_SQL, CASE_VIEW_COLUMNS, caseRowsSql, duplicateIdsSql, markDuplicatesSql, maybeAmbiguous, REREAD_SQL, TIED_DUPLICATES_SQL, tzOffsetsSql, zoneSegmentsSql, type ZoneSegment } from './staging/caseRows';
import { daysSql, dailyByPrioritySql, volumeTrendSql } from './models/days';
import { slaSummarySql } from './models/slaSummary';
import { backlogSummarySql } from './models/backlogSummary';
import { AT_RISK_ORDER, atRiskCasesSql } from './models/atRiskCases';
import { backlogSpikeSql } from './models/backlogSpike';
import { PRIORITIES, type AtRiskCase, type BacklogSpikeRow, type Priority, type BacklogSummaryRow, type CaseFilter, type DataQualityScore, type KpiReport, type RunParams, type SlaSummaryRow, type VolumeTrendRow } from '../contract/report';
import { validateReport } from './validate';
import { tsLit } from '../db/engine';

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
  if (tz === 'UTC') return d.toISOString().slice(0, 10);
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

/** The slice's conditions on case_rows; values are bound parameters. */
function filterClause(filter: CaseFilter | undefined): { where: string; params: Record<string, string> } {
  const parts: string[] = [];
  const params: Record<string, string> = {};
  if (filter?.priority) { parts.push(`CAST(priority AS VARCHAR) = $f_priority`); params.f_priority = filter.priority; }
  if (filter?.region) { parts.push(`lower(region) = lower($f_region)`); params.f_region = filter.region; }
  if (filter?.team) { parts.push(`lower(team) = lower($f_team)`); params.f_team = filter.team; }
  return { where: parts.map((p) => `AND ${p}`).join(' '), params };
}

/** The reports' queries on three connections ("lanes") reading `m` over `source`. */
async function runLanes(instance: DuckDBInstance, params: RunParams, source: string, t: <T>(stage: string, f: () => Promise<T>) => Promise<T>) {
  const lane = async (): Promise<DuckDBConnection> => {
    const conn = await instance.connect();
    try {
      await exec(conn, `SET TimeZone = 'UTC';${paramsTableSql(params)}`);
      await exec(conn, `CREATE OR REPLACE TEMP VIEW m AS SELECT *, ${CASE_VIEW_COLUMNS} FROM ${source}`);
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
        await exec(a, daysSql);
        await exec(a, dailyByPrioritySql);
        return query<VolumeTrendRow & { chain_adjustment: number }>(a, volumeTrendSql);
      });
      const backlogSpike = await t('backlog_spike', () => query<BacklogSpikeRow>(a, backlogSpikeSql));
      const byPriority = await t('backlog_spike', () => query<{ priority: Priority; backlog: number[] }>(a,
        `SELECT priority_label AS priority, list(backlog_end_of_day ORDER BY day) AS backlog FROM daily WHERE priority_label <> 'UNKNOWN' GROUP BY 1 ORDER BY 1`));
      return { volume, backlogSpike, byPriority };
    })();
    const summaries = (async () => {
      const slaSummary = await t('aggregates', () => query<SlaSummaryRow>(b, slaSummarySql));
      const backlogSummary = await t('aggregates', () => query<BacklogSummaryRow>(b, backlogSummarySql));
      const [facts] = await t('daily_ops', () => query<{ cases_in_window: number; open_backlog: number; at_risk_cases: number; breached_open_cases: number; newest: string | null }>(b, `
        SELECT count(*) AS cases_in_window,
          coalesce(count_if(is_open), 0) AS open_backlog,
          coalesce(count_if(at_risk), 0) AS at_risk_cases,
          coalesce(count_if(is_open AND outcome = 'breached'), 0) AS breached_open_cases,
          max(created_at) AS newest
        FROM m`));
      return { slaSummary, backlogSummary, facts };
    })();
    const risk = t('sla_risk', () => queryJson<AtRiskCase>(c, atRiskCasesSql, AT_RISK_ORDER));
    return await Promise.allSettled([trend, summaries, risk]);
  } finally {
    for (const l of lanes) l.closeSync();
  }
}

let slices = 0;

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

/** The run's parameters as the one-row temp table `p` that the models read. */
function paramsTableSql(params: RunParams): string {
  return `
    CREATE OR REPLACE TEMP TABLE p AS SELECT
      ${tsLit(params.asOf)} AS as_of, ${tsLit(windowStartOf(params))} AS window_start,
      DATE '${localDate(params.asOf, params.reportTz)}' AS as_of_date, ${params.windowDays}::INTEGER AS window_days,
      ${lit(params.reportTz)} AS report_tz, ${Number(params.riskThresholdPct)}::DOUBLE AS risk_threshold_pct,
      ${Number(params.spikeThresholdPct)}::DOUBLE AS spike_threshold_pct, ${params.spikeBaselineDays}::INTEGER AS spike_baseline_days`;
}

export interface PrepareOptions {
  /** The source relation (contract-named columns). */
  relation: string;
  sourceTz: string;
  timestampFormat?: string;
  params: RunParams;
  /** Keep region and team on every row (slash-command filters); default: only where shown. */
  keepText?: boolean;
}

/**
 * Clean the source and compute the per-case KPIs in one pass into `case_rows`, then apply
 * the survivor rule for duplicates. Every report is an aggregate over this table.
 */
export async function prepareCases(conn: DuckDBConnection, o: PrepareOptions, timings: Record<string, number> = {}): Promise<void> {
  const step = async (name: string, sql: string) => {
    const t = performance.now();
    await exec(conn, sql);
    timings[name] = (timings[name] ?? 0) + performance.now() - t;
  };
  const { params } = o;
  await exec(conn, `${ENUM_TYPES_SQL}\n${paramsTableSql(params)}`);
  let zone: ZoneSegment[] | null = null;
  if (params.reportTz !== 'UTC') {
    await exec(conn, tzOffsetsSql);
    zone = (await query<{ start: string; offset_us: number }>(conn, zoneSegmentsSql))
      .map((z) => ({ start: `TIMESTAMP '${z.start}'`, offsetUs: Number(z.offset_us) }));
  }
  const normaliseOptions = {
    relation: o.relation, sourceTz: o.sourceTz, timestampFormat: o.timestampFormat, asOf: params.asOf, windowStart: windowStartOf(params),
  };
  const cleaned = await cleanedRowsSql(conn, normaliseOptions);
  const targets = Object.fromEntries(PRIORITIES.map((p) => {
    const tg = params.targets[p];
    return [p, [Math.round(tg.resolutionHours * 3.6e9), Math.round(tg.responseHours * 3.6e9)]];
  })) as Record<string, [number, number]>;
  const literals = { asOf: tsLit(params.asOf), riskThresholdPct: Number(params.riskThresholdPct), targets };
  // The session time zone is the source time zone while the source is read: casts of
  // naive values to TIMESTAMPTZ read them in that zone (see normalise.ts). Text timestamps
  // are parsed once each with filter pushdown off (see cleanedRowsSql): at 1M CSV rows,
  // case_rows took 1185 ms against 1260 ms (medians of 6, interleaved).
  // case_rows is built without keeping the read order: DuckDB then writes each thread's
  // rows as they come instead of merging them back into read order (at 1M rows, 942
  // against 1111 ms from CSV, 377 against 521 ms from DuckDB; medians of 9 and 7,
  // interleaved). The read order only decides between duplicates that differ and share
  // their latest updated_at: the rows of such ids are read again, in order (see
  // duplicateIdsSql).
  const build = async (name: string, sql: string, ordered: boolean) => {
    const settings = [`SET TimeZone = ${lit(o.sourceTz)}`];
    if (cleaned.textTimestamps) settings.push(`SET disabled_optimizers = 'filter_pushdown'`);
    if (!ordered) settings.push('SET preserve_insertion_order = false');
    await exec(conn, settings.join('; '));
    try {
      await step(name, sql);
    } finally {
      await exec(conn, `SET TimeZone = 'UTC'; RESET disabled_optimizers; RESET preserve_insertion_order`);
    }
  };
  const count = async (sql: string) => {
    const t = performance.now();
    const [{ n }] = await query<{ n: number | null }>(conn, sql);
    timings.duplicates += performance.now() - t;
    return n ?? 0;
  };
  await build('case_rows', `DROP TABLE IF EXISTS case_rows; ${caseRowsSql(cleaned.sql, zone, literals, o.keepText ?? false)}`, false);
  await step('duplicates', duplicateIdsSql);
  if (await count(TIED_DUPLICATES_SQL) > 0) {
    await step('duplicates', AMBIGUOUS_IDS_SQL);
    if (await count('SELECT count(*) AS n FROM ambiguous_ids') > 0) {
      const reread = await cleanedRowsSql(conn, { ...normaliseOptions, caseIdFilter: maybeAmbiguous });
      await step('case_rows_reread', AMBIGUOUS_BITS_SQL);
      await build('case_rows_reread', `DROP TABLE IF EXISTS reread_rows; ${caseRowsSql(reread.sql, zone, literals, o.keepText ?? false, 'reread_rows')}`, true);
      await step('case_rows_reread', REREAD_SQL);
      await step('duplicates', duplicateIdsSql);
    }
  }
  await step('duplicates', markDuplicatesSql);
}

export interface ComputeContext {
  source: string;
  rowsRead: number | null;
  runId: string;
  dq: DataQualityCounts;
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
  const windowStart = windowStartOf(params);
  const asOfDate = localDate(params.asOf, params.reportTz);
  const f = filterClause(filter);
  // The cases the reports count: survivors that can be placed in time, open at some time
  // in the window. A slice (slash-command filter) is copied once into its own table, so
  // the reports scan only its rows and the filter runs once, not in every report.
  const counted = `NOT duplicate AND case_id IS NOT NULL AND created_at IS NOT NULL
    AND (eff_resolved_at IS NULL OR eff_resolved_at >= ${tsLit(windowStart)})`;
  let source = `case_rows WHERE ${counted}`;
  let sliceTable: string | undefined;
  let results;
  try {
    if (f.where) {
      sliceTable = `slice_${++slices}`;
      const conn = await instance.connect();
      try {
        await t('cases', () => exec(conn, `CREATE TABLE ${sliceTable} AS SELECT * FROM case_rows WHERE ${counted} ${f.where}`, f.params));
      } finally {
        conn.closeSync();
      }
      source = sliceTable;
    }
    results = await runLanes(instance, params, source, t);
  } finally {
    if (sliceTable) await dropTable(instance, sliceTable);
  }
  const [{ volume, backlogSpike, byPriority }, { slaSummary, backlogSummary, facts }, atRiskCases] = [
    settledValue(results[0]), settledValue(results[1]), settledValue(results[2])];
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
