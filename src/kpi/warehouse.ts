/**
 * Warehouse compute (KPI_COMPUTE=warehouse): the same staging and report models as local
 * compute (prepare.ts, compute.ts), rendered for the warehouse's dialect (db/dialect.ts) and
 * run there, statement by statement, on one session. The staging tables are the session's
 * temporary tables (case_rows, duplicate_rows, run_params, days, daily); only the report
 * rows come back: the aggregates, the at-risk list and the data-quality counts.
 *
 * What differs from local compute, and why:
 * - case_rows gets a `row_key` at its build (Snowflake has no rowid), and the survivor rule
 *   runs as survivors.sql (plain SQL, both engines) instead of the rowid steps and the
 *   re-read of ambiguous ids (DuckDB machinery: a hash bit set in a session variable).
 * - report_tz's offset segments are computed on the local engine (they depend on the run's
 *   parameters only, not on data) and go up as literals, as they do locally.
 * - One statement after the other on one session, where local compute runs three lanes.
 * - The status history's clock_history is a semi-join of the history table on the cases that
 *   may pause, numbered by the dialect's rowKey() (local compute: a hash bit-set filter that
 *   keeps the read order); a warehouse table scan has no read order, so ties on changed_at
 *   have none (docs/snowflake.md).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { KpiReport, RunParams, AtRiskCase, BacklogSpikeRow, BacklogSummaryRow, SlaComplianceDayRow, SlaPolicySummaryRow, SlaSummaryRow, VolumeAnomalyRow, VolumeTrendRow } from '../contract/report';
import type { Dialect } from '../db/dialect';
import { exec, type Row } from '../db/engine';
import { sqlFile } from '../db/sqlFiles';
import {
  assembleReport, atRiskSql, backlogLists, countedCasesWhere, daysSql, model, policyColumnsSql, policySummarySql,
  volumeAnomalySql, type ComputeContext, type DataQualityCounts, type ModelResults,
} from './compute';
import { judgedDaysOf, oldestJudgedDayOf, reportZoneSegments, runLiterals, runParamsSql, windowStartOf } from './prepare';
import { cleanedRowsSql, earliestCreatedSql, type NormaliseOptions } from './staging/clean';
import { historyIdCountsSql, historyReadOf, historyUnknownIdsSql, OUTSIDE_IDS_SQL } from './staging/history';
import { caseRowsSql, CREATED_IN_SOURCE } from './staging/caseRows';
import { localDate } from '../support/cronTime';
import { caseClocksSql, clockBucketRows, clockPolicies, conditionColumns, policyFragments, type BucketRow } from './staging/policyRows';
import { splitStatements } from '../db/dialect';
import { tsLit } from '../db/engine';

/** A warehouse session: statements run in order; query() rows come back with lower-case names and plain JS values. */
export interface WarehouseSession {
  readonly dialect: Dialect;
  exec(sql: string): Promise<void>;
  query<T = Row>(sql: string): Promise<T[]>;
}

export interface WarehouseInput {
  /** The cases as an SQL relation in the warehouse, with contract-named columns. */
  relation: string;
  /** Its columns' types (lower-case names, DuckDB type names: VARCHAR, TIMESTAMP, TIMESTAMP WITH TIME ZONE, DATE...). */
  types: Map<string, string>;
  sourceTz: string;
  params: RunParams;
  /** The status history (SNOWFLAKE_HISTORY_TABLE) as a relation with contract-named columns, and its column types like `types`; undefined: none. */
  history?: { relation: string; types: Map<string, string> };
}

/** case_rows' stored columns, in the order that breaks ties among duplicates (survivors.sql). */
const TIE_COLUMNS = [
  'created_at', 'eff_resolved_at', 'priority_label', 'status', 'assignee', 'region', 'team', 'ghost', 'bad_order', 'due_at', 'outcome',
  'fr_outcome', 'risk_listed', 'created_day', 'resolved_day', 'dq_missing', 'dq_invalid', 'in_window',
];
const POLICY_TIE_COLUMNS = ['policy', 'clock_state'];

/**
 * Computes the report in the warehouse. `local`: the run's DuckDB connection, used only for
 * report_tz's offset segments (no data). `timings` gets one entry per step (ms).
 */
export async function computeInWarehouse(
  w: WarehouseSession, local: DuckDBConnection, input: WarehouseInput, ctx: Omit<ComputeContext, 'dq'>, timings: Record<string, number> = {},
): Promise<KpiReport> {
  const d = w.dialect;
  const { params } = input;
  const step = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try { return await f(); } finally { timings[name] = (timings[name] ?? 0) + performance.now() - t; }
  };
  const local0 = performance.now();
  await exec(local, runParamsSql(params));
  const zone = await reportZoneSegments(local, params);
  const policies = params.slaPolicies ?? null;
  const policy = policies ? policyFragments(policies, d) : undefined;
  const normalise: NormaliseOptions = {
    relation: input.relation, types: input.types, dialect: d, sourceTz: input.sourceTz,
    asOf: params.asOf, windowStart: windowStartOf(params), judgedDays: judgedDaysOf(params),
    ...(policies ? { extraText: conditionColumns(policies) } : {}),
  };
  const cleaned = await cleanedRowsSql(null, normalise);
  const caseRows = withRowKey(caseRowsSql(cleaned.sql, zone, runLiterals(params), false, 'case_rows', policy, d), d);
  const tieOrder = [...TIE_COLUMNS, ...(policies ? POLICY_TIE_COLUMNS : [])].map((c) => `${c} DESC NULLS LAST`).join(', ');
  timings.local = performance.now() - local0;

  await step('warehouse.case_rows', async () => {
    await w.exec(d.sessionTimeZone('UTC'));
    await w.exec(runParamsSql(params, d));
    // Naive source timestamps are read in the source time zone (cleaned_rows.sql).
    await w.exec(d.sessionTimeZone(input.sourceTz));
    await w.exec(caseRows);
    await w.exec(d.sessionTimeZone('UTC'));
  });
  await step('warehouse.duplicates', async () => {
    await w.exec(sqlFile('kpi/staging/survivors.sql', { tie_order: tieOrder }, d));
    await w.exec(sqlFile('kpi/staging/mark_survivors.sql', {}, d));
  });
  // The first day with data of volume anomalies, as prepare.ts stages it locally: from
  // case_rows, and from the source table only when case_rows cannot tell.
  await step('warehouse.first_created_day', async () => {
    await w.exec(`CREATE OR REPLACE TEMPORARY TABLE first_created_day AS SELECT min(created_day) AS day FROM case_rows WHERE ${CREATED_IN_SOURCE}`);
    const [{ day }] = await w.query<{ day: string | null }>(d.render("SELECT @strftime(day, '%Y-%m-%d') AS day FROM first_created_day"));
    if (day === null || day > oldestJudgedDayOf(params)) {
      await w.exec(d.sessionTimeZone(input.sourceTz));
      const [{ earliest }] = await w.query<{ earliest: string | null }>(await earliestCreatedSql(null, normalise));
      await w.exec(d.sessionTimeZone('UTC'));
      if (earliest) await w.exec(`UPDATE first_created_day SET day = DATE '${localDate(new Date(earliest), params.reportTz)}'`);
    }
  });
  // The status history's counts (history.ts's steps, rendered for the warehouse); the
  // clocks read the history table again for the changes of the cases that may pause.
  const history = input.history ? historyReadOf(input.history.relation, input.history.types, { sourceTz: input.sourceTz }, d) : undefined;
  await step('warehouse.history', async () => {
    if (!history) {
      await w.exec('CREATE OR REPLACE TEMPORARY TABLE history_counts AS SELECT 0::BIGINT AS history_rows, 0::BIGINT AS invalid_history_rows');
      return;
    }
    await w.exec(d.sessionTimeZone(input.sourceTz));
    await w.exec(historyIdCountsSql(history, params.asOf, d));
    await w.exec(d.sessionTimeZone('UTC'));
    const [{ n }] = await w.query<{ n: number }>(OUTSIDE_IDS_SQL);
    await w.exec(historyUnknownIdsSql(input.relation, Number(n), d));
    await w.exec(sqlFile('kpi/staging/history_counts.sql', {}, d));
    await w.exec('DROP TABLE history_unknown_ids');
    await w.exec('DROP TABLE history_id_counts');
  });
  if (policies && clockPolicies(policies).length) {
    await step('warehouse.clocks', async () => {
      const [{ oldest }] = await w.query<{ oldest: string | null }>('SELECT min(created_at) AS oldest FROM case_rows WHERE NOT duplicate');
      const t = performance.now();
      const { rows, bucketMs } = clockBucketRows(policies, oldest ? Date.parse(oldest) : params.asOf.getTime(), params.asOf.getTime());
      const sql = caseClocksSql(policies, { asOfSql: tsLit(params.asOf), riskThresholdPct: runLiterals(params).riskThresholdPct, history }, bucketMs, d);
      timings.local += performance.now() - t;
      await uploadBuckets(w, rows);
      for (const stmt of splitStatements(sql)) {
        // clock_history parses the history's timestamps: naive text in the source time zone.
        if (history && /^CREATE OR REPLACE TEMPORARY TABLE clock_history AS/m.test(stmt)) {
          await w.exec(d.sessionTimeZone(input.sourceTz));
          await w.exec(stmt);
          await w.exec(d.sessionTimeZone('UTC'));
        } else await w.exec(stmt);
      }
    });
  }
  const [dq] = await step('warehouse.data_quality', () => w.query<DataQualityCounts>(model('data_quality_score', d)));
  const m = await step('warehouse.reports', async (): Promise<ModelResults> => {
    await w.exec(sqlFile('kpi/staging/counted_cases.sql', { cases: `case_rows WHERE ${countedCasesWhere(params)}`, policy_columns: policyColumnsSql(params, d) }, d));
    await w.exec(daysSql(params, d));
    await w.exec(model('daily', d));
    const volume = await w.query<VolumeTrendRow & { chain_adjustment: number }>(model('volume_trend', d));
    const backlogSpike = await w.query<BacklogSpikeRow>(model('backlog_spike_summary', d));
    const byPriority = backlogLists(await w.query<{ priority: string; backlog: number }>(model('backlog_by_priority', d)));
    const createdCases = `(SELECT created_day, priority_label FROM case_rows WHERE ${CREATED_IN_SOURCE})`;
    const volumeAnomaly = await w.query<VolumeAnomalyRow>(volumeAnomalySql(params, createdCases, d));
    const complianceByDay = await w.query<SlaComplianceDayRow>(model('sla_compliance_by_day', d));
    const slaSummary = await w.query<SlaSummaryRow>(model('sla_summary', d));
    const backlogSummary = await w.query<BacklogSummaryRow>(model('backlog_summary', d));
    const [facts] = await w.query<ModelResults['facts']>(model('daily_ops_summary', d));
    const slaPolicySummary = await w.query<SlaPolicySummaryRow>(policySummarySql(params, d));
    const atRiskCases = await w.query<AtRiskCase>(atRiskSql(params, d));
    return { volume, backlogSpike, byPriority, volumeAnomaly, complianceByDay, slaSummary, backlogSummary, facts, slaPolicySummary, atRiskCases };
  });
  const t = performance.now();
  const report = assembleReport(params, { ...ctx, dq }, m, {});
  timings.local += performance.now() - t;
  report.timings = { ...timings };
  return report;
}

/** Rows per INSERT of clock_buckets: statements stay well under Snowflake's size limit. */
const BUCKET_ROWS_PER_INSERT = 2000;

/**
 * The calendar's business-time buckets (clockBucketRows) as the session's temporary table
 * clock_buckets (case_clocks.sql joins on it): a small table, sent as INSERT ... VALUES.
 */
async function uploadBuckets(w: WarehouseSession, rows: BucketRow[]): Promise<void> {
  await w.exec(`CREATE OR REPLACE TEMPORARY TABLE clock_buckets (
  calendar VARCHAR NOT NULL, bucket BIGINT NOT NULL, bucket_us BIGINT NOT NULL, start_us BIGINT NOT NULL,
  cum_us BIGINT NOT NULL, a1 BIGINT NOT NULL, b1 BIGINT NOT NULL, a2 BIGINT NOT NULL, b2 BIGINT NOT NULL)`);
  for (let i = 0; i < rows.length; i += BUCKET_ROWS_PER_INSERT) {
    const values = rows.slice(i, i + BUCKET_ROWS_PER_INSERT).map((r) => {
      const [p1, p2] = [r.pieces[0] ?? [0, 0], r.pieces[1] ?? [0, 0]];
      return `(${w.dialect.lit(r.calendar)}, ${r.bucket}, ${r.bucketUs}, ${r.startUs}, ${Math.round(r.cumUs)}, ${p1[0]}, ${p1[1]}, ${p2[0]}, ${p2[1]})`;
    });
    await w.exec(`INSERT INTO clock_buckets (calendar, bucket, bucket_us, start_us, cum_us, a1, b1, a2, b2) VALUES ${values.join(', ')}`);
  }
}

/**
 * case_rows.sql's `CREATE TABLE case_rows AS <query>` as a temporary table of the session,
 * each row with a row_key (survivors.sql).
 */
export function withRowKey(createTable: string, d: Dialect): string {
  const head = /^CREATE TABLE case_rows AS\n/m.exec(createTable);
  if (!head) throw new Error('case_rows.sql: expected "CREATE TABLE case_rows AS" on a line of its own');
  const query = createTable.slice(head.index + head[0].length);
  return `CREATE OR REPLACE TEMPORARY TABLE case_rows AS\nSELECT ${d.rowKey()} AS row_key, built.* FROM (\n${query}\n) AS built`;
}
