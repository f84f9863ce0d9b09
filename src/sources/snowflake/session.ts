/**
 * One Snowflake session as promises: connect, execute a statement, close (bounded, never
 * failing a load), a deadline helper, and the adapter that sends the driver's log lines to
 * our logger.
 */
import type { Connection, RowStatement } from 'snowflake-sdk';
import type { Logger } from '../../support/log';
import { redact } from '../../support/log';

export function connect(connection: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      connection.connect((err) => (err ? reject(err) : resolve()));
    } catch (err) {
      reject(err);
    }
  });
}

/** Executes one statement with binds; `stream` leaves the rows to `streamRows()`. */
export function run(connection: Connection, sqlText: string, binds: string[], stream = false): Promise<RowStatement> {
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
export async function disconnect(connection: Connection, timeoutMs: number, log: Logger): Promise<void> {
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

/** `p`, or the error of `onTimeout()` after `ms` (then `cancel()` stops what `p` was doing). */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error, cancel?: () => void): Promise<T> {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The driver's log lines go to our logger (secret-masked by the driver and again by ours). */
export function driverLogger(log: Logger) {
  const child = log.child({ component: 'snowflake-sdk' });
  return {
    error: (m: string) => child.warn(redact(m)),
    warn: (m: string) => child.warn(redact(m)),
    info: (m: string) => child.debug(redact(m)),
    debug: (m: string) => child.trace(redact(m)),
    trace: (m: string) => child.trace(redact(m)),
  };
}
