/**
 * Streaming into DuckDB: the extract's rows go into the raw staging table through the
 * DuckDB appender, in data chunks of DuckDB's vector size, so memory stays flat.
 *
 * The result chunks are read as byte streams and parsed row by row as they arrive
 * (rowParser.ts): only DuckDB's current data chunk and a few network buffers are held,
 * whatever size Snowflake gives its chunks, and no object is made per row. The next chunk's
 * download starts while the current one is parsed, so the warehouse's time to first byte
 * is hidden. When the driver's internals cannot be reached (driverPatch.ts), the rows come
 * from the driver's own `statement.streamRows()` instead, which parses each chunk whole.
 */
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Connection, RowStatement } from 'snowflake-sdk';
import { DOUBLE, DuckDBDataChunk, VARCHAR, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { exec, lit, restoreMemoryLimitSql } from '../../db/engine';
import { SourceError, type SourceContext } from '../types';
import { chunkAttemptsAllowed, rawResultOf, type ChunkFailure, type RawResult } from './driverPatch';
import { ChunkFormatError, ChunkRowParser, type RowSink } from './rowParser';
import { run } from './session';
import type { Plan } from './typePlan';

/** Rows per appended data chunk: DuckDB's vector size, the most a chunk holds. */
const CHUNK_ROWS = 2048;
/** DuckDB's memory limit while rows stream in (the rest goes to its temp folder). */
const STAGE_MEMORY_LIMIT = '128MB';

/** Something the load's deadline can stop: set while rows stream. */
export interface Activity {
  cancel?: () => void;
}

/** Runs the extract as a streamed statement and appends every row to `rawTable`; returns the row count. */
export async function streamInto(connection: Connection, sql: string, binds: string[], plan: Plan[], ctx: SourceContext, rawTable: string, activity: Activity): Promise<number> {
  const statement = await run(connection, sql, binds, true);
  // While rows stream in, DuckDB keeps at most STAGE_MEMORY_LIMIT of them in memory and
  // moves the rest to its temp folder; then the run's engine gets its own limit back
  // (KPI_MEMORY_LIMIT, or DuckDB's default).
  await exec(ctx.conn, `SET memory_limit = ${lit(STAGE_MEMORY_LIMIT)}`);
  try {
    const raw = rawResultOf(statement);
    return raw ? await appendChunks(raw, plan, ctx, rawTable, activity) : await append(statement, plan, ctx, rawTable, activity);
  } finally {
    await exec(ctx.conn, restoreMemoryLimitSql(ctx.conn));
  }
}

/**
 * Column batches of DuckDB's vector size: numbers go into the chunk's typed arrays, and
 * there is one call into DuckDB per text value and per chunk, instead of one per value and
 * per row with the row appender.
 */
class Batch implements RowSink {
  readonly columns: (number | string | null)[][];
  n = 0;
  rows = 0;
  private readonly chunk: DuckDBDataChunk;

  private constructor(private readonly appender: DuckDBAppender, readonly numeric: boolean[]) {
    this.columns = numeric.map(() => new Array(CHUNK_ROWS));
    // One chunk, reset after each append: its memory is DuckDB's, freed only when the JS
    // object is collected, so a new chunk per batch would hold more.
    this.chunk = DuckDBDataChunk.create(numeric.map((n) => (n ? DOUBLE : VARCHAR)));
  }

  static async open(conn: DuckDBConnection, table: string, plan: Plan[]): Promise<Batch> {
    return new Batch(await conn.createAppender(table), plan.map((p) => p.kind !== 'text'));
  }

  /** The row at index n is complete. */
  commit(): void {
    this.n++;
    this.rows++;
    if (this.n === CHUNK_ROWS) this.flush();
  }

  flush(): void {
    const n = this.n;
    if (n === 0) return;
    const chunk = this.chunk;
    chunk.reset();
    chunk.rowCount = n;
    for (let c = 0; c < this.columns.length; c++) {
      const vector = chunk.getColumnVector(c);
      const values = this.columns[c];
      for (let r = 0; r < n; r++) vector.setItem(r, values[r] as never);
      vector.flush();
    }
    this.appender.appendDataChunk(chunk);
    this.n = 0;
  }

  /** Appends what is left and closes the appender. */
  finish(): void {
    this.flush();
    this.appender.closeSync();
  }

  /** After a failure: the table is dropped by the caller. */
  abandon(): void {
    try {
      this.appender.closeSync();
    } catch {
      /* nothing to keep */
    }
  }

  /** A value the driver parsed (inline rows, or the driver's own row stream). */
  put(c: number, v: unknown): void {
    this.columns[c][this.n] = v === null || v === undefined ? null
      : this.numeric[c] ? +(v as string)
      : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

/** A failure of result chunk `number`, in the form errors.ts reports. */
function chunkError(err: unknown, number: number, attempts: number | undefined): unknown {
  const failure: ChunkFailure = { chunkNumber: number, chunkAttempts: attempts };
  if (err && typeof err === 'object') return Object.assign(err, failure);
  return Object.assign(new Error(String(err)), failure);
}

/**
 * Reads the result's parts in order: the inline rows, then each chunk streamed and parsed
 * as it arrives. The next chunk is requested as soon as the current one starts, and read
 * only when its turn comes (its bytes wait in the socket, bounded by TCP flow control).
 */
async function appendChunks(raw: RawResult, plan: Plan[], ctx: SourceContext, rawTable: string, activity: Activity): Promise<number> {
  const batch = await Batch.open(ctx.conn, rawTable, plan);
  const width = plan.length;
  const open = new Set<Readable>();
  let cancelled = false;
  let stop: ((err: Error) => void) | undefined;
  activity.cancel = () => {
    cancelled = true;
    for (const s of open) s.destroy();
    stop?.(new Error('cancelled'));
  };
  const downloads = new Map<number, Promise<Readable>>();
  const download = (k: number): Promise<Readable> | undefined => {
    const chunk = raw.chunks[k];
    if (!chunk?.url || cancelled) return undefined;
    let p = downloads.get(k);
    if (!p) {
      p = new Promise<Readable>((resolve, reject) => raw.fetch(chunk, (err, body) => {
        if (err || !body) reject(err ?? new Error('empty response'));
        else if (cancelled) {
          // Arrived after the load stopped: nobody will read it.
          body.destroy();
          reject(new Error('cancelled'));
        } else {
          open.add(body);
          resolve(body);
        }
      }));
      // Awaited when its turn comes; a failure before then is not "unhandled".
      p.catch(() => undefined);
      downloads.set(k, p);
    }
    return p;
  };
  const nextUrlChunk = (after: number) => raw.chunks.findIndex((c, i) => i > after && c.url);
  try {
    let number = 0;
    for (let k = 0; k < raw.chunks.length; k++) {
      const chunk = raw.chunks[k];
      if (chunk.rowset) {
        for (const row of chunk.rowset) {
          if (row.length !== width) throw new SourceError(`Snowflake result: an inline row has ${row.length} values, expected ${width}`);
          for (let c = 0; c < width; c++) batch.put(c, row[c]);
          batch.commit();
        }
        continue;
      }
      number++;
      let body: Readable;
      try {
        body = await download(k)!;
      } catch (err) {
        throw chunkError(err, number, chunkAttemptsAllowed());
      }
      const next = nextUrlChunk(k);
      if (next >= 0) download(next);
      const parser = new ChunkRowParser(width, batch.numeric, batch);
      try {
        await new Promise<void>((resolve, reject) => {
          stop = reject;
          readBody(body, parser, resolve, reject);
        });
      } catch (err) {
        if (err instanceof ChunkFormatError) throw new SourceError(`Snowflake result chunk ${number} is malformed: ${err.message}`);
        if (cancelled) throw err;
        // Bytes were lost mid-body: not retried (its first rows are already appended).
        throw chunkError(err, number, undefined);
      } finally {
        open.delete(body);
        stop = undefined;
      }
      if (parser.rows !== chunk.rowCount) throw new SourceError(`Snowflake result chunk ${number} has ${parser.rows} rows, expected ${chunk.rowCount}`);
    }
    batch.finish();
    return batch.rows;
  } catch (err) {
    cancelled = true;
    for (const s of open) s.destroy();
    batch.abandon();
    throw err;
  } finally {
    activity.cancel = undefined;
  }
}

/** Feeds a chunk body to the parser; gunzips it when it still starts with gzip's magic bytes. */
function readBody(body: Readable, parser: ChunkRowParser, resolve: () => void, reject: (err: unknown) => void): void {
  let first = true;
  const onData = (data: Buffer) => {
    if (first) {
      first = false;
      // The HTTP client gunzips a body sent with Content-Encoding: gzip; a stored object
      // served without that header arrives still compressed.
      if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
        body.off('data', onData);
        body.off('end', onEnd);
        const gunzip = createGunzip();
        gunzip.on('data', onData);
        gunzip.on('end', onEnd);
        gunzip.on('error', reject);
        gunzip.write(data);
        body.pipe(gunzip);
        return;
      }
    }
    try {
      parser.push(data);
    } catch (err) {
      body.destroy();
      reject(err);
    }
  };
  const onEnd = () => {
    try {
      parser.end();
      resolve();
    } catch (err) {
      reject(err);
    }
  };
  body.on('data', onData);
  body.on('end', onEnd);
  body.on('error', reject);
  body.on('aborted', () => reject(new Error('the download was aborted')));
}

/** The driver's own row stream (when its internals cannot be reached): each chunk parsed whole by the driver. */
async function append(statement: RowStatement, plan: Plan[], ctx: SourceContext, rawTable: string, activity: Activity): Promise<number> {
  const batch = await Batch.open(ctx.conn, rawTable, plan);
  const width = plan.length;
  try {
    await new Promise<void>((resolve, reject) => {
      const stream = statement.streamRows();
      activity.cancel = () => {
        stream.destroy();
        reject(new Error('cancelled'));
      };
      stream.on('data', (row: unknown[]) => {
        try {
          for (let i = 0; i < width; i++) batch.put(i, row[i]);
          batch.commit();
          if (batch.n === 0) {
            // Backpressure: no rows are taken from the driver while DuckDB appends, and the
            // event loop gets a turn before the next batch.
            stream.pause();
            setImmediate(() => stream.resume());
          }
        } catch (err) {
          stream.destroy();
          reject(err);
        }
      });
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    batch.finish();
    return batch.rows;
  } catch (err) {
    batch.abandon();
    throw err;
  } finally {
    activity.cancel = undefined;
  }
}
