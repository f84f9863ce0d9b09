/**
 * Streaming into DuckDB: the extract's rows come from `statement.streamRows()` and go into
 * the raw staging table through the DuckDB appender, in data chunks of DuckDB's vector size,
 * so memory stays flat: only the driver's current and prefetched result chunks are held
 * besides the table itself, and DuckDB spills what exceeds its stage limit to disk.
 */
import type { Connection, RowStatement } from 'snowflake-sdk';
import { DOUBLE, DuckDBDataChunk, VARCHAR } from '@duckdb/node-api';
import { exec, lit } from '../../db/engine';
import type { SourceContext } from '../types';
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
  // moves the rest to its temp folder; then the run's engine gets its default limit back
  // (nothing else sets one).
  await exec(ctx.conn, `SET memory_limit = ${lit(STAGE_MEMORY_LIMIT)}`);
  try {
    return await append(statement, plan, ctx, rawTable, activity);
  } finally {
    await exec(ctx.conn, 'RESET memory_limit');
  }
}

/**
 * Appends the streamed rows in data chunks of DuckDB's vector size: numbers go into the
 * chunk's typed arrays, and there is one call into DuckDB per text value and per chunk,
 * instead of one per value and per row with the row appender.
 */
async function append(statement: RowStatement, plan: Plan[], ctx: SourceContext, rawTable: string, activity: Activity): Promise<number> {
  const appender = await ctx.conn.createAppender(rawTable);
  const width = plan.length;
  const numeric = plan.map((p) => p.kind !== 'text');
  const types = numeric.map((n) => (n ? DOUBLE : VARCHAR));
  const size = CHUNK_ROWS;
  const columns: (number | string | null)[][] = plan.map(() => new Array(size));
  let n = 0;
  let rows = 0;
  // One chunk, reset after each append: its memory is DuckDB's, freed only when the JS
  // object is collected, so a new chunk per batch would hold more.
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
          if (n === size) {
            // Backpressure: no rows are taken from the driver while DuckDB appends, and the
            // event loop gets a turn before the next batch.
            stream.pause();
            flush();
            setImmediate(() => stream.resume());
          }
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
