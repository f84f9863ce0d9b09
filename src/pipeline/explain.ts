/**
 * `kpi explain CASE_ID` and `/kpi explain`: one case read from the configured source (the
 * same CaseSource a run uses, into a fresh in-memory DuckDB engine), cleaned by the run's
 * own cleaning SQL (contract 1 to 3, the survivor rule for duplicates), with its status
 * history, and explained by the reference clock (kpi/explain.ts).
 *
 * Only the case's rows are cleaned: the source's rows are filtered to the case id before
 * anything is parsed.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Settings } from '../config/settings';
import { defaultSlaPolicySet, loadSlaPolicyFile } from '../config/slaPolicyFile';
import type { Priority, SlaPolicySet } from '../contract/slaPolicy';
import { exec, ident, lit, openMemoryEngine, query } from '../db/engine';
import { sqlFile } from '../db/sqlFiles';
import { explainCase, type CaseExplanation, type ExplainHistoryRow } from '../kpi/explain';
import { cleanedRowsSql, describeRelation } from '../kpi/staging/clean';
import { windowStartOf } from '../kpi/prepare';
import { createSource } from '../sources';
import type { CaseSource } from '../sources/types';
import { silentLogger, type Logger } from '../support/log';
import { resolveAsOf, runParams } from './run';

/** The case is not among the source's rows in the run's scope. The CLI exits 1 on it. */
export class CaseNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaseNotFoundError';
  }
}

export interface ExplainRequest {
  settings: Settings;
  caseId: string;
  /** Default: as a run would (settings.KPI_AS_OF, else now). */
  asOf?: Date;
  /** The policy set; default: policyFile, else the built-in default policy from the run's targets. */
  policySet?: SlaPolicySet;
  /** An SLA policy file to load (`--policy-file`); default: policyFileSetting(settings). */
  policyFile?: string | null;
  /** Status history CSV (`--history`); default: historyCsvSetting(settings). */
  historyCsv?: string | null;
  /** Default: createSource(settings). */
  source?: CaseSource;
  log?: Logger;
}

/** The policy file the settings name (KPI_SLA_POLICY_FILE), when the settings carry it. */
export function policyFileSetting(settings: Settings): string | null {
  return (settings as unknown as { KPI_SLA_POLICY_FILE?: string }).KPI_SLA_POLICY_FILE || null;
}

/** The status-history CSV the settings name (KPI_HISTORY_CSV), when the settings carry it. */
export function historyCsvSetting(settings: Settings): string | null {
  return (settings as unknown as { KPI_HISTORY_CSV?: string }).KPI_HISTORY_CSV || null;
}

/**
 * The policy set a run with these settings uses: `policyFile` when named, else the set the
 * settings carry (slaPolicies, loaded from KPI_SLA_POLICY_FILE when the settings load it),
 * else `default` (contract 6).
 */
export function policySetFor(settings: Settings, policyFile: string | null): SlaPolicySet {
  if (policyFile) return loadSlaPolicyFile(policyFile);
  const loaded = (settings as unknown as { slaPolicies?: SlaPolicySet | null }).slaPolicies;
  if (loaded) return loaded;
  const targets = Object.fromEntries(Object.entries(settings.slaTargets).map(([p, t]) => [p, { firstResponseHours: t.responseHours, resolutionHours: t.resolutionHours }]));
  return defaultSlaPolicySet(targets, settings.KPI_RISK_THRESHOLD_PCT);
}

/** A case's rows are read again at most this often: more rows with one id is a broken source, not a case. */
const MAX_ROWS_PER_CASE = 1000;

interface CleanedCaseRow {
  case_id: string | null;
  status_raw: string | null;
  region_raw: string | null;
  team_raw: string | null;
  created_ms: number | null;
  resolved_ms: number | null;
  first_response_ms: number | null;
  updated_ms: number | null;
  priority: Priority | null;
  status_family: string | null;
}

const trimmed = (s: string | null | undefined) => (s == null || s.trim() === '' ? null : s.trim());

/**
 * The survivor row of the case (contract 3: latest updated_at, a missing one lowest; among
 * equals the one read last) among its rows in the run's scope, with the raw text of the
 * columns the cleaning does not keep (channel, customer_tier, priority as written).
 */
async function survivorRow(conn: DuckDBConnection, relation: string, caseId: string, settings: Settings, asOf: Date) {
  const types = await describeRelation(conn, relation);
  if (!types.has('case_id')) throw new CaseNotFoundError(`the source has no case_id column`);
  const col = (c: string) => ident([...types.keys()].find((k) => k === c)!);
  // The source's rows of this id, in read order (rowid of the copy).
  await exec(conn, `CREATE OR REPLACE TEMP TABLE explain_raw AS SELECT * FROM ${relation}
    WHERE trim(CAST(${col('case_id')} AS VARCHAR)) = $id LIMIT ${MAX_ROWS_PER_CASE}`, { id: caseId });
  const raw = await query<{ k: number }>(conn, 'SELECT rowid AS k FROM explain_raw ORDER BY rowid');
  if (!raw.length) return { raw: 0, row: null };
  const text = (c: string) => (types.has(c) ? `CAST(${col(c)} AS VARCHAR)` : 'CAST(NULL AS VARCHAR)');
  const params = runParams(settings, asOf);
  const windowStart = windowStartOf(params);
  let best: { row: CleanedCaseRow; k: number; extra: Record<string, string | null> } | null = null;
  for (const { k } of raw) {
    await exec(conn, `CREATE OR REPLACE TEMP VIEW explain_row AS SELECT * FROM explain_raw WHERE rowid = ${k}`);
    // Only the run's scope: no volume-anomaly baseline rows (no judged days, the baseline from the window start).
    const cleaned = await cleanedRowsSql(conn, { relation: 'explain_row', sourceTz: settings.KPI_SOURCE_TZ, timestampFormat: settings.KPI_TIMESTAMP_FORMAT, asOf, windowStart, judgedDays: [] });
    // Naive values are read in the source time zone while the cleaning runs (as in prepare.ts).
    await exec(conn, `SET TimeZone = ${lit(settings.KPI_SOURCE_TZ)}`);
    let rows: CleanedCaseRow[];
    try {
      rows = await query<CleanedCaseRow>(conn, `SELECT case_id, status_raw, region_raw, team_raw,
          CAST(epoch_ms(created_at) AS DOUBLE) AS created_ms, CAST(epoch_ms(resolved_at) AS DOUBLE) AS resolved_ms,
          CAST(epoch_ms(first_response_at) AS DOUBLE) AS first_response_ms, CAST(epoch_ms(updated_at) AS DOUBLE) AS updated_ms,
          CAST(priority AS VARCHAR) AS priority, CAST(status_family AS VARCHAR) AS status_family
        FROM (${cleaned.sql}) c WHERE in_window`);
    } finally {
      await exec(conn, `SET TimeZone = 'UTC'`);
    }
    const row = rows[0];
    if (!row || row.case_id == null) continue;
    const version = row.updated_ms ?? -Infinity;
    if (!best || version >= (best.row.updated_ms ?? -Infinity)) {
      const [extra] = await query<Record<string, string | null>>(conn,
        `SELECT ${text('channel')} AS channel, ${text('customer_tier')} AS customer_tier, ${text('priority')} AS priority FROM explain_row`);
      best = { row, k, extra };
    }
  }
  return { raw: raw.length, row: best };
}

/**
 * The case's status changes (contract 6.3) from a relation with columns case_id, status,
 * changed_at (text or timestamps; naive times in the source time zone), in read order;
 * rows without a parseable changed_at are left out. `what` names the input in errors.
 */
async function caseHistory(conn: DuckDBConnection, relation: string, caseId: string, sourceTz: string, what: string): Promise<ExplainHistoryRow[]> {
  await exec(conn, `SET TimeZone = ${lit(sourceTz)}`);
  try {
    const rows = await query<{ status: string | null; changed_ms: number | null }>(conn, `
      WITH history_rows AS (SELECT *, row_number() OVER () AS read_order FROM (SELECT * FROM ${relation}) h)
      SELECT trim(CAST(status AS VARCHAR)) AS status,
        CAST(epoch_ms(make_timestamp(epoch_us(try_cast(CAST(changed_at AS VARCHAR) AS TIMESTAMPTZ)))) AS DOUBLE) AS changed_ms
      FROM history_rows WHERE trim(CAST(case_id AS VARCHAR)) = $id ORDER BY read_order`, { id: caseId });
    return rows.filter((r) => r.changed_ms != null && r.status != null).map((r) => ({ status: r.status!, changedAtMs: r.changed_ms! }));
  } catch (e) {
    throw new Error(`status history ${what}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    await exec(conn, `SET TimeZone = 'UTC'`);
  }
}

/**
 * Explains one case at as_of: reads the source, cleans the case's rows, picks the survivor,
 * reads its status history and runs the reference clock. Throws CaseNotFoundError when the
 * case is not among the run's cases.
 */
export async function explainFromSource(req: ExplainRequest): Promise<CaseExplanation> {
  const { settings } = req;
  const caseId = req.caseId.trim();
  const asOf = resolveAsOf(settings, req.asOf);
  const set = req.policySet ?? policySetFor(settings, req.policyFile !== undefined ? req.policyFile : policyFileSetting(settings));
  const historyCsv = req.historyCsv !== undefined ? req.historyCsv : historyCsvSetting(settings);
  const source = req.source ?? createSource(settings);
  const log = req.log ?? silentLogger();
  const params = runParams(settings, asOf);
  const engine = await openMemoryEngine({ memoryLimit: settings.KPI_MEMORY_LIMIT });
  try {
    const loaded = await source.load({ conn: engine.conn, settings, scope: { asOf, windowStart: windowStartOf(params) }, log });
    let found;
    let history: ExplainHistoryRow[] = [];
    try {
      await exec(engine.conn, sqlFile('kpi/staging/vocabulary_types.sql'));
      found = await survivorRow(engine.conn, loaded.relation, caseId, settings, asOf);
      // The history: the file given, else the one the source delivers with the cases.
      const sourceHistory = (loaded as { historyRelation?: string }).historyRelation;
      if (found.row && historyCsv) {
        history = await caseHistory(engine.conn, `read_csv(${lit(historyCsv)}, header = true, all_varchar = true)`, caseId, settings.KPI_SOURCE_TZ, historyCsv);
      } else if (found.row && sourceHistory) {
        history = await caseHistory(engine.conn, sourceHistory, caseId, settings.KPI_SOURCE_TZ, source.describe());
      }
    } finally {
      await loaded.close();
    }
    if (!found.raw) throw new CaseNotFoundError(`case "${caseId}" is not in ${source.describe()}`);
    const best = found.row;
    if (!best) {
      throw new CaseNotFoundError(`case "${caseId}" is not among the cases at ${asOf.toISOString()}: created after as_of, or resolved before the window start (${params.windowDays} days back)`);
    }
    const r = best.row;
    if (r.created_ms == null) throw new CaseNotFoundError(`case "${caseId}" has no parseable created_at: it cannot be placed in time, so no clock runs`);
    return explainCase({
      caseId: r.case_id!,
      priority: r.priority,
      priorityRaw: trimmed(best.extra.priority),
      status: trimmed(r.status_raw),
      region: trimmed(r.region_raw),
      channel: trimmed(best.extra.channel),
      team: trimmed(r.team_raw),
      customerTier: trimmed(best.extra.customer_tier),
      createdAtMs: r.created_ms,
      resolvedAtMs: r.resolved_ms,
      firstResponseAtMs: r.first_response_ms,
      closedWithoutResolvedAt: r.resolved_ms == null && r.status_family === 'closed',
    }, history, set, { asOfMs: asOf.getTime(), riskThresholdPct: settings.KPI_RISK_THRESHOLD_PCT });
  } finally {
    engine.close();
  }
}
