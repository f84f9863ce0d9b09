/**
 * Snowflake source: reads the case table through the official driver (snowflake-sdk) and
 * streams the rows of the run's window into the run's in-memory DuckDB.
 *
 * What a load does, on one Snowflake session:
 * 1. Logs in (key pair by default; see `chooseAuthenticator()`), bounded by
 *    SNOWFLAKE_CONNECT_TIMEOUT_MS. The driver's own login retries are turned off
 *    (sfRetryMaxLoginRetries: 0): its loop can take 5+ minutes; we retry ourselves.
 * 2. `ALTER SESSION SET TIMEZONE = 'UTC'` (plus a server-side STATEMENT_TIMEOUT_IN_SECONDS
 *    so the warehouse stops working when we stop waiting).
 * 3. A column probe, `SELECT * FROM <table> LIMIT 0`, to learn the column names and types
 *    (needed to map KPI_COLUMN_MAP names and to know which filter binds to use).
 * 4. ONE parameterised extraction query: rows with created_at <= as_of and
 *    (resolved_at IS NULL OR resolved_at >= window start), plus rows whose created_at is
 *    NULL (data quality must see them). Dates are binds (`?`); identifiers come from
 *    settings, are validated against a strict regex and double-quoted; column names come
 *    from Snowflake's own metadata and are quoted too. Nothing typed by a user reaches SQL.
 *    The filter assumes created_at / resolved_at are timestamp (or DATE) columns. When a
 *    warehouse keeps them as VARCHAR the filter cannot be evaluated in Snowflake: created_at
 *    as text means no filter at all, resolved_at as text drops the resolved_at condition
 *    (a superset; the pipeline applies the window again after parsing).
 * 5. The rows are streamed (statement.streamRows()) into a DuckDB table through the DuckDB
 *    appender (which writes to the table in fixed-size chunks), so memory stays flat: only
 *    the driver's current and prefetched result chunks are held besides the table itself.
 *
 * Types. Snowflake does the date work in the query: TIMESTAMP_LTZ and TIMESTAMP_TZ are sent
 * as DATE_PART(EPOCH_MILLISECOND, CONVERT_TIMEZONE('UTC', col)), the instant's epoch;
 * TIMESTAMP_NTZ (and DATE) as the epoch of the wall clock read as UTC. (The driver's own
 * per-value conversion costs ~20 us per timestamp: BigNumber + moment; this path costs
 * nothing in the driver.) Text stays text; numbers, booleans and semi-structured values come
 * as TO_VARCHAR (no precision loss on 19-digit ids). NULL stays NULL
 * (representNullAsStringNull: false).
 * DECISION on NTZ: we convert it ourselves, reading the wall clock in KPI_SOURCE_TZ exactly
 * like a naive CSV timestamp, so every timestamp column of the relation is TIMESTAMPTZ and
 * the normaliser never has to guess: the relation is a view over the raw table applying
 * `timezone('UTC', epoch_ms(x))` to instants and `timezone(KPI_SOURCE_TZ, epoch_ms(x))` to
 * wall clocks (explicit zones: the normaliser reads the view under another session
 * TimeZone). A wall-clock time in a DST gap or overlap is resolved the way ICU resolves it.
 * The filter binds for an NTZ column are the as_of / window start instants rendered as wall
 * clock in KPI_SOURCE_TZ, so filter and conversion agree.
 *
 * Reliability: SNOWFLAKE_QUERY_TIMEOUT_MS bounds the whole extraction (session setup,
 * probe, query, streaming). Each HTTP request of the driver is bounded by its `timeout`
 * option. The driver retries statement requests up to 1000 times and result chunks 10 times
 * (not configurable through its options); we cap both to SNOWFLAKE_RETRIES through the
 * driver's connection-config prototype (feature-detected; the outer deadline applies in any
 * case). A whole load is retried up to SNOWFLAKE_RETRIES times on network failures, HTTP
 * 5xx/429 and connect timeouts, never on authentication, permission or SQL errors, nor on a
 * query timeout. Every failure is a SourceError naming what failed, with no secret in it.
 * A failed load drops what it created in DuckDB and closes the Snowflake session.
 *
 * No calls besides Snowflake itself: cloud-platform detection (AWS/Azure/GCP metadata
 * endpoints and AWS STS), the connection-shape telemetry event and the native "minicore"
 * are turned off with the driver's environment switches before it is first loaded; the
 * driver's winston file logger (snowflake.log in the working directory) is replaced by our
 * logger. OCSP certificate checks stay on for https (fail-open, the driver default); an
 * http loopback access URL (tests, the bench) involves no certificate and no proxy.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { Column, Connection, ConnectionOptions, RowStatement } from 'snowflake-sdk';
import { DOUBLE, DuckDBDataChunk, VARCHAR } from '@duckdb/node-api';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Settings } from '../config/settings';
import type { Logger } from '../support/log';
import { redact, registerSecrets } from '../support/log';
import { exec, ident, lit } from '../db/engine';
import { mapColumns } from './columns';
import { SourceError, type CaseSource, type LoadedSource, type SourceContext } from './types';
import { UNUSED_COLUMNS, type ContractColumn } from '../contract/columns';

type Sdk = typeof import('snowflake-sdk');
type Authenticator = 'SNOWFLAKE_JWT' | 'PROGRAMMATIC_ACCESS_TOKEN' | 'OAUTH' | 'SNOWFLAKE';

const TIMESTAMP_COLUMNS: ReadonlySet<ContractColumn> = new Set(['created_at', 'first_response_at', 'resolved_at', 'updated_at']);
/** Snowflake holds a query-request up to ~45 s before answering "still running": never time out sooner. */
const MIN_REQUEST_TIMEOUT_MS = 60_000;
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;
const QUOTED_IDENT = /^"[^"\x00-\x1f]{1,255}"$/;

const AUTH_LABEL: Record<Authenticator, string> = {
  SNOWFLAKE_JWT: 'key pair (SNOWFLAKE_JWT)',
  PROGRAMMATIC_ACCESS_TOKEN: 'programmatic access token',
  OAUTH: 'OAuth token',
  SNOWFLAKE: 'password',
};

/** How a source column lands in DuckDB. */
type Kind = 'text' | 'instant' | 'wall';

interface Plan {
  contract: ContractColumn;
  source: string;
  sfType: string;
  kind: Kind;
}

let sdkModule: Sdk | undefined;
let retryCap = 2;

function sdk(): Sdk {
  if (sdkModule) return sdkModule;
  // Read once, at module load, by the driver: they must be set before the first require.
  process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION ??= 'true';
  process.env.SF_TELEMETRY_DISABLE_CONNECTION_SHAPE ??= 'true';
  process.env.SNOWFLAKE_DISABLE_MINICORE ??= 'true';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sdkModule = require('snowflake-sdk') as Sdk;
  capDriverRetries();
  return sdkModule;
}

/** The driver's statement (1000) and result-chunk (10) retry counts are not options: cap them. */
function capDriverRetries(): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ConnectionConfig = require('snowflake-sdk/dist/lib/connection/connection_config') as { prototype: Record<string, unknown> };
    const proto = ConnectionConfig?.prototype;
    if (proto && typeof proto.getRetrySfMaxNumRetries === 'function') proto.getRetrySfMaxNumRetries = () => retryCap;
    if (proto && typeof proto.getRetryLargeResultSetMaxNumRetries === 'function') proto.getRetryLargeResultSetMaxNumRetries = () => retryCap;
  } catch {
    /* layout changed: the outer deadlines still bound every load */
  }
}

/** An identifier from settings: NAME (case-insensitive, as Snowflake stores it: upper case) or "Exact Name". */
export function quoteSettingIdentifier(value: string, setting: string): string {
  const v = value.trim();
  if (IDENT.test(v)) return `"${v.toUpperCase()}"`;
  if (QUOTED_IDENT.test(v)) return v;
  throw new SourceError(
    `Snowflake configuration: ${setting} "${value}" is not a valid identifier; use letters, digits, _ and $ ` +
      '(starting with a letter or _), or a double-quoted exact name such as "Support Cases"',
  );
}

function quoteColumn(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export class SnowflakeSource implements CaseSource {
  readonly kind = 'snowflake' as const;
  private readonly authenticator: Authenticator;
  private readonly table: string;
  /** A configuration problem found up front; reported by load() (describe() keeps working). */
  private readonly configError?: SourceError;

  constructor(private readonly settings: Settings) {
    registerSecrets([settings.SNOWFLAKE_PASSWORD, settings.SNOWFLAKE_TOKEN, settings.SNOWFLAKE_PRIVATE_KEY, settings.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE]);
    let authenticator: Authenticator = 'SNOWFLAKE_JWT';
    let table = String(settings.SNOWFLAKE_TABLE);
    try {
      if (!settings.SNOWFLAKE_ACCOUNT) throw new SourceError('Snowflake configuration: SNOWFLAKE_ACCOUNT is not set (e.g. myorg-myaccount)');
      table = qualifiedTable(settings);
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
      try {
        return await this.attempt(ctx);
      } catch (err) {
        const failure = classify(err, this.settings, this.authenticator, this.table);
        if (!failure.transient || attempt >= retries) throw failure.error;
        const waitMs = Math.min(8000, 500 * 2 ** attempt);
        ctx.log.warn({ stage: 'source', source: 'snowflake', attempt: attempt + 1, retries, waitMs }, `Snowflake load failed, retrying: ${failure.error.message}`);
        await sleep(waitMs);
      }
    }
  }

  private async attempt(ctx: SourceContext): Promise<LoadedSource> {
    const s = this.settings;
    const sf = sdk();
    retryCap = s.SNOWFLAKE_RETRIES;
    const accessUrl = s.SNOWFLAKE_ACCESS_URL;
    const loopback = accessUrl ? isLoopback(accessUrl) : false;
    sf.configure({
      logLevel: 'WARN',
      customLogger: driverLogger(ctx.log),
      ...(loopback ? { useEnvProxy: false } : {}),
    });
    const started = Date.now();
    const options = this.connectionOptions();
    let connection: Connection;
    try {
      connection = sf.createConnection(options);
    } catch (err) {
      throw new SourceError(`Snowflake configuration: ${redact(errorMessage(err))}`);
    }
    const suffix = Math.random().toString(16).slice(2, 10);
    const rawTable = `snowflake_cases_raw_${suffix}`;
    const view = `snowflake_cases_${suffix}`;
    let created = false;
    const activity: { cancel?: () => void } = {};
    try {
      await withDeadline(connect(connection), s.SNOWFLAKE_CONNECT_TIMEOUT_MS, () => new DeadlineError('connect', s.SNOWFLAKE_CONNECT_TIMEOUT_MS));
      const rows = await withDeadline(
        (async () => {
          const timeoutS = Math.max(1, Math.ceil(s.SNOWFLAKE_QUERY_TIMEOUT_MS / 1000));
          await run(connection, `ALTER SESSION SET TIMEZONE = 'UTC', STATEMENT_TIMEOUT_IN_SECONDS = ${timeoutS}`, []);
          const probe = await run(connection, `SELECT * FROM ${this.table} LIMIT 0`, []);
          const plan = this.plan(probe.getColumns() ?? []);
          const { sql, binds } = this.extractionSql(plan, ctx);
          await exec(ctx.conn, `CREATE TABLE ${ident(rawTable)} (${plan.map((p) => `${ident(p.contract)} ${p.kind === 'text' ? 'VARCHAR' : 'DOUBLE'}`).join(', ')})`);
          created = true;
          const n = await this.stream(connection, sql, binds, plan, ctx, rawTable, activity);
          // Explicit zones only: the normaliser reads this view with another session TimeZone.
          const select = plan.map((p) => {
            const c = ident(p.contract);
            const ts = `epoch_ms(CAST(${c} AS BIGINT))`;
            if (p.kind === 'instant') return `timezone('UTC', ${ts}) AS ${c}`;
            if (p.kind === 'wall') return `timezone(${lit(s.KPI_SOURCE_TZ)}, ${ts}) AS ${c}`;
            return c;
          });
          await exec(ctx.conn, `CREATE VIEW ${ident(view)} AS SELECT ${select.join(', ')} FROM ${ident(rawTable)}`);
          return n;
        })(),
        s.SNOWFLAKE_QUERY_TIMEOUT_MS,
        () => new DeadlineError('query', s.SNOWFLAKE_QUERY_TIMEOUT_MS),
        () => activity.cancel?.(),
      );
      ctx.log.info({ stage: 'source', source: 'snowflake', rows, ms: Date.now() - started, table: this.table }, 'Snowflake extract loaded');
      await disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, ctx.log);
      const conn = ctx.conn;
      return {
        relation: view,
        rowsRead: rows,
        async close() {
          await exec(conn, `DROP VIEW IF EXISTS ${ident(view)}`);
          await exec(conn, `DROP TABLE IF EXISTS ${ident(rawTable)}`);
        },
      };
    } catch (err) {
      activity.cancel?.();
      if (created) {
        await exec(ctx.conn, `DROP VIEW IF EXISTS ${ident(view)}`).catch(() => undefined);
        await exec(ctx.conn, `DROP TABLE IF EXISTS ${ident(rawTable)}`).catch(() => undefined);
      }
      void disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, ctx.log);
      throw err;
    }
  }

  private connectionOptions(): ConnectionOptions {
    const s = this.settings;
    const requestTimeout = Math.min(s.SNOWFLAKE_QUERY_TIMEOUT_MS, Math.max(s.SNOWFLAKE_CONNECT_TIMEOUT_MS, MIN_REQUEST_TIMEOUT_MS));
    const options: ConnectionOptions & Record<string, unknown> = {
      account: s.SNOWFLAKE_ACCOUNT!,
      username: s.SNOWFLAKE_USER,
      authenticator: this.authenticator,
      ...(s.SNOWFLAKE_ACCESS_URL ? { accessUrl: s.SNOWFLAKE_ACCESS_URL } : {}),
      ...(s.SNOWFLAKE_WAREHOUSE ? { warehouse: unquote(s.SNOWFLAKE_WAREHOUSE) } : {}),
      ...(s.SNOWFLAKE_DATABASE ? { database: unquote(s.SNOWFLAKE_DATABASE) } : {}),
      ...(s.SNOWFLAKE_SCHEMA ? { schema: unquote(s.SNOWFLAKE_SCHEMA) } : {}),
      ...(s.SNOWFLAKE_ROLE ? { role: unquote(s.SNOWFLAKE_ROLE) } : {}),
      application: 'automate_kpi_calc',
      timeout: requestTimeout,
      sfRetryMaxLoginRetries: 0,
      representNullAsStringNull: false,
      jsTreatIntegerAsBigInt: false,
      rowStreamHighWaterMark: 4096,
      clientSessionKeepAlive: false,
      clientStoreTemporaryCredential: false,
      clientRequestMFAToken: false,
    };
    switch (this.authenticator) {
      case 'SNOWFLAKE_JWT':
        options.privateKey = readPrivateKey(s);
        break;
      case 'PROGRAMMATIC_ACCESS_TOKEN':
        options.token = s.SNOWFLAKE_TOKEN ?? s.SNOWFLAKE_PASSWORD;
        break;
      case 'OAUTH':
        options.token = s.SNOWFLAKE_TOKEN;
        break;
      case 'SNOWFLAKE':
        options.password = s.SNOWFLAKE_PASSWORD;
        break;
    }
    return options;
  }

  private plan(columns: Column[]): Plan[] {
    const names = columns.map((c) => c.getName());
    const { select } = mapColumns(names, this.settings.columnMap, `Snowflake table ${this.table}`);
    const plan: Plan[] = [];
    for (const [contract, source] of Object.entries(select) as [ContractColumn, string][]) {
      // Not fetched at all: every value costs network, parsing and memory.
      if (UNUSED_COLUMNS.includes(contract)) continue;
      const col = columns.find((c) => c.getName() === source)!;
      const sfType = String(col.getType()).toLowerCase();
      let kind: Kind = 'text';
      if (TIMESTAMP_COLUMNS.has(contract)) {
        if (sfType === 'timestamp_ltz' || sfType === 'timestamp_tz') kind = 'instant';
        else if (sfType === 'timestamp_ntz' || sfType === 'date') kind = 'wall';
      }
      plan.push({ contract, source, sfType, kind });
    }
    return plan;
  }

  private extractionSql(plan: Plan[], ctx: SourceContext): { sql: string; binds: string[] } {
    const binds: string[] = [];
    const bound = (p: Plan, at: Date): string => {
      if (p.kind === 'instant') {
        binds.push(at.toISOString());
        return 'TO_TIMESTAMP_TZ(?)';
      }
      binds.push(wallClock(at, this.settings.KPI_SOURCE_TZ));
      return 'TO_TIMESTAMP_NTZ(?)';
    };
    const created = plan.find((p) => p.contract === 'created_at')!;
    const resolved = plan.find((p) => p.contract === 'resolved_at');
    let where = '';
    if (created.kind !== 'text') {
      const c = quoteColumn(created.source);
      let inWindow = `${c} <= ${bound(created, ctx.scope.asOf)}`;
      if (resolved && resolved.kind !== 'text') {
        const r = quoteColumn(resolved.source);
        inWindow += ` AND (${r} IS NULL OR ${r} >= ${bound(resolved, ctx.scope.windowStart)})`;
      }
      where = ` WHERE ${c} IS NULL OR (${inWindow})`;
    } else {
      ctx.log.info({ stage: 'source', source: 'snowflake', type: created.sfType }, 'created_at is not a timestamp column in Snowflake: reading the whole table');
    }
    const select = plan.map((p) => `${selectExpr(p)} AS ${quoteColumn(p.contract)}`).join(', ');
    return { sql: `SELECT ${select} FROM ${this.table}${where}`, binds };
  }

  private async stream(connection: Connection, sql: string, binds: string[], plan: Plan[], ctx: SourceContext, rawTable: string, activity: { cancel?: () => void }): Promise<number> {
    const statement = await run(connection, sql, binds, true);
    // While rows stream in, DuckDB keeps at most STAGE_MEMORY_LIMIT of them in memory and
    // moves the rest to its temp folder; then the run's engine gets its default limit back
    // (nothing else sets one).
    await exec(ctx.conn, `SET memory_limit = ${lit(STAGE_MEMORY_LIMIT)}`);
    try {
      return await this.append(statement, plan, ctx, rawTable, activity);
    } finally {
      await exec(ctx.conn, 'RESET memory_limit');
    }
  }

  /**
   * Appends the streamed rows in data chunks of DuckDB's vector size (2048 rows): numbers
   * go into the chunk's typed arrays, and there is one call into DuckDB per text value and
   * per chunk, instead of one per value and per row with the row appender. At 1M rows the
   * main thread's CPU went from 6.7-8.1 s to 6.3-7.7 s (3 runs each, alternating).
   */
  private async append(statement: RowStatement, plan: Plan[], ctx: SourceContext, rawTable: string, activity: { cancel?: () => void }): Promise<number> {
    const appender = await ctx.conn.createAppender(rawTable);
    const width = plan.length;
    const numeric = plan.map((p) => p.kind !== 'text');
    const types = numeric.map((n) => (n ? DOUBLE : VARCHAR));
    const size = CHUNK_ROWS;
    const columns: (number | string | null)[][] = plan.map(() => new Array(size));
    let n = 0;
    let rows = 0;
    // One chunk, reset after each append: its memory is DuckDB's, freed only when the JS
    // object is collected, so a new chunk per batch held more (3M rows: 485 MB peak).
    const chunk = DuckDBDataChunk.create(types);
    const flush = () => {
      if (n === 0) return;
      chunk.reset();
      chunk.rowCount = n;
      for (let c = 0; c < width; c++) {
        const vector = chunk.getColumnVector(c);
        const values = columns[c];
        for (let r = 0; r < n; r++) vector.setItem(r, values[r] as never);
        vector.flush();
      }
      appender.appendDataChunk(chunk);
      n = 0;
    };
    try {
      await new Promise<void>((resolve, reject) => {
        const stream = statement.streamRows();
        activity.cancel = () => {
          stream.destroy();
          reject(new Error('cancelled'));
        };
        stream.on('data', (row: unknown[]) => {
          try {
            for (let i = 0; i < width; i++) {
              const v = row[i];
              columns[i][n] = v === null || v === undefined ? null
                : numeric[i] ? +(v as string)
                : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
            }
            n++;
            rows++;
            if (n === size) flush();
            if (rows % 10_000 === 0) boundHeap();
          } catch (err) {
            stream.destroy();
            reject(err);
          }
        });
        stream.on('error', reject);
        stream.on('end', () => {
          try {
            flush();
            resolve();
          } catch (err) {
            reject(err);
          }
        });
      });
      appender.closeSync();
      return rows;
    } catch (err) {
      try {
        appender.closeSync();
      } catch {
        /* the table is dropped by the caller */
      }
      throw err;
    } finally {
      activity.cancel = undefined;
    }
  }
}

/** Rows per appended data chunk: DuckDB's vector size, the most a chunk holds. */
const CHUNK_ROWS = 2048;
/** DuckDB's memory limit while rows stream in (the rest goes to its temp folder). */
const STAGE_MEMORY_LIMIT = '128MB';
/** JS heap in use above which a full collection runs while rows stream in. */
const HEAP_BUDGET_BYTES = 128 * 1024 * 1024;
let fullGc: (() => void) | null | undefined;

/**
 * The driver turns each result chunk into row objects at once; they outlive a few young
 * collections while the chunk drains, so they die in the old generation, which V8 lets
 * grow to hundreds of MB before collecting. A full collection whenever the heap in use
 * passes HEAP_BUDGET_BYTES keeps the extract's memory flat (1M rows: peak RSS 531 MB
 * without, about 420 MB with; about 8 collections of 50 ms).
 */
function boundHeap(): void {
  if (fullGc === null || getHeapStatistics().used_heap_size < HEAP_BUDGET_BYTES) return;
  if (!fullGc) {
    try {
      setFlagsFromString('--expose-gc');
      fullGc = runInNewContext('gc') as () => void;
    } catch {
      fullGc = null; // a runtime without it: V8's own schedule then (more memory, same rows)
      return;
    }
  }
  fullGc();
}

export function createSnowflakeSource(settings: Settings): SnowflakeSource {
  return new SnowflakeSource(settings);
}

/**
 * What Snowflake sends for a column. Timestamps come as epoch milliseconds computed by
 * Snowflake: instants (LTZ/TZ) converted to UTC first, so the epoch is the instant's;
 * NTZ/DATE as the epoch of their wall clock read as UTC (which is what an NTZ epoch is).
 * The driver then does no per-value date work (its BigNumber + moment path costs ~20 us per
 * timestamp) and DuckDB gets a double instead of a string. Other non-text values come as
 * text (no precision loss on 19-digit ids).
 */
function selectExpr(p: Plan): string {
  const c = quoteColumn(p.source);
  if (p.kind === 'instant') return `TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, CONVERT_TIMEZONE('UTC', ${c})))`;
  if (p.kind === 'wall') return `TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, ${c}::TIMESTAMP_NTZ))`;
  if (p.sfType === 'text') return c;
  if (p.sfType.startsWith('timestamp')) return `TO_VARCHAR(${c}, 'YYYY-MM-DD HH24:MI:SS.FF6TZH:TZM')`;
  return `TO_VARCHAR(${c})`;
}

function chooseAuthenticator(s: Settings): Authenticator {
  const hasKey = Boolean(s.SNOWFLAKE_PRIVATE_KEY_PATH || s.SNOWFLAKE_PRIVATE_KEY);
  const auth: Authenticator | undefined =
    s.SNOWFLAKE_AUTHENTICATOR ?? (hasKey ? 'SNOWFLAKE_JWT' : s.SNOWFLAKE_TOKEN ? 'PROGRAMMATIC_ACCESS_TOKEN' : s.SNOWFLAKE_PASSWORD ? 'SNOWFLAKE' : undefined);
  if (!auth) {
    throw new SourceError(
      'Snowflake configuration: no credentials. Set SNOWFLAKE_PRIVATE_KEY_PATH (key pair, recommended for service users), ' +
        'SNOWFLAKE_TOKEN (programmatic access token, or OAuth with SNOWFLAKE_AUTHENTICATOR=OAUTH) or SNOWFLAKE_PASSWORD (person users)',
    );
  }
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new SourceError(`Snowflake configuration: SNOWFLAKE_AUTHENTICATOR=${auth} needs ${what}`);
  };
  if (auth === 'SNOWFLAKE_JWT') need(hasKey, 'SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY');
  if (auth === 'PROGRAMMATIC_ACCESS_TOKEN') need(Boolean(s.SNOWFLAKE_TOKEN || s.SNOWFLAKE_PASSWORD), 'SNOWFLAKE_TOKEN');
  if (auth === 'OAUTH') need(Boolean(s.SNOWFLAKE_TOKEN), 'SNOWFLAKE_TOKEN');
  if (auth === 'SNOWFLAKE') need(Boolean(s.SNOWFLAKE_PASSWORD), 'SNOWFLAKE_PASSWORD');
  if (auth !== 'OAUTH' && auth !== 'PROGRAMMATIC_ACCESS_TOKEN') need(Boolean(s.SNOWFLAKE_USER), 'SNOWFLAKE_USER');
  return auth;
}

function qualifiedTable(s: Settings): string {
  const parts = s.SNOWFLAKE_TABLE.trim().match(/"[^"]*"|[^.]+/g) ?? [];
  if (parts.length < 1 || parts.length > 3) {
    throw new SourceError(`Snowflake configuration: SNOWFLAKE_TABLE "${s.SNOWFLAKE_TABLE}" must be TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE`);
  }
  const quoted = parts.map((p) => quoteSettingIdentifier(p, 'SNOWFLAKE_TABLE'));
  if (quoted.length < 3 && s.SNOWFLAKE_SCHEMA) {
    if (quoted.length === 1) quoted.unshift(quoteSettingIdentifier(s.SNOWFLAKE_SCHEMA, 'SNOWFLAKE_SCHEMA'));
    if (s.SNOWFLAKE_DATABASE) quoted.unshift(quoteSettingIdentifier(s.SNOWFLAKE_DATABASE, 'SNOWFLAKE_DATABASE'));
  } else if (quoted.length === 2 && s.SNOWFLAKE_DATABASE) {
    quoted.unshift(quoteSettingIdentifier(s.SNOWFLAKE_DATABASE, 'SNOWFLAKE_DATABASE'));
  } else {
    if (s.SNOWFLAKE_DATABASE) quoteSettingIdentifier(s.SNOWFLAKE_DATABASE, 'SNOWFLAKE_DATABASE');
    if (s.SNOWFLAKE_SCHEMA) quoteSettingIdentifier(s.SNOWFLAKE_SCHEMA, 'SNOWFLAKE_SCHEMA');
  }
  return quoted.join('.');
}

/** Login parameters take names, not SQL: unquoted names as Snowflake stores them, quoted ones exact. */
function unquote(v: string): string {
  const t = v.trim();
  return t.startsWith('"') ? t.slice(1, -1) : t.toUpperCase();
}

function readPrivateKey(s: Settings): string {
  let material: string | Buffer;
  let where: string;
  if (s.SNOWFLAKE_PRIVATE_KEY) {
    material = s.SNOWFLAKE_PRIVATE_KEY.replace(/\\n/g, '\n');
    where = 'SNOWFLAKE_PRIVATE_KEY';
  } else {
    where = `SNOWFLAKE_PRIVATE_KEY_PATH (${s.SNOWFLAKE_PRIVATE_KEY_PATH})`;
    try {
      material = readFileSync(s.SNOWFLAKE_PRIVATE_KEY_PATH!);
    } catch (err) {
      throw new SourceError(`Snowflake configuration: cannot read the private key file ${where}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  try {
    const key = createPrivateKey({ key: material, format: 'pem', passphrase: s.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE });
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA key');
    return key.export({ format: 'pem', type: 'pkcs8' }).toString();
  } catch (err) {
    const msg = errorMessage(err);
    const hint = /passphrase|decrypt|bad decrypt/i.test(msg)
      ? s.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE ? 'wrong SNOWFLAKE_PRIVATE_KEY_PASSPHRASE' : 'the key is encrypted: set SNOWFLAKE_PRIVATE_KEY_PASSPHRASE'
      : 'expected an RSA private key in PEM (PKCS#8, "-----BEGIN PRIVATE KEY-----" or "-----BEGIN ENCRYPTED PRIVATE KEY-----")';
    throw new SourceError(`Snowflake configuration: cannot use the private key from ${where}: ${hint}`);
  }
}

/** `2026-11-23 10:00:00.000` for an instant, as a wall clock in `tz`. */
function wallClock(at: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}.${String(at.getUTCMilliseconds()).padStart(3, '0')}`;
}

function isLoopback(url: string): boolean {
  try {
    const h = new URL(url).hostname;
    return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);
  } catch {
    return false;
  }
}

function connect(connection: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      connection.connect((err) => (err ? reject(err) : resolve()));
    } catch (err) {
      reject(err);
    }
  });
}

function run(connection: Connection, sqlText: string, binds: string[], stream = false): Promise<RowStatement> {
  return new Promise((resolve, reject) => {
    try {
      connection.execute({
        sqlText,
        binds,
        streamResult: stream,
        rowMode: 'array',
        complete: (err, stmt) => (err ? reject(err) : resolve(stmt as RowStatement)),
      });
    } catch (err) {
      reject(err);
    }
  });
}

/** Ends the session (deletes it on the server), bounded; a failure here never fails a load. */
async function disconnect(connection: Connection, timeoutMs: number, log: Logger): Promise<void> {
  if (!connection.isUp()) return;
  await withDeadline(
    new Promise<void>((resolve) => connection.destroy((err) => {
      if (err) log.debug({ stage: 'source', source: 'snowflake' }, `Snowflake session close: ${redact(err.message)}`);
      resolve();
    })),
    Math.min(timeoutMs, 10_000),
    () => new Error('session close timed out'),
  ).catch(() => log.debug({ stage: 'source', source: 'snowflake' }, 'Snowflake session close timed out'));
}

class DeadlineError extends Error {
  constructor(readonly phase: 'connect' | 'query', readonly ms: number) {
    super(`${phase} timed out after ${ms} ms`);
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error, cancel?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cancel?.();
      reject(onTimeout());
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface DriverError {
  name?: string;
  code?: string | number;
  message?: string;
  sqlState?: string;
  cause?: { code?: string; message?: string };
  response?: { statusCode?: number; status?: number };
}

/** Turns any failure into a SourceError naming what failed, and says whether a retry may help. */
function classify(err: unknown, s: Settings, auth: Authenticator, table: string): { error: SourceError; transient: boolean } {
  if (err instanceof SourceError) return { error: new SourceError(redact(err.message)), transient: false };
  const where = s.SNOWFLAKE_ACCESS_URL ?? `https://${s.SNOWFLAKE_ACCOUNT}.snowflakecomputing.com`;
  const who = `user ${s.SNOWFLAKE_USER ?? '(from token)'} on account ${s.SNOWFLAKE_ACCOUNT}`;
  const mk = (msg: string, transient: boolean) => ({ error: new SourceError(redact(msg)), transient });
  if (err instanceof DeadlineError) {
    return err.phase === 'connect'
      ? mk(`Snowflake network: no answer from ${where} within ${err.ms} ms while signing in (SNOWFLAKE_CONNECT_TIMEOUT_MS)`, true)
      : mk(`Snowflake query timed out: the extract from ${table} did not finish within ${err.ms} ms (SNOWFLAKE_QUERY_TIMEOUT_MS); nothing was loaded`, false);
  }
  const e = (err ?? {}) as DriverError;
  const code = String(e.code ?? '');
  const message = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  const serverCode = /^\d{6}$/.test(code) && !/^40\d{4}$/.test(code) ? ` (Snowflake error ${code})` : '';
  if (code === '390189' || /role .* is not granted|not granted to this user/i.test(message)) {
    return mk(`Snowflake permission: ${message}${serverCode}. Grant the role SNOWFLAKE_ROLE=${s.SNOWFLAKE_ROLE ?? '(default)'} to ${s.SNOWFLAKE_USER ?? 'the user'} (GRANT ROLE ... TO USER ...)`, false);
  }
  if (code === '390201' || /account .*does not exist/i.test(message)) {
    return mk(`Snowflake configuration: account ${s.SNOWFLAKE_ACCOUNT} not found at ${where}${serverCode}; check SNOWFLAKE_ACCOUNT (orgname-accountname)`, false);
  }
  if (/^390\d{3}$/.test(code) || /^394\d{3}$/.test(code)) {
    return mk(`Snowflake authentication failed for ${who} using ${AUTH_LABEL[auth]}: ${message}${serverCode}. ${authHint(auth)}`, false);
  }
  if (code === '002003' || /does not exist or not authorized/i.test(message)) {
    return mk(`Snowflake table ${table} does not exist or the role ${s.SNOWFLAKE_ROLE ?? '(default role)'} may not read it: ${message}${serverCode}. Check SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA, SNOWFLAKE_TABLE and the grants (USAGE on database and schema, SELECT on the table)`, false);
  }
  if (code === '000904' || /invalid identifier/i.test(message)) {
    return mk(`Snowflake column missing in ${table}: ${message}${serverCode}; check KPI_COLUMN_MAP`, false);
  }
  if (code === '003001' || code === '000606' || /insufficient privileges|no active warehouse/i.test(message)) {
    return mk(`Snowflake permission: ${message}${serverCode}. The role needs USAGE on warehouse ${s.SNOWFLAKE_WAREHOUSE ?? '(SNOWFLAKE_WAREHOUSE is not set)'}, USAGE on the database and schema and SELECT on ${table}`, false);
  }
  if (code === '000630' || /statement reached its statement or warehouse timeout/i.test(message)) {
    return mk(`Snowflake query timed out on the server after ${s.SNOWFLAKE_QUERY_TIMEOUT_MS} ms (SNOWFLAKE_QUERY_TIMEOUT_MS): ${message}`, false);
  }
  if (e.name === 'NetworkError' || e.name === 'LargeResultSetError' || code === '401001' || code === '402001' || code === '402002') {
    const cause = e.cause?.code ?? e.cause?.message ?? '';
    return mk(`Snowflake network: cannot reach ${where}${cause ? ` (${cause})` : ''}: ${message}`, true);
  }
  if (e.name === 'RequestFailedError' || code === '401002') {
    const status = e.response?.statusCode ?? e.response?.status;
    const transient = status === undefined || status >= 500 || status === 429 || status === 408;
    return mk(`Snowflake network: ${where} answered HTTP ${status ?? '?'}${transient ? ' (temporary)' : ''}; check SNOWFLAKE_ACCOUNT${s.SNOWFLAKE_ACCESS_URL ? ' and SNOWFLAKE_ACCESS_URL' : ''}`, transient);
  }
  if (/^40\d{4}$/.test(code) && /^404/.test(code)) {
    return mk(`Snowflake configuration: ${message}`, false);
  }
  if (e.sqlState || serverCode) {
    return mk(`Snowflake query failed on ${table}: ${message}${serverCode}`, false);
  }
  return mk(`Snowflake load failed: ${message}`, false);
}

function authHint(auth: Authenticator): string {
  switch (auth) {
    case 'SNOWFLAKE_JWT':
      return 'Check SNOWFLAKE_USER and SNOWFLAKE_ACCOUNT, and that the public key of SNOWFLAKE_PRIVATE_KEY_PATH / SNOWFLAKE_PRIVATE_KEY is set on the user (ALTER USER ... SET RSA_PUBLIC_KEY; DESC USER shows RSA_PUBLIC_KEY_FP).';
    case 'PROGRAMMATIC_ACCESS_TOKEN':
      return 'Check that SNOWFLAKE_TOKEN is a valid, unexpired programmatic access token of this user (and the user is subject to a network policy if required).';
    case 'OAUTH':
      return 'Check that SNOWFLAKE_TOKEN is a valid, unexpired OAuth access token.';
    default:
      return 'Check SNOWFLAKE_USER and SNOWFLAKE_PASSWORD; service users (TYPE=SERVICE) cannot sign in with a password: use a key pair.';
  }
}

/** The driver's log lines go to our logger (secret-masked by the driver and again by ours). */
function driverLogger(log: Logger) {
  const child = log.child({ component: 'snowflake-sdk' });
  return {
    error: (m: string) => child.warn(redact(m)),
    warn: (m: string) => child.warn(redact(m)),
    info: (m: string) => child.debug(redact(m)),
    debug: (m: string) => child.trace(redact(m)),
    trace: (m: string) => child.trace(redact(m)),
  };
}
