/**
 * A fake Snowflake on 127.0.0.1 (port 0) speaking the REST protocol the real snowflake-sdk
 * uses, so tests and the bench drive the real driver through its `accessUrl` option:
 *
 * - POST /session/v1/login-request: checks the account, the user and the credential the
 *   authenticator calls for. SNOWFLAKE_JWT: the token must be an RS256 JWT really signed
 *   with the user's registered public key, with sub = ACCOUNT.USER and
 *   iss = ACCOUNT.USER.SHA256:<base64 sha256 of the public key's DER SPKI>, not expired.
 *   PROGRAMMATIC_ACCESS_TOKEN / OAUTH: TOKEN must be the registered token. SNOWFLAKE:
 *   PASSWORD must be the registered password. Failures answer like Snowflake does
 *   (HTTP 200, success:false, code 390100/390144/390303).
 * - POST /queries/v1/query-request: ALTER SESSION succeeds (TIMEZONE and
 *   CLIENT_RESULT_CHUNK_SIZE are remembered); SELECT ... FROM <table> answers rowtype +
 *   rowset (small results inline, large ones as chunks fetched from
 *   GET /chunks/<queryId>/<n>, generated lazily so memory stays flat); `LIMIT 0` answers
 *   only the rowtype; an unknown table answers SQL error 002003 like Snowflake.
 * - POST /session?delete=true, /session/heartbeat, /telemetry/send, abort-request.
 *
 * Result chunks, like Snowflake's: the first part of a result comes inline, then chunks
 * whose uncompressed size grows about 1.9x per chunk up to a cap: the session's
 * CLIENT_RESULT_CHUNK_SIZE when the client set one (48 to 160 MB, Snowflake's range), else `chunkCapMb`
 * (default 160, Snowflake's account default). Chunk bodies are gzipped. Row counts per
 * chunk come from the average wire size of the first rows. `chunkRows` instead gives
 * fixed-size chunks of that many rows.
 *
 * Failure injection: `failLogin` (wrong credentials whatever is sent), `hang` ('login' or
 * 'query': the request is accepted and never answered), `sqlError` (next queries fail),
 * `http500` (the next N non-chunk requests answer HTTP 503), `fail` (every request of a
 * kind, or one chunk, answers an HTTP status, `times` times or for good).
 *
 * Attempts are counted per request (`attempts`): a query request by its requestId (the
 * driver keeps it when it retries), a chunk by its query and number, a login by order.
 *
 * Values are given per column in a readable form and encoded to Snowflake's JSON wire
 * format: timestamp_ntz 'YYYY-MM-DD HH:MM:SS[.fff]' (wall clock), timestamp_ltz an ISO
 * instant, timestamp_tz an ISO time with offset ('2026-01-10T09:00:00+05:30'), fixed/text
 * as strings. null is SQL NULL.
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createHash, createPublicKey, randomUUID, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { snowflakeToDuckdb } from '../../src/db/dialect';

export type FakeColumnType = 'text' | 'fixed' | 'real' | 'boolean' | 'date' | 'timestamp_ntz' | 'timestamp_ltz' | 'timestamp_tz';

export interface FakeColumn {
  name: string;
  type: FakeColumnType;
}

export interface FakeTable {
  columns: FakeColumn[];
  /** Readable values (see the header); encoded to the wire format on the way out. */
  rows?: (string | null)[][];
  /** Large tables: `rowCount` rows produced on demand by `row(i)` (readable values). */
  rowCount?: number;
  row?: (i: number) => (string | null)[];
}

export interface FakeUser {
  name: string;
  publicKeyPem?: string;
  password?: string;
  pat?: string;
  oauthToken?: string;
}

export interface FakeSnowflakeOptions {
  account: string;
  users: FakeUser[];
  /** Key: DATABASE.SCHEMA.TABLE in upper case. */
  tables: Record<string, FakeTable>;
  /**
   * Fixed chunks of this many rows (results up to this size go inline). Without it, chunks
   * grow like Snowflake's (see the header).
   */
  chunkRows?: number;
  /** Largest chunk in MB (uncompressed) when the session set no CLIENT_RESULT_CHUNK_SIZE; default 160. */
  chunkCapMb?: number;
  /** Size of the inline part and of the first chunk, in bytes (uncompressed); default 1 MB. */
  firstChunkBytes?: number;
  /** Chunks gzipped; default true for growing chunks, false for `chunkRows`. */
  gzipChunks?: boolean;
  /** Gzipped chunks sent without `Content-Encoding: gzip` (a stored object served as is). */
  gzipWithoutHeader?: boolean;
  /** Serve chunks up to `chunkCapMb` even when the session asked for less (as before Snowflake's 2026_04 bundle). */
  ignoreSessionChunkSize?: boolean;
  /**
   * Keep each chunk's response body once made, and serve it again for the same rows and
   * columns (benchmarks: a second load then measures the client, not the fake's making of
   * chunks).
   */
  keepChunks?: boolean;
  /**
   * Prepare up to this many chunks ahead of the last one asked for, in the background, from
   * the moment the query is answered (default 0: each chunk is made when it is asked for).
   * Snowflake has a result's chunks in storage before the client asks for them; here the
   * making still takes this machine's CPU, but no longer only while the client waits. Rows
   * are turned into JSON in slices between which requests are answered, and gzipped on
   * libuv's thread pool.
   */
  prepareAhead?: number;
  /**
   * Executes what it receives (warehouse compute): the tables are loaded into a DuckDB
   * database, each session gets its own DuckDB connection (its temporary tables), and every
   * statement but the column probe runs there after snowflakeToDuckdb (src/db/dialect.ts).
   */
  execute?: boolean;
  /**
   * Execute mode: fills the DuckDB database with tables the fake does not load itself (those
   * given with columns only: no rows, no rowCount), e.g. copied from a DuckDB file.
   */
  warehouseSetup?: (conn: DuckDBConnection) => Promise<void>;
}

/** An injected failure: requests of `path` (for chunks: chunk `chunk`, 0-based) answer `status`. */
export interface FakeFailure {
  path: 'login' | 'query' | 'chunk';
  status: number;
  chunk?: number;
  /** How many times; for good when absent. */
  times?: number;
}

/** Chunk sizes grow by this factor per chunk, as Snowflake's do. */
const CHUNK_GROWTH = 1.9;
const MB = 1024 * 1024;

export interface LoginRecord {
  query: Record<string, string>;
  data: Record<string, unknown>;
  ok: boolean;
  reason?: string;
}

export interface QueryRecord {
  sqlText: string;
  bindings?: Record<string, { type: string; value: unknown }>;
  parameters?: Record<string, unknown>;
  requestId?: string;
}

interface Projection {
  index: number;
  name: string;
  type: FakeColumnType;
  convert?: { from: FakeColumnType; to: 'text' | 'epoch_ms' };
}

interface Session {
  token: string;
  user: string;
  database?: string;
  schema?: string;
}

const SESSION_PARAMETERS = [
  { name: 'TIMEZONE', value: 'America/Los_Angeles' },
  { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
  { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
  { name: 'TIMESTAMP_LTZ_OUTPUT_FORMAT', value: '' },
  { name: 'TIMESTAMP_TZ_OUTPUT_FORMAT', value: '' },
  { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
  { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
  { name: 'QUERY_CONTEXT_CACHE_SIZE', value: 5 },
];

export class FakeSnowflake {
  readonly logins: LoginRecord[] = [];
  readonly queries: QueryRecord[] = [];
  readonly paths: string[] = [];
  sessionsClosed = 0;
  failLogin = false;
  hang: 'login' | 'query' | null = null;
  sqlError: { code: string; message: string; sqlState: string } | null = null;
  http500 = 0;
  fail: FakeFailure | null = null;
  /** Attempts per request: `login:<n>`, `query:<requestId>`, `chunk:<queryId>/<n>`. */
  readonly attempts = new Map<string, number>();
  /** Rows of the last SELECT answered (inline and in chunks). */
  lastResultRows = 0;
  /** Uncompressed bytes of each chunk served, in order. */
  readonly chunkBytes: number[] = [];
  /** Session TIMEZONE as last set by ALTER SESSION (or the account default). */
  sessionTimezone = 'America/Los_Angeles';
  /** CLIENT_RESULT_CHUNK_SIZE (MB) as last set by ALTER SESSION; undefined: the account default. */
  sessionChunkSizeMb: number | undefined;
  private loginCount = 0;
  /** Bytes of the bodies answered to query and chunk requests, as sent (what a client receives). */
  resultBytes = 0;
  /** Execute mode: bytes of the result bodies before compression. */
  resultBytesUncompressed = 0;
  /** Chunks served from those made ahead (prepareAhead). */
  chunksMadeAhead = 0;
  /** Statements run on DuckDB (execute mode), as received. */
  readonly executed: string[] = [];
  private warehouse?: Promise<DuckDBInstance>;
  private sessionConns = new Map<string, Promise<DuckDBConnection>>();

  private server: http.Server;
  private sessions = new Map<string, Session>();
  /** Open results: chunk n holds rows starts[n] .. starts[n+1]-1. */
  private results = new Map<string, OpenResult>();
  /** Response bodies kept with `keepChunks`, by table and then by columns and rows. */
  private kept = new WeakMap<FakeTable, Map<string, ChunkBody>>();
  private port = 0;

  constructor(private readonly opts: FakeSnowflakeOptions) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const c of this.sessionConns.values()) (await c).closeSync();
    if (this.warehouse) (await this.warehouse).closeSync();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.paths.push(url.pathname);
    const raw = await readBody(req);
    if (url.pathname === '/queries/v1/query-request' || url.pathname.startsWith('/chunks/')) {
      const end = res.end.bind(res) as (...a: unknown[]) => http.ServerResponse;
      (res as unknown as { end: (...a: unknown[]) => http.ServerResponse }).end = (...a: unknown[]) => {
        const body = a[0];
        if (typeof body === 'string' || Buffer.isBuffer(body)) this.resultBytes += Buffer.byteLength(body);
        return end(...a);
      };
    }
    const kind = url.pathname === '/session/v1/login-request' ? 'login' : url.pathname === '/queries/v1/query-request' ? 'query' : url.pathname.startsWith('/chunks/') ? 'chunk' : null;
    const key = kind === 'login' ? `login:${++this.loginCount}`
      : kind === 'query' ? `query:${url.searchParams.get('requestId') ?? randomUUID()}`
      : kind === 'chunk' ? `chunk:${url.pathname.split('/').slice(2).join('/')}` : null;
    if (key) this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    const f = this.fail;
    if (f && f.path === kind && (kind !== 'chunk' || f.chunk === undefined || Number(url.pathname.split('/')[3]) === f.chunk) && (f.times === undefined || f.times > 0)) {
      if (f.times !== undefined) f.times--;
      res.writeHead(f.status, { 'content-type': kind === 'chunk' ? 'application/xml' : 'text/plain' });
      res.end(kind === 'chunk' ? '<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>' : 'internal error');
      return;
    }
    if (this.http500 > 0 && !url.pathname.startsWith('/chunks/')) {
      this.http500--;
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('service unavailable');
      return;
    }
    if (url.pathname === '/session/v1/login-request') {
      if (this.hang === 'login') return; // never answered
      return this.login(url, parseJson(raw), res);
    }
    if (url.pathname.startsWith('/chunks/')) return this.chunk(url, res);
    const session = this.sessionOf(req);
    if (!session) {
      return json(res, 401, { success: false, code: '390104', message: 'Session no longer exists.', data: null });
    }
    if (url.pathname === '/queries/v1/query-request') {
      if (this.hang === 'query') return;
      // Execute mode answers gzipped when the client accepts it, as Snowflake's front end does.
      (res as { acceptsGzip?: boolean }).acceptsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      return this.query(session, parseJson(raw) as QueryRecord & Record<string, unknown>, url, res).catch((err: unknown) => {
        json(res, 200, { success: false, code: '001003', message: `SQL compilation error: ${String((err as Error).message ?? err)}`, data: { queryId: randomUUID(), sqlState: '42000', errorCode: '001003' } });
      });
    }
    if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
      this.sessions.delete(session.token);
      this.sessionsClosed++;
      return json(res, 200, { success: true, code: null, message: null, data: null });
    }
    if (url.pathname === '/session/heartbeat' || url.pathname === '/telemetry/send' || url.pathname.includes('abort-request')) {
      return json(res, 200, { success: true, code: null, message: null, data: null });
    }
    json(res, 404, { success: false, code: '000404', message: `fake: no route ${url.pathname}`, data: null });
  }

  private sessionOf(req: http.IncomingMessage): Session | undefined {
    const m = /Snowflake Token="([^"]*)"/.exec(String(req.headers.authorization ?? ''));
    return m ? this.sessions.get(m[1]) : undefined;
  }

  private login(url: URL, body: unknown, res: http.ServerResponse): void {
    const data = ((body as { data?: Record<string, unknown> })?.data ?? {}) as Record<string, unknown>;
    const query = Object.fromEntries(url.searchParams.entries());
    const record: LoginRecord = { query, data, ok: false };
    this.logins.push(record);
    const fail = (code: string, message: string, reason: string) => {
      record.reason = reason;
      json(res, 200, { success: false, code, message, data: { nextAction: null, authnMethod: data.AUTHENTICATOR ?? null } });
    };
    const account = String(data.ACCOUNT_NAME ?? '').toUpperCase();
    if (account !== this.opts.account.toUpperCase()) return fail('390201', 'The requested account does not exist.', 'account');
    const loginName = String(data.LOGIN_NAME ?? '').toUpperCase();
    const user = this.opts.users.find((u) => u.name.toUpperCase() === loginName);
    if (!user) return fail('390100', 'Incorrect username or password was specified.', 'user');
    if (this.failLogin) return fail('390100', 'Incorrect username or password was specified.', 'failLogin');
    const authenticator = String(data.AUTHENTICATOR ?? 'SNOWFLAKE').toUpperCase();
    if (authenticator === 'SNOWFLAKE_JWT') {
      const why = verifyJwt(String(data.TOKEN ?? ''), user, account);
      if (why) return fail('390144', 'JWT token is invalid.', why);
    } else if (authenticator === 'PROGRAMMATIC_ACCESS_TOKEN') {
      if (!user.pat || data.TOKEN !== user.pat) return fail('390100', 'Incorrect username or password was specified.', 'pat');
    } else if (authenticator === 'OAUTH') {
      if (!user.oauthToken || data.TOKEN !== user.oauthToken) return fail('390303', 'Invalid OAuth access token. ', 'oauth');
    } else if (authenticator === 'SNOWFLAKE') {
      if (!user.password || data.PASSWORD !== user.password) return fail('390100', 'Incorrect username or password was specified.', 'password');
    } else {
      return fail('390100', `Unsupported authenticator ${authenticator}`, 'authenticator');
    }
    record.ok = true;
    const token = `session-${randomUUID()}`;
    this.sessions.set(token, { token, user: user.name, database: query.databaseName, schema: query.schemaName });
    json(res, 200, {
      success: true,
      code: null,
      message: null,
      data: {
        token,
        masterToken: `master-${randomUUID()}`,
        validityInSeconds: 3600,
        masterValidityInSeconds: 14400,
        sessionId: Math.floor(Math.random() * 1e12),
        parameters: SESSION_PARAMETERS,
        sessionInfo: {
          databaseName: query.databaseName ?? null,
          schemaName: query.schemaName ?? null,
          warehouseName: query.warehouse ?? null,
          roleName: query.roleName ?? 'PUBLIC',
        },
      },
    });
  }

  private async query(session: Session, body: QueryRecord & Record<string, unknown>, url: URL, res: http.ServerResponse): Promise<void> {
    this.queries.push({ sqlText: body.sqlText, bindings: body.bindings, parameters: body.parameters as Record<string, unknown>, requestId: url.searchParams.get('requestId') ?? undefined });
    const queryId = randomUUID();
    const sql = String(body.sqlText ?? '');
    if (this.sqlError) {
      return json(res, 200, { success: false, code: this.sqlError.code, message: this.sqlError.message, data: { queryId, sqlState: this.sqlError.sqlState, errorCode: this.sqlError.code, internalError: false, age: 0 } });
    }
    const alter = /^\s*ALTER\s+SESSION\s+SET\s+TIMEZONE\s*=\s*'([^']+)'/i.exec(sql);
    if (alter) {
      this.sessionTimezone = alter[1];
      if (this.opts.execute) await (await this.sessionConn(session)).run(`SET TimeZone = '${alter[1].replace(/'/g, "''")}'`);
      const size = /\bCLIENT_RESULT_CHUNK_SIZE\s*=\s*(\d+)/i.exec(sql);
      if (size) {
        const mb = Number(size[1]);
        if (mb < 48 || mb > 160) {
          return json(res, 200, { success: false, code: '001011', message: `invalid parameter value: ${mb} for CLIENT_RESULT_CHUNK_SIZE, must be between 48 and 160`, data: { queryId, sqlState: '22023', errorCode: '001011' } });
        }
        this.sessionChunkSizeMb = mb;
      }
      return json(res, 200, {
        success: true, code: null, message: null,
        data: {
          parameters: [{ name: 'TIMEZONE', value: alter[1] }], queryId, version: 1, statementTypeId: 0x4000 + 0x100,
          rowtype: [{ name: 'status', type: 'text', nullable: true, scale: null, precision: null, length: 16777216, byteLength: 16777216 }],
          rowset: [['Statement executed successfully.']], total: 1, returned: 1,
        },
      });
    }
    // The extract (with binds) and the column probe are answered as ever; the rest is run.
    const extract = Object.keys(body.bindings ?? {}).length > 0 || /^SELECT \* FROM \S+ LIMIT 0$/.test(sql);
    if (this.opts.execute && !extract) return this.executeSql(session, sql, queryId, res);
    const from = /\bFROM\s+((?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)){0,2})/i.exec(sql);
    if (!from) {
      return json(res, 200, { success: false, code: '001003', message: `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${sql.slice(0, 20)}'.`, data: { queryId, sqlState: '42000', errorCode: '001003' } });
    }
    const parts = splitIdentifiers(from[1]);
    const full = [...(parts.length < 3 ? [session.database ?? '', ...(parts.length < 2 ? [session.schema ?? ''] : [])] : []), ...parts].join('.').toUpperCase();
    let table = this.opts.tables[full];
    if (!table) {
      return json(res, 200, {
        success: false, code: '002003', message: `SQL compilation error:\nObject '${full}' does not exist or not authorized.`,
        data: { queryId, sqlState: '42S02', errorCode: '002003', internalError: false },
      });
    }
    // Projection: "COL", TO_VARCHAR("COL"), TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, CONVERT_TIMEZONE('UTC', "COL")))
    // or TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, "COL"::TIMESTAMP_NTZ)), each [AS "alias"] (SELECT * = all columns).
    const selectList = sql.slice(sql.search(/\bSELECT\b/i) + 6, from.index);
    const columns: Projection[] = [];
    if (selectList.trim() === '*') {
      table.columns.forEach((c, i) => columns.push({ index: i, name: c.name, type: c.type }));
    } else {
      for (const item of splitTopLevel(selectList)) {
        const m = /^\s*(?:"((?:[^"]|"")+)"|TO_VARCHAR\("((?:[^"]|"")+)"\)|TO_VARCHAR\(DATE_PART\(EPOCH_MILLISECOND, (?:CONVERT_TIMEZONE\('UTC', "((?:[^"]|"")+)"\)|"((?:[^"]|"")+)"::TIMESTAMP_NTZ)\)\))(?:\s+AS\s+"((?:[^"]|"")+)")?\s*$/i.exec(item);
        if (!m) {
          return json(res, 200, { success: false, code: '001003', message: `fake: unsupported select item ${item}`, data: { queryId, sqlState: '42000' } });
        }
        const name = (m[1] ?? m[2] ?? m[3] ?? m[4]).replace(/""/g, '"');
        const idx = table.columns.findIndex((c) => c.name === name);
        if (idx < 0) {
          return json(res, 200, { success: false, code: '000904', message: `SQL compilation error: error line 1 at position 7\ninvalid identifier '"${name}"'`, data: { queryId, sqlState: '42000', errorCode: '000904' } });
        }
        const alias = (m[5] ?? name).replace(/""/g, '"');
        const from = table.columns[idx].type;
        if (m[3] !== undefined && from !== 'timestamp_tz' && from !== 'timestamp_ltz') {
          return json(res, 200, { success: false, code: '001044', message: `SQL compilation error: Invalid argument types for function 'CONVERT_TIMEZONE': (VARCHAR(16), ${from.toUpperCase()})`, data: { queryId, sqlState: '22023' } });
        }
        columns.push(m[2] !== undefined
          ? { index: idx, name: alias, type: 'text', convert: { from, to: 'text' } }
          : m[3] !== undefined || m[4] !== undefined
            ? { index: idx, name: alias, type: 'text', convert: { from, to: 'epoch_ms' } }
            : { index: idx, name: alias, type: from });
      }
    }
    const rowtype = columns.map((c) => rowtypeOf({ name: c.name, type: c.type }));
    const limit0 = /\bLIMIT\s+0\b/i.test(sql);
    const delta = deltaFilter(sql, body.bindings, table);
    const where = delta ?? windowFilter(sql, body.bindings, table);
    if (where === 'unsupported') {
      return json(res, 200, { success: false, code: '001003', message: 'fake: unsupported WHERE clause', data: { queryId, sqlState: '42000' } });
    }
    if (where && table.rows) {
      // Serve the filtered rows only (a view of the table for this query).
      table = { ...table, rows: table.rows.filter(where) };
    } else if (delta && delta !== 'unsupported' && table.row) {
      // A generated table: the delta's rows by index (the window filters serve every row).
      const all = table;
      const picked: number[] = [];
      for (let i = 0; i < (all.rowCount ?? 0); i++) if (delta(all.row!(i))) picked.push(i);
      table = { ...all, rowCount: picked.length, row: (k) => all.row!(picked[k]) };
    }
    const total = limit0 ? 0 : (table.rows ? table.rows.length : table.rowCount ?? 0);
    if (!limit0) this.lastResultRows = total;
    const base = {
      parameters: [{ name: 'TIMEZONE', value: this.sessionTimezone }, ...SESSION_PARAMETERS.filter((p) => p.name !== 'TIMEZONE')],
      rowtype, queryId, version: 1, statementTypeId: 4096, total, returned: total,
      finalDatabaseName: session.database, finalSchemaName: session.schema,
    };
    const starts = this.chunkStarts(table, columns, total);
    // starts[0] is where the inline part ends (the first chunk's first row).
    const inline = starts[0];
    const rowset: (string | null)[][] = [];
    for (let r = 0; r < inline; r++) rowset.push(this.wireRow(table!, columns, r));
    if (inline >= total) return json(res, 200, { success: true, code: null, message: null, data: { ...base, rowset } });
    this.results.set(queryId, { table, columns, starts, served: new Set(), asked: -1, prepared: new Map() });
    this.prepareNext(queryId);
    const chunks = [];
    for (let n = 0; n < starts.length - 1; n++) {
      const rowCount = starts[n + 1] - starts[n];
      chunks.push({ url: `${this.url}/chunks/${queryId}/${n}`, rowCount, uncompressedSize: rowCount * 200, compressedSize: rowCount * 40 });
    }
    json(res, 200, { success: true, code: null, message: null, data: { ...base, rowset, chunks, chunkHeaders: {} } });
  }

  /** Execute mode: loads the tables now rather than at the first session's first statement. */
  async loadWarehouse(): Promise<void> {
    await this.warehouseDb();
  }

  /** The DuckDB database holding the tables (execute mode), loaded on first use. */
  private warehouseDb(): Promise<DuckDBInstance> {
    this.warehouse ??= (async () => {
      const db = await DuckDBInstance.create(':memory:');
      const conn = await db.connect();
      await conn.run(`SET TimeZone = 'UTC'`);
      for (const [key, table] of Object.entries(this.opts.tables)) {
        const [dbName, schema, name] = key.split('.').map((p) => `"${p}"`);
        await conn.run(`ATTACH IF NOT EXISTS ':memory:' AS ${dbName}; CREATE SCHEMA IF NOT EXISTS ${dbName}.${schema}`);
        if (!table.rows && !table.rowCount) continue;
        const raw = `raw_${Object.keys(this.opts.tables).indexOf(key)}`;
        await conn.run(`CREATE TABLE ${raw} (${table.columns.map((c) => `"${c.name}" VARCHAR`).join(', ')})`);
        const appender = await conn.createAppender(raw);
        const n = table.rows ? table.rows.length : table.rowCount ?? 0;
        for (let i = 0; i < n; i++) {
          const row = table.rows ? table.rows[i] : table.row!(i);
          for (let j = 0; j < table.columns.length; j++) {
            const v = row[j];
            if (v === null || v === undefined) appender.appendNull(); else appender.appendVarchar(v);
          }
          appender.endRow();
        }
        appender.flushSync();
        appender.closeSync();
        const typed = table.columns.map((c) => {
          const col = `"${c.name}"`;
          // Generated tables may give timestamps as epoch milliseconds (see epochMs).
          const ms = (to: string) => `CASE WHEN regexp_full_match(${col}, '-?[0-9]+') THEN ${to === 'TIMESTAMP' ? `make_timestamp(CAST(${col} AS BIGINT) * 1000)` : `to_timestamp(CAST(${col} AS BIGINT) / 1000)`} ELSE CAST(${col} AS ${to}) END`;
          const expr = c.type === 'timestamp_ntz' ? ms('TIMESTAMP') : c.type === 'timestamp_ltz' || c.type === 'timestamp_tz' ? ms('TIMESTAMPTZ')
            : c.type === 'fixed' ? `CAST(${col} AS DECIMAL(38,0))` : c.type === 'real' ? `CAST(${col} AS DOUBLE)`
            : c.type === 'boolean' ? `CAST(${col} AS BOOLEAN)` : c.type === 'date' ? `CAST(${col} AS DATE)` : col;
          return `${expr} AS ${col}`;
        });
        await conn.run(`CREATE TABLE ${dbName}.${schema}.${name} AS SELECT ${typed.join(', ')} FROM ${raw}; DROP TABLE ${raw}`);
      }
      await this.opts.warehouseSetup?.(conn);
      conn.closeSync();
      return db;
    })();
    return this.warehouse;
  }

  private sessionConn(session: Session): Promise<DuckDBConnection> {
    let c = this.sessionConns.get(session.token);
    if (!c) {
      c = this.warehouseDb().then(async (db) => {
        const conn = await db.connect();
        await conn.run(`SET TimeZone = 'UTC'`);
        return conn;
      });
      this.sessionConns.set(session.token, c);
    }
    return c;
  }

  /** Execute mode: the statement on the session's DuckDB connection, its rows in Snowflake's wire format. */
  private async executeSql(session: Session, sql: string, queryId: string, res: http.ServerResponse): Promise<void> {
    this.executed.push(sql);
    const conn = await this.sessionConn(session);
    let reader;
    try {
      reader = await conn.runAndReadAll(snowflakeToDuckdb(sql));
    } catch (err) {
      return json(res, 200, { success: false, code: '001003', message: `SQL compilation error: ${(err as Error).message}`, data: { queryId, sqlState: '42000', errorCode: '001003' } });
    }
    const names = reader.columnNames();
    const types = reader.columnTypes().map((t) => String(t));
    const cols = reader.getColumns();
    const rowtype = names.map((name, j) => rowtypeOf({ name: name.toUpperCase(), type: wireType(types[j]) }));
    const rowset: (string | null)[][] = [];
    for (let i = 0; i < reader.currentRowCount; i++) rowset.push(names.map((_, j) => wireValue(types[j], cols[j][i])));
    this.lastResultRows = rowset.length;
    const text = JSON.stringify({
      success: true, code: null, message: null,
      data: {
        parameters: [{ name: 'TIMEZONE', value: this.sessionTimezone }, ...SESSION_PARAMETERS.filter((p) => p.name !== 'TIMEZONE')],
        rowtype, rowset, queryId, version: 1, statementTypeId: 4096, total: rowset.length, returned: rowset.length,
        finalDatabaseName: session.database, finalSchemaName: session.schema,
      },
    });
    this.resultBytesUncompressed += Buffer.byteLength(text);
    if ((res as { acceptsGzip?: boolean }).acceptsGzip) {
      const body = gzipSync(text);
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    }
  }

  /**
   * Row boundaries: [end of the inline part, end of chunk 0, end of chunk 1, ..., total].
   * Fixed `chunkRows`, or sizes growing CHUNK_GROWTH-fold from `firstChunkBytes` up to the cap.
   */
  private chunkStarts(table: FakeTable, columns: Projection[], total: number): number[] {
    const fixed = this.opts.chunkRows;
    if (fixed !== undefined || total === 0) {
      const rows = fixed ?? 50_000;
      if (total <= rows) return [total];
      const starts = [0];
      for (let start = rows; start < total; start += rows) starts.push(start);
      starts.push(total);
      return starts;
    }
    const sample = Math.min(total, 200);
    let bytes = 0;
    for (let r = 0; r < sample; r++) bytes += JSON.stringify(this.wireRow(table, columns, r)).length + 1;
    const capMb = !this.opts.ignoreSessionChunkSize && this.sessionChunkSizeMb !== undefined ? this.sessionChunkSizeMb : this.opts.chunkCapMb ?? 160;
    return planChunks(total, bytes / sample, this.opts.firstChunkBytes ?? MB, capMb * MB);
  }

  private chunk(url: URL, res: http.ServerResponse): void {
    const [, , queryId, n] = url.pathname.split('/');
    const result = this.results.get(queryId);
    const k = Number(n);
    if (!result || !(k >= 0 && k < result.starts.length - 1)) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    result.asked = Math.max(result.asked, k);
    const preparing = result.prepared.get(k);
    if (preparing) {
      this.chunksMadeAhead++;
      const send = (body: ChunkBody) => {
        result.prepared.delete(k);
        this.sendChunk(queryId, result, k, body, res);
      };
      preparing.then(send, () => send(this.makeChunk(result, k)));
      this.prepareNext(queryId);
      return;
    }
    this.sendChunk(queryId, result, k, this.keptChunk(result, k) ?? this.makeChunk(result, k), res);
    this.prepareNext(queryId);
  }

  private get gzip(): boolean {
    return this.opts.gzipChunks ?? this.opts.chunkRows === undefined;
  }

  private keyOf(result: OpenResult, k: number): string {
    return `${result.columns.map((c) => `${c.index}:${c.convert?.to ?? ''}`).join(',')}/${result.starts[k]}-${result.starts[k + 1]}`;
  }

  private keptChunk(result: OpenResult, k: number): ChunkBody | undefined {
    return this.opts.keepChunks ? this.kept.get(result.table)?.get(this.keyOf(result, k)) : undefined;
  }

  private keep(result: OpenResult, k: number, body: ChunkBody): void {
    if (!this.opts.keepChunks) return;
    if (!this.kept.has(result.table)) this.kept.set(result.table, new Map());
    this.kept.get(result.table)!.set(this.keyOf(result, k), body);
  }

  /** Chunk k's response body, made now. */
  private makeChunk(result: OpenResult, k: number): ChunkBody {
    const parts: string[] = [];
    for (let r = result.starts[k]; r < result.starts[k + 1]; r++) parts.push(JSON.stringify(this.wireRow(result.table, result.columns, r)));
    const body = Buffer.from(parts.join(','), 'utf8');
    parts.length = 0;
    const made = { body: this.gzip ? gzipSync(body, { level: 1 }) : body, bytes: body.length };
    this.keep(result, k, made);
    return made;
  }

  /** Chunk k's response body, made in slices of rows with requests answered between them. */
  private async prepareChunk(result: OpenResult, k: number): Promise<ChunkBody> {
    const kept = this.keptChunk(result, k);
    if (kept) return kept;
    const parts: string[] = [];
    const end = result.starts[k + 1];
    for (let r = result.starts[k]; r < end;) {
      const sliceEnd = Math.min(end, r + 20_000);
      for (; r < sliceEnd; r++) parts.push(JSON.stringify(this.wireRow(result.table, result.columns, r)));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const body = Buffer.from(parts.join(','), 'utf8');
    parts.length = 0;
    const made = { body: this.gzip ? await new Promise<Buffer>((resolve, reject) => gzip(body, { level: 1 }, (err, out) => (err ? reject(err) : resolve(out)))) : body, bytes: body.length };
    this.keep(result, k, made);
    return made;
  }

  /** With prepareAhead: starts making the next chunk not yet made or asked for, one at a time. */
  private prepareNext(queryId: string): void {
    const result = this.results.get(queryId);
    const ahead = this.opts.prepareAhead ?? 0;
    if (!result || ahead <= 0 || result.making) return;
    const last = result.starts.length - 2;
    let k = result.asked + 1;
    while (k <= last && (result.prepared.has(k) || result.served.has(k))) k++;
    if (k > last || k > result.asked + ahead) return;
    result.making = true;
    const made = this.prepareChunk(result, k);
    result.prepared.set(k, made);
    const next = () => {
      result.making = false;
      this.prepareNext(queryId);
    };
    made.then(next, next);
  }

  private sendChunk(queryId: string, result: OpenResult, k: number, kept: ChunkBody, res: http.ServerResponse): void {
    const gzip = this.gzip;
    this.chunkBytes.push(kept.bytes);
    result.served.add(k);
    if (result.served.size >= result.starts.length - 1) this.results.delete(queryId);
    if (gzip) {
      res.writeHead(200, { 'content-type': 'binary/octet-stream', ...(this.opts.gzipWithoutHeader ? {} : { 'content-encoding': 'gzip' }) });
    } else {
      res.writeHead(200, { 'content-type': 'binary/octet-stream' });
    }
    res.end(kept.body);
  }

  private wireRow(table: FakeTable, columns: Projection[], r: number): (string | null)[] {
    const row = table.rows ? table.rows[r] : table.row!(r);
    return columns.map((c) => {
      const v = row[c.index] ?? null;
      if (!c.convert || v === null) return encode(c.type, v);
      return c.convert.to === 'text' ? v : epochMs(c.convert.from, v);
    });
  }
}

/** A chunk's response body (gzipped or not) and its uncompressed size. */
interface ChunkBody {
  body: Buffer;
  bytes: number;
}

/** An open result: chunk n holds rows starts[n] .. starts[n+1]-1. */
interface OpenResult {
  table: FakeTable;
  columns: Projection[];
  starts: number[];
  served: Set<number>;
  /** The highest chunk number asked for. */
  asked: number;
  /** Chunks being made or made ahead (prepareAhead), not yet sent. */
  prepared: Map<number, Promise<ChunkBody>>;
  making?: boolean;
}

/**
 * Snowflake-like chunk boundaries for `total` rows of about `rowBytes` each: an inline part
 * of `firstBytes`, then chunks growing CHUNK_GROWTH-fold from `firstBytes` up to `capBytes`.
 * Returns [end of the inline part, end of chunk 0, ..., total].
 */
export function planChunks(total: number, rowBytes: number, firstBytes: number, capBytes: number): number[] {
  const rowsFor = (bytes: number) => Math.max(1, Math.floor(bytes / rowBytes));
  let size = Math.min(capBytes, firstBytes);
  const starts = [Math.min(total, rowsFor(size))];
  let at = starts[0];
  while (at < total) {
    at = Math.min(total, at + rowsFor(size));
    starts.push(at);
    size = Math.min(capBytes, size * CHUNK_GROWTH);
  }
  return starts;
}

export async function startFakeSnowflake(opts: FakeSnowflakeOptions): Promise<FakeSnowflake> {
  return new FakeSnowflake(opts).start();
}

/** Snowflake's public-key fingerprint: SHA256:<base64 of sha256(DER SPKI)>. */
export function publicKeyFingerprint(publicKeyPem: string | KeyObject): string {
  const key = typeof publicKeyPem === 'string' ? createPublicKey(publicKeyPem) : publicKeyPem;
  const der = key.export({ format: 'der', type: 'spki' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

function verifyJwt(token: string, user: FakeUser, account: string): string | undefined {
  if (!user.publicKeyPem) return 'no public key registered';
  const parts = token.split('.');
  if (parts.length !== 3) return 'not a JWT';
  let header: { alg?: string };
  let claims: { iss?: string; sub?: string; exp?: number; iat?: number };
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return 'undecodable JWT';
  }
  if (header.alg !== 'RS256') return `alg ${header.alg}`;
  const ok = cryptoVerify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), createPublicKey(user.publicKeyPem), Buffer.from(parts[2], 'base64url'));
  if (!ok) return 'bad signature';
  const expected = `${account}.${user.name.toUpperCase()}`;
  if (claims.sub !== expected) return `sub ${claims.sub}`;
  if (claims.iss !== `${expected}.${publicKeyFingerprint(user.publicKeyPem)}`) return `iss ${claims.iss}`;
  // The Node driver writes iat/exp in milliseconds; accept seconds too.
  const exp = Number(claims.exp);
  const expMs = exp > 1e12 ? exp : exp * 1000;
  if (!Number.isFinite(expMs) || expMs < Date.now()) return 'expired';
  return undefined;
}

/**
 * Evaluates the incremental delta filter the Snowflake source sends:
 *   WHERE "ID" IN (SELECT "ID" FROM <table> WHERE "U" >= TO_TIMESTAMP_xx(?) OR "U" IS NULL) OR "ID" IS NULL
 * Returns undefined for any other WHERE (or none).
 */
function deltaFilter(sql: string, bindings: QueryRecord['bindings'], table: FakeTable): ((row: (string | null)[]) => boolean) | undefined | 'unsupported' {
  const m = /\bWHERE ("(?:[^"]|"")+") IN \(SELECT \1 FROM [^()]+ WHERE ("(?:[^"]|"")+") >= TO_TIMESTAMP_(N?TZ)\(\?\) OR \2 IS NULL\) OR \1 IS NULL$/.exec(sql);
  if (!m) return undefined;
  const name = (q: string) => q.slice(1, -1).replace(/""/g, '"');
  const ci = table.columns.findIndex((c) => c.name === name(m[1]));
  const ui = table.columns.findIndex((c) => c.name === name(m[2]));
  if (ci < 0 || ui < 0) return 'unsupported';
  const type = table.columns[ui].type;
  const bind = String(bindings?.['1']?.value);
  const since = m[3] === 'NTZ' ? Date.parse(`${bind.replace(' ', 'T')}Z`) : Date.parse(bind);
  const time = (v: string) => (/^-?\d+$/.test(v) ? Number(v) : Number(epochMs(type, v)));
  const changed = new Set<string>();
  const rows = table.rows ?? { length: table.rowCount ?? 0 };
  const rowAt = (i: number) => (table.rows ? table.rows[i] : table.row!(i));
  for (let i = 0; i < rows.length; i++) {
    const row = rowAt(i);
    const id = row[ci];
    const u = row[ui];
    if (id !== null && (u === null || time(u) >= since)) changed.add(id);
  }
  return (row) => row[ci] === null || changed.has(row[ci]!);
}

/**
 * Evaluates the window filter the Snowflake source sends (and nothing else):
 *   WHERE C IS NULL OR (C <= TO_TIMESTAMP_xx(?) [AND (R IS NULL OR R >= TO_TIMESTAMP_xx(?) [OR C >= TO_TIMESTAMP_xx(?)])])
 * or, open-ended (the incremental replica), WHERE R IS NULL OR R >= TO_TIMESTAMP_xx(?) [OR C >= TO_TIMESTAMP_xx(?)]
 * where C and R are a quoted column, or for text columns
 *   TRY_TO_TIMESTAMP_TZ(CASE WHEN REGEXP_LIKE(TRIM("X"), '<pattern>') THEN TRIM("X") END)
 * (the pattern matched against the whole text, as REGEXP_LIKE does; the text parsed as an
 * ISO time, naive text read in the session's zone, UTC). TO_TIMESTAMP_TZ binds are
 * instants; TO_TIMESTAMP_NTZ binds are wall clocks compared with the wall clock of an NTZ
 * column. Returns undefined when there is no WHERE clause.
 */
function windowFilter(sql: string, bindings: QueryRecord['bindings'], table: FakeTable): ((row: (string | null)[]) => boolean) | undefined | 'unsupported' {
  const at = sql.search(/\bWHERE\b/i);
  if (at < 0) return undefined;
  const expr = String.raw`"(?:[^"]|"")+"|TRY_TO_TIMESTAMP_TZ\(CASE WHEN REGEXP_LIKE\(TRIM\("(?:[^"]|"")+"\), '[^']*'\) THEN TRIM\("(?:[^"]|"")+"\) END\)`;
  const re = new RegExp(String.raw`^WHERE (${expr}) IS NULL OR \(\1 <= TO_TIMESTAMP_(N?TZ)\(\?\)(?: AND \((${expr}) IS NULL OR \3 >= TO_TIMESTAMP_(N?TZ)\(\?\)(?: OR \1 >= TO_TIMESTAMP_(N?TZ)\(\?\))?\))?\)$`);
  const open = new RegExp(String.raw`^WHERE (${expr}) IS NULL OR \1 >= TO_TIMESTAMP_(N?TZ)\(\?\)(?: OR (${expr}) >= TO_TIMESTAMP_(N?TZ)\(\?\))?$`).exec(sql.slice(at));
  // The open-ended form (no created_at bound): as the full form with as_of at infinity; its
  // created_at appears only in the baseline bound.
  const m = open ? [open[0], open[3] ?? null, null, open[1], open[2], open[4]] : re.exec(sql.slice(at));
  if (!m) return 'unsupported';
  if (!table.rows) return undefined; // generated tables (bench): every row is in the window
  const binds = bindings ?? {};
  const bindTime = (v: string, kind: string): number => (kind === 'NTZ' ? Date.parse(`${v.replace(' ', 'T')}Z`) : Date.parse(v));
  /** The column an expression reads, and how to get its time from a row (null: NULL). */
  const reader = (e: string): ((row: (string | null)[]) => number | null) | undefined => {
    const text = /^TRY_TO_TIMESTAMP_TZ\(CASE WHEN REGEXP_LIKE\(TRIM\("((?:[^"]|"")+)"\), '([^']*)'\)/.exec(e);
    const name = (text ? text[1] : e.slice(1, -1)).replace(/""/g, '"');
    const i = table.columns.findIndex((c) => c.name === name);
    if (i < 0) return undefined;
    if (text) {
      const pattern = new RegExp(`^(?:${text[2]})$`);
      return (row) => {
        const v = row[i]?.trim();
        if (v === undefined || !pattern.test(v)) return null;
        const iso = v.replace(' ', 'T');
        const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`);
        return Number.isNaN(ms) ? null : ms;
      };
    }
    const type = table.columns[i].type;
    return (row) => {
      const v = row[i];
      if (v === null) return null;
      return type === 'timestamp_ntz' || type === 'date' ? Date.parse(`${v.replace(' ', 'T')}${type === 'date' ? 'T00:00:00' : ''}Z`) : Date.parse(v);
    };
  };
  const created = m[1] ? reader(m[1]) : () => 0;
  const resolved = m[3] ? reader(m[3]) : undefined;
  if (!created || (m[3] && !resolved)) return 'unsupported';
  const asOf = m[1] && !open ? bindTime(String(binds['1']?.value), m[2]!) : Infinity;
  const wsBind = open ? '1' : '2';
  const ws = m[3] ? bindTime(String(binds[wsBind]?.value), m[4]!) : null;
  const bs = m[5] ? bindTime(String(binds[String(Number(wsBind) + 1)]?.value), m[5]) : null;
  return (row) => {
    const c = created(row);
    if (c === null && !open) return true;
    if (c !== null && !(c <= asOf)) return false;
    if (!resolved) return true;
    const r = resolved(row);
    return r === null || r >= ws! || (bs !== null && c !== null && c >= bs);
  };
}

/** The Snowflake wire type of a DuckDB result column (execute mode). */
function wireType(duck: string): FakeColumnType {
  if (duck === 'VARCHAR') return 'text';
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(duck) || duck.startsWith('DECIMAL')) return 'fixed';
  if (duck === 'DOUBLE' || duck === 'FLOAT') return 'real';
  if (duck === 'BOOLEAN') return 'boolean';
  if (duck === 'DATE') return 'date';
  if (duck === 'TIMESTAMP') return 'timestamp_ntz';
  if (duck === 'TIMESTAMP WITH TIME ZONE') return 'timestamp_ltz';
  throw new Error(`fake: no Snowflake wire type for a ${duck} result column`);
}

/** A DuckDB value as Snowflake's JSON wire value (execute mode). */
function wireValue(duck: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const t = wireType(duck);
  if (t === 'boolean') return v ? '1' : '0';
  if (t === 'date') return String((v as { days: number }).days);
  if (t === 'timestamp_ntz' || t === 'timestamp_ltz') {
    const us = BigInt((v as { micros: bigint }).micros);
    const secs = us >= 0n ? us / 1000000n : -((-us + 999999n) / 1000000n);
    return `${secs}.${String((us - secs * 1000000n) * 1000n).padStart(9, '0')}`;
  }
  if (t === 'fixed' && typeof v === 'object') return String(v);
  return String(v);
}

function rowtypeOf(c: FakeColumn): Record<string, unknown> {
  const base = { name: c.name, nullable: true, database: 'DB', schema: 'S', table: 'T', collation: null };
  switch (c.type) {
    case 'text': return { ...base, type: 'text', length: 16777216, byteLength: 16777216, precision: null, scale: null };
    case 'fixed': return { ...base, type: 'fixed', precision: 38, scale: 0, length: null, byteLength: null };
    case 'real': return { ...base, type: 'real', precision: null, scale: null };
    case 'boolean': return { ...base, type: 'boolean', precision: null, scale: null };
    case 'date': return { ...base, type: 'date', precision: null, scale: null };
    default: return { ...base, type: c.type, precision: 0, scale: 9, length: null, byteLength: null };
  }
}

/**
 * DATE_PART(EPOCH_MILLISECOND, ...) of a readable value: TIMESTAMP_TZ / TIMESTAMP_LTZ after
 * CONVERT_TIMEZONE('UTC', ...) give the instant's epoch; TIMESTAMP_NTZ (and DATE cast to
 * NTZ) the epoch of the wall clock read as UTC.
 */
export function epochMs(type: FakeColumnType, v: string): string {
  if (/^-?\d+$/.test(v)) return v; // generated tables may give epoch milliseconds directly
  let ms: number;
  if (type === 'timestamp_ntz') ms = Date.parse(`${v.replace(' ', 'T')}Z`);
  else if (type === 'date') ms = Date.parse(`${v}T00:00:00Z`);
  else if (type === 'timestamp_tz' || type === 'timestamp_ltz') ms = Date.parse(v);
  else throw new Error(`fake: DATE_PART on ${type}`);
  if (Number.isNaN(ms)) throw new Error(`fake: bad ${type} value ${v}`);
  return String(ms);
}

/** Readable value -> Snowflake JSON wire value for the column type. */
export function encode(type: FakeColumnType, v: string | null): string | null {
  if (v === null) return null;
  switch (type) {
    case 'timestamp_ntz': {
      const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/.exec(v);
      if (!m) throw new Error(`fake: bad NTZ value ${v}`);
      const secs = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0)) / 1000;
      return `${secs}.${(m[7] ?? '').padEnd(9, '0')}`;
    }
    case 'timestamp_ltz': {
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw new Error(`fake: bad LTZ value ${v}`);
      return epochSeconds(ms);
    }
    case 'timestamp_tz': {
      const ms = Date.parse(v);
      const m = /(Z|([+-])(\d{2}):?(\d{2}))$/.exec(v);
      if (Number.isNaN(ms) || !m) throw new Error(`fake: bad TZ value ${v}`);
      const offset = m[1] === 'Z' ? 0 : (m[2] === '-' ? -1 : 1) * (Number(m[3]) * 60 + Number(m[4]));
      return `${epochSeconds(ms)} ${offset + 1440}`;
    }
    case 'date': return String(Date.parse(`${v}T00:00:00Z`) / 86400000);
    default: return v;
  }
}

function epochSeconds(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${s}.${String(ms - s * 1000).padStart(3, '0')}000000`;
}

function splitIdentifiers(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2].toUpperCase());
  return out;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (const ch of s) {
    if (ch === '"') quote = !quote;
    if (!quote && ch === '(') depth++;
    if (!quote && ch === ')') depth--;
    if (!quote && depth === 0 && ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  const buf = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  return JSON.parse(buf.toString('utf8'));
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
