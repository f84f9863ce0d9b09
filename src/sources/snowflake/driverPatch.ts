/**
 * The patches of the driver's internals, all feature-detected (if the driver's layout
 * changes, nothing is patched and the outer deadline SNOWFLAKE_QUERY_TIMEOUT_MS still bounds
 * every load):
 *
 * - Statement requests (query, result polling): the driver computes its retry settings in
 *   statement.js, but services/sf.js and http/base.js drop them on the way to its axios
 *   instance, whose retry interceptor then applies its defaults (7 retries, waits up to
 *   16 s); and a statement whose request failed sends it once more (statement.js
 *   `context.refresh`, same requestId). Interceptors on that axios instance, the one place
 *   every statement request passes, count the attempts per requestId: at most
 *   SNOWFLAKE_RETRIES + 1, with short waits; an attempt beyond that fails at once with the
 *   last failure's response. Without them a persistent HTTP 5xx is retried 7 times with
 *   growing waits, twice over, before a load even sees it.
 * - Result chunks: their retry count and longest wait are connection-config getters, not
 *   options: capped through the connection-config prototype. Without it a chunk is retried
 *   10 times with waits up to 16 s.
 * - Which result chunk failed: the driver's chunk error says only "Request to S3/Blob
 *   failed"; the chunk's number is attached to the error so the message can name it.
 * - Streamed result chunks (rawResultOf, fetchChunkStream): the driver downloads a chunk
 *   as one string, parses it whole and makes an object per row, so memory grows with the
 *   chunk size (Snowflake's largest chunks, and the next one prefetched). The result the
 *   driver builds for a statement is recorded (Result#getQueryId is called right after it
 *   is built), so the source can read its chunk list, and the driver's own HTTP client
 *   (proxy, TLS checks, the capped retries above) can answer a chunk as a byte stream.
 */
import type { Readable } from 'node:stream';

let retryCap = 2;
/** Longest wait between two retries of one request, in seconds. */
const MAX_RETRY_WAIT_S = 4;
/** First wait, in seconds (the driver's backoff grows it with jitter). */
const FIRST_RETRY_WAIT_S = 0.5;

/** The cap the patches apply; set by each load from its settings. */
export function setDriverRetryCap(retries: number): void {
  retryCap = retries;
}

/** What the chunk patch attaches to a failed chunk's error. */
export interface ChunkFailure {
  /** 1-based number of the chunk among the result's chunks (the inline part not counted). */
  chunkNumber?: number;
  /** Attempts made for it. */
  chunkAttempts?: number;
}

/** Applied once, right after the driver is first loaded. */
export function patchDriver(): void {
  capConfigRetries();
  capRequestRetries();
  numberChunkErrors();
  recordResults();
  streamChunkBodies();
}

function load(path: string): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(`snowflake-sdk/dist/lib/${path}`);
  } catch {
    return undefined;
  }
}

function capConfigRetries(): void {
  const proto = (load('connection/connection_config') as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  if (!proto) return;
  const set = (name: string, value: () => number) => {
    if (typeof proto[name] === 'function') proto[name] = value;
  };
  set('getRetrySfMaxNumRetries', () => retryCap);
  set('getRetrySfStartingSleepTime', () => FIRST_RETRY_WAIT_S);
  set('getRetrySfMaxSleepTime', () => MAX_RETRY_WAIT_S);
  set('getRetryLargeResultSetMaxNumRetries', () => retryCap);
  set('getRetryLargeResultSetMaxSleepTime', () => MAX_RETRY_WAIT_S);
}

interface AxiosLike {
  interceptors?: {
    request?: { use(f: (config: Record<string, unknown>) => Record<string, unknown>): unknown };
    response?: { use(ok: (r: unknown) => unknown, fail: (err: unknown) => unknown): unknown };
  };
}

/** Attempts and the last failure per statement requestId (the newest few hundred). */
const requests = new Map<string, { attempts: number; lastError?: unknown }>();

function requestIdOf(config: Record<string, unknown>): string | undefined {
  if (!config.useSnowflakeRetryMiddleware || typeof config.url !== 'string') return undefined;
  return /[?&]requestId=([^&]+)/.exec(config.url)?.[1];
}

function capRequestRetries(): void {
  const axios = (load('http/axios_instance') as { default?: AxiosLike } | undefined)?.default;
  if (!axios?.interceptors?.request || !axios.interceptors.response) return;
  // Registered after the driver's own request interceptor, so axios runs it first: the
  // driver's then merges this retry config over its defaults and keeps it across retries.
  axios.interceptors.request.use((config) => {
    const id = requestIdOf(config);
    if (!id) return config;
    let entry = requests.get(id);
    if (!entry) {
      requests.set(id, (entry = { attempts: 0 }));
      if (requests.size > 500) requests.delete(requests.keys().next().value!);
    }
    entry.attempts++;
    // The driver's response interceptor does not retry an error without a config.
    if (entry.attempts > retryCap + 1 && entry.lastError) throw entry.lastError;
    if (!config.__snowflakeRetryConfig) {
      config.snowflakeRetryConfig = { maxRetries: Math.max(0, retryCap + 1 - entry.attempts), sleepBase: FIRST_RETRY_WAIT_S, sleepCap: MAX_RETRY_WAIT_S, includeRetryReason: false };
    }
    return config;
  });
  // Registered after the driver's retry interceptor: sees what it gives up on.
  axios.interceptors.response.use((r) => r, (err) => {
    const config = (err as { config?: Record<string, unknown> })?.config;
    const id = config && requestIdOf(config);
    const entry = id ? requests.get(id) : undefined;
    if (entry) entry.lastError = err;
    return Promise.reject(err);
  });
}

interface ChunkLike {
  _statement?: object;
  _url?: string;
  load(callback?: (err: unknown, chunk: unknown) => void): void;
}

function numberChunkErrors(): void {
  const Chunk = load('connection/result/chunk') as { prototype?: ChunkLike } | undefined;
  const proto = Chunk?.prototype;
  if (!proto || typeof proto.load !== 'function') return;
  const original = proto.load;
  // Chunks are first loaded in their order; number them per statement in that order.
  const numbers = new WeakMap<object, Map<string, number>>();
  proto.load = function (this: ChunkLike, callback) {
    let number: number | undefined;
    if (this._statement && this._url) {
      let seen = numbers.get(this._statement);
      if (!seen) numbers.set(this._statement, (seen = new Map()));
      if (!seen.has(this._url)) seen.set(this._url, seen.size + 1);
      number = seen.get(this._url);
    }
    const tag = (err: unknown) => {
      if (!err || typeof err !== 'object' || number === undefined) return;
      const failure: ChunkFailure = { chunkNumber: number, chunkAttempts: retryCap + 1 };
      Object.assign(err, failure);
      // The driver hands out a copy made by externalize(), which keeps only its own fields.
      const e = err as { externalize?: () => object };
      const externalize = e.externalize;
      if (typeof externalize === 'function') e.externalize = function (this: unknown) { return Object.assign(externalize.call(this), failure); };
    };
    // Before the result stream's own listener, which ends the stream with this error.
    (this as unknown as { prependOnceListener?(e: string, f: (err: unknown) => void): void }).prependOnceListener?.('loadcomplete', tag);
    return original.call(this, callback);
  };
}

/** One part of a result: the inline rows of the query response, or a chunk to download. */
export interface RawChunk {
  rowCount: number;
  /** Rows parsed by the driver (the inline part). */
  rowset?: unknown[][];
  url?: string;
  headers?: Record<string, string>;
}

/** A statement's result as the driver received it: its parts in order and how to download one. */
export interface RawResult {
  chunks: RawChunk[];
  /** Downloads a chunk through the driver's client (retries capped); the body as a byte stream. */
  fetch(chunk: RawChunk, callback: (err: unknown, body: Readable | null) => void): void;
}

interface ResultLike {
  _statement?: object;
  _services?: { largeResultSet?: { getObject?: (options: Record<string, unknown>) => void } };
  _chunks?: { _url?: string | null; _rowset?: unknown[][]; _chunkHeaders?: Record<string, string>; _startIndex?: number; _endIndex?: number }[];
}

const results = new WeakMap<object, ResultLike>();
let resultsRecorded = false;
let bodiesStreamed = false;

function recordResults(): void {
  const Result = load('connection/result/result') as { prototype?: Record<string, unknown> } | undefined;
  const proto = Result?.prototype;
  if (!proto || typeof proto.getQueryId !== 'function') return;
  const original = proto.getQueryId as (this: ResultLike) => unknown;
  proto.getQueryId = function (this: ResultLike) {
    if (this._statement && Array.isArray(this._chunks) && !results.has(this._statement)) results.set(this._statement, this);
    return original.call(this);
  };
  resultsRecorded = true;
}

/** Chunk URLs whose body is wanted as a stream (set while one is being downloaded). */
const streamedUrls = new Set<string>();

type Callback = (err: unknown, response: { statusCode?: number; getResponseHeader?(h: string): unknown } | null, body: unknown) => unknown;

function streamChunkBodies(): void {
  const Base = load('http/base') as { prototype?: Record<string, unknown> } | undefined;
  const proto = Base?.prototype;
  if (!proto || typeof proto.request !== 'function') return;
  const original = proto.request as (this: unknown, options: Record<string, unknown>) => unknown;
  proto.request = function (this: unknown, options: Record<string, unknown>) {
    if (!options || typeof options.url !== 'string' || !streamedUrls.has(options.url)) return original.call(this, options);
    const callback = options.callback as Callback | undefined;
    return original.call(this, {
      ...options,
      responseType: 'stream',
      callback: (err: unknown, response: Parameters<Callback>[1], body: unknown) => {
        const ok = !err && response?.statusCode === 200 && response.getResponseHeader?.('Content-Type') !== 'application/xml';
        // A failed attempt's body is not read: release its connection.
        if (!ok) (body as Readable | undefined)?.destroy?.();
        return callback?.(err, response, body);
      },
    });
  };
  bodiesStreamed = true;
}

/** The driver's result for `statement`, when the patches could record it; else undefined. */
export function rawResultOf(statement: object): RawResult | undefined {
  if (!resultsRecorded || !bodiesStreamed) return undefined;
  const result = results.get(statement);
  const getObject = result?._services?.largeResultSet?.getObject;
  if (!result || !Array.isArray(result._chunks) || typeof getObject !== 'function') return undefined;
  const chunks: RawChunk[] = [];
  for (const c of result._chunks) {
    const rowCount = Number(c._endIndex) - Number(c._startIndex) + 1;
    if (!Number.isFinite(rowCount)) return undefined;
    if (Array.isArray(c._rowset)) chunks.push({ rowCount, rowset: c._rowset });
    else if (typeof c._url === 'string' && c._url) chunks.push({ rowCount, url: c._url, headers: c._chunkHeaders });
    else return undefined;
  }
  return {
    chunks,
    fetch(chunk, callback) {
      const url = chunk.url!;
      streamedUrls.add(url);
      getObject.call(result._services!.largeResultSet, {
        url,
        headers: chunk.headers,
        callback: (err: unknown, body: unknown) => {
          streamedUrls.delete(url);
          callback(err, err ? null : (body as Readable));
        },
      });
    },
  };
}

/** Attempts a result chunk gets before its download fails (the cap applied to the driver). */
export function chunkAttemptsAllowed(): number {
  return retryCap + 1;
}
