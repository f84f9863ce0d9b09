/**
 * Snowflake source: reads the case table through the official driver (snowflake-sdk) and
 * streams the rows of the run's window into the run's in-memory DuckDB.
 *
 * What a load does, on one Snowflake session:
 * 1. Logs in (key pair by default; credentials.ts), bounded by SNOWFLAKE_CONNECT_TIMEOUT_MS.
 * 2. Sets the session to UTC, with a server-side statement timeout (extract.ts).
 * 3. Probes the columns (`SELECT * ... LIMIT 0`) to map KPI_COLUMN_MAP names and plan how
 *    each column travels and lands (typePlan.ts).
 * 4. Runs ONE parameterised extraction query for the window (extract.ts) and streams its
 *    rows into a raw DuckDB table (stream.ts).
 * 5. Makes them visible as a view that converts epochs to TIMESTAMPTZ (typePlan.ts).
 *
 * SNOWFLAKE_QUERY_TIMEOUT_MS bounds steps 2-5 together. SNOWFLAKE_RETRIES caps retries
 * once, wherever a failure happens: signing in (the driver does not retry it) is retried by
 * retrying the whole load, on network failures, HTTP 5xx/429 and connect timeouts; every
 * request after that (statements, result chunks) is retried by the driver itself, capped
 * (driverPatch.ts), so a failure there ends the load. Never retried: authentication,
 * permission or SQL errors, a query timeout (errors.ts). A failed load drops what it
 * created in DuckDB and closes the Snowflake session.
 *
 * Files: options.ts (driver loading, settings -> connection options), driverPatch.ts
 * (retry caps inside the driver), credentials.ts, identifiers.ts, typePlan.ts, extract.ts,
 * stream.ts, session.ts (connect/execute/close as promises), errors.ts.
 */
import type { Settings } from '../../config/settings';
import { registerSecrets } from '../../support/log';
import { exec, ident, query } from '../../db/engine';
import { SourceError, type CaseSource, type LoadedSource, type SourceContext } from '../types';
import { chooseAuthenticator, type Authenticator } from './credentials';
import { classify, DeadlineError, errorMessage } from './errors';
import { deltaSql, extractionSql, probeSql, sessionSql } from './extract';
import { fullLoadReason, mergeDelta, readMeta, REPLICA, signatureOf, statePath, withState, writeReplica, type ReplicaMeta } from './replica';
import { qualifiedTable, quoteSettingIdentifier } from './identifiers';
import { createConnection } from './options';
import { connect, disconnect, run, sleep, withDeadline } from './session';
import { streamInto, type Activity } from './stream';
import { planColumns, rawTableColumns, viewSelect, type Plan } from './typePlan';
import { historyExtractionSql, planHistory } from './history';

export { quoteSettingIdentifier } from './identifiers';

export class SnowflakeSource implements CaseSource {
  readonly kind = 'snowflake' as const;
  private readonly authenticator: Authenticator;
  private readonly table: string;
  /** SNOWFLAKE_HISTORY_TABLE, qualified and quoted; undefined: no status history. */
  private readonly historyTable?: string;
  /** A configuration problem found up front; reported by load() (describe() keeps working). */
  private readonly configError?: SourceError;

  constructor(private readonly settings: Settings) {
    registerSecrets([settings.SNOWFLAKE_PASSWORD, settings.SNOWFLAKE_TOKEN, settings.SNOWFLAKE_PRIVATE_KEY, settings.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE]);
    let authenticator: Authenticator = 'SNOWFLAKE_JWT';
    let table = String(settings.SNOWFLAKE_TABLE);
    try {
      if (!settings.SNOWFLAKE_ACCOUNT) throw new SourceError('Snowflake configuration: SNOWFLAKE_ACCOUNT is not set (e.g. myorg-myaccount)');
      table = qualifiedTable(settings);
      if (settings.SNOWFLAKE_HISTORY_TABLE) this.historyTable = qualifiedTable(settings, 'SNOWFLAKE_HISTORY_TABLE');
      for (const key of ['SNOWFLAKE_WAREHOUSE', 'SNOWFLAKE_ROLE'] as const) {
        const v = settings[key];
        if (v) quoteSettingIdentifier(v, key);
      }
      authenticator = chooseAuthenticator(settings);
    } catch (err) {
      this.configError = err instanceof SourceError ? err : new SourceError(`Snowflake configuration: ${errorMessage(err)}`);
    }
    this.authenticator = authenticator;
    this.table = table;
  }

  describe(): string {
    const s = this.settings;
    return `snowflake account=${s.SNOWFLAKE_ACCOUNT ?? '-'} user=${s.SNOWFLAKE_USER ?? '-'} table=${this.table} auth=${this.authenticator}` +
      (s.SNOWFLAKE_WAREHOUSE ? ` warehouse=${s.SNOWFLAKE_WAREHOUSE}` : '') + (s.SNOWFLAKE_ROLE ? ` role=${s.SNOWFLAKE_ROLE}` : '');
  }

  async load(ctx: SourceContext): Promise<LoadedSource> {
    if (this.configError) throw this.configError;
    const retries = this.settings.SNOWFLAKE_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const progress = { signedIn: false };
      try {
        return await this.attempt(ctx, progress);
      } catch (err) {
        const failure = classify(err, this.settings, this.authenticator, this.table);
        // After signing in, the driver has already retried the failed request.
        if (!failure.transient || progress.signedIn || attempt >= retries) throw failure.error;
        const waitMs = Math.min(8000, 500 * 2 ** attempt);
        ctx.log.warn({ stage: 'source', source: 'snowflake', attempt: attempt + 1, retries, waitMs }, `Snowflake load failed, retrying: ${failure.error.message}`);
        await sleep(waitMs);
      }
    }
  }

  /** KPI_INCREMENTAL: a delta load when the replica allows it, else a full load (with a warning when something changed). */
  private chooseMode(meta: ReplicaMeta | undefined, signature: string, plan: Plan[], ctx: SourceContext): LoadMode {
    const reason = fullLoadReason(meta, signature, ctx.scope.windowStart, plan, this.settings.KPI_FULL_REFRESH);
    if (!reason) return 'delta';
    const log = { stage: 'source', source: 'snowflake', table: this.table };
    if (!plan.some((p) => p.contract === 'updated_at' && p.kind !== 'text')) {
      // Without a usable updated_at there is no watermark: a plain extract, no replica.
      ctx.log.warn(log, `KPI_INCREMENTAL: ${reason}; loading the whole window instead`);
      return 'extract';
    }
    if (meta && meta.signature !== signature) ctx.log.warn(log, `KPI_INCREMENTAL: ${reason}; rebuilding the replica with a full load`);
    else ctx.log.info(log, `KPI_INCREMENTAL: ${reason}; full load`);
    return 'full';
  }

  private async attempt(ctx: SourceContext, progress: { signedIn: boolean }): Promise<LoadedSource> {
    const s = this.settings;
    const started = Date.now();
    const connection = createConnection(s, this.authenticator, ctx.log);
    const suffix = Math.random().toString(16).slice(2, 10);
    const rawTable = `snowflake_cases_raw_${suffix}`;
    const view = `snowflake_cases_${suffix}`;
    const mergedTable = `snowflake_cases_replica_${suffix}`;
    const historyRaw = `snowflake_history_raw_${suffix}`;
    const historyView = `snowflake_history_${suffix}`;
    let created = false;
    const activity: Activity = {};
    try {
      await withDeadline(connect(connection), s.SNOWFLAKE_CONNECT_TIMEOUT_MS, () => new DeadlineError('connect', s.SNOWFLAKE_CONNECT_TIMEOUT_MS));
      progress.signedIn = true;
      let transferred = 0;
      let mode: LoadMode = 'extract';
      const rows = await withDeadline(
        (async () => {
          await run(connection, sessionSql(s.SNOWFLAKE_QUERY_TIMEOUT_MS), []);
          const probe = await run(connection, probeSql(this.table), []);
          const plan = planColumns(probe.getColumns() ?? [], s, this.table);
          const signature = signatureOf(plan, this.table, s.KPI_SOURCE_TZ);
          const meta = s.KPI_INCREMENTAL ? await withState(ctx.conn, statePath(s), () => readMeta(ctx.conn)) : undefined;
          mode = s.KPI_INCREMENTAL ? this.chooseMode(meta, signature, plan, ctx) : 'extract';
          const { sql, binds } = mode === 'delta'
            ? deltaSql(plan, this.table, meta!.watermark! - s.KPI_INCREMENTAL_OVERLAP_MINUTES * 60_000)
            : extractionSql(plan, this.table, ctx.scope, s.KPI_SOURCE_TZ, ctx.log, { timestampFormat: s.KPI_TIMESTAMP_FORMAT, openEnded: mode === 'full' });
          await exec(ctx.conn, `CREATE TABLE ${ident(rawTable)} (${rawTableColumns(plan)})`);
          created = true;
          transferred = await streamInto(connection, sql, binds, plan, ctx, rawTable, activity);
          let relationTable = rawTable;
          if (mode === 'full') {
            await withState(ctx.conn, statePath(s), () => writeReplica(ctx.conn, rawTable, signature, ctx.scope.windowStart));
          } else if (mode === 'delta') {
            await withState(ctx.conn, statePath(s), async () => {
              await mergeDelta(ctx.conn, rawTable);
              await exec(ctx.conn, `CREATE TABLE ${ident(mergedTable)} AS SELECT * FROM ${REPLICA}`);
            });
            relationTable = mergedTable;
          }
          await exec(ctx.conn, `CREATE VIEW ${ident(view)} AS SELECT ${viewSelect(plan, s.KPI_SOURCE_TZ)} FROM ${ident(relationTable)}`);
          if (this.historyTable) {
            // The status history, streamed the same way (history.ts).
            const hprobe = await run(connection, probeSql(this.historyTable), []);
            const hplan = planHistory(hprobe.getColumns() ?? [], s, this.historyTable);
            const h = historyExtractionSql(hplan, this.historyTable, ctx.scope, s.KPI_SOURCE_TZ);
            await exec(ctx.conn, `CREATE TABLE ${ident(historyRaw)} (${rawTableColumns(hplan)})`);
            await streamInto(connection, h.sql, h.binds, hplan, ctx, historyRaw, activity);
            await exec(ctx.conn, `CREATE VIEW ${ident(historyView)} AS SELECT ${viewSelect(hplan, s.KPI_SOURCE_TZ)} FROM ${ident(historyRaw)}`);
          }
          if (mode !== 'delta') return transferred;
          const [{ n }] = await query<{ n: number }>(ctx.conn, `SELECT count(*)::INT AS n FROM ${ident(mergedTable)}`);
          return n;
        })(),
        s.SNOWFLAKE_QUERY_TIMEOUT_MS,
        () => new DeadlineError('query', s.SNOWFLAKE_QUERY_TIMEOUT_MS),
        () => activity.cancel?.(),
      );
      ctx.log.info({ stage: 'source', source: 'snowflake', rows, transferred, mode, ms: Date.now() - started, table: this.table }, 'Snowflake extract loaded');
      await disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, ctx.log);
      const conn = ctx.conn;
      const dropHistory = async () => {
        await exec(conn, `DROP VIEW IF EXISTS ${ident(historyView)}`);
        await exec(conn, `DROP TABLE IF EXISTS ${ident(historyRaw)}`);
      };
      return {
        relation: view,
        rowsRead: rows,
        historyRelation: this.historyTable ? historyView : undefined,
        async close() {
          await exec(conn, `DROP VIEW IF EXISTS ${ident(view)}`);
          await exec(conn, `DROP TABLE IF EXISTS ${ident(rawTable)}`);
          await exec(conn, `DROP TABLE IF EXISTS ${ident(mergedTable)}`);
          await dropHistory();
        },
      };
    } catch (err) {
      activity.cancel?.();
      if (created) {
        await exec(ctx.conn, `DROP VIEW IF EXISTS ${ident(view)}`).catch(() => undefined);
        await exec(ctx.conn, `DROP TABLE IF EXISTS ${ident(rawTable)}`).catch(() => undefined);
        await exec(ctx.conn, `DROP TABLE IF EXISTS ${ident(mergedTable)}`).catch(() => undefined);
        await exec(ctx.conn, `DROP VIEW IF EXISTS ${ident(historyView)}`).catch(() => undefined);
        await exec(ctx.conn, `DROP TABLE IF EXISTS ${ident(historyRaw)}`).catch(() => undefined);
      }
      void disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, ctx.log);
      throw err;
    }
  }
}

/**
 * How a load reads Snowflake: 'extract' (the window's rows, no replica), 'full' (the rows
 * the replica keeps, which then replace it) or 'delta' (changed cases only, merged into the
 * replica).
 */
type LoadMode = 'extract' | 'full' | 'delta';

export function createSnowflakeSource(settings: Settings): SnowflakeSource {
  return new SnowflakeSource(settings);
}

/**
 * Signs in and out once, nothing else (`kpi doctor`): resolves with the authentication
 * used, or throws the same named failure a load would (authentication, network, timeout).
 */
export async function checkSnowflakeSignIn(settings: Settings, log: SourceContext['log']): Promise<string> {
  const source = new SnowflakeSource(settings);
  const s = settings;
  const configError = (source as unknown as { configError?: SourceError }).configError;
  if (configError) throw configError;
  const authenticator = chooseAuthenticator(s);
  const connection = createConnection(s, authenticator, log);
  try {
    await withDeadline(connect(connection), s.SNOWFLAKE_CONNECT_TIMEOUT_MS, () => new DeadlineError('connect', s.SNOWFLAKE_CONNECT_TIMEOUT_MS));
  } catch (err) {
    void disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, log);
    throw classify(err, s, authenticator, qualifiedTable(s)).error;
  }
  await disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, log);
  return authenticator;
}
