/**
 * Error classification: turns any failure of a load (driver error, HTTP status, SQL error,
 * our own deadline) into a SourceError that names what failed (authentication, network,
 * missing table or column, permission, timeout, configuration) without a secret, and says
 * whether retrying the whole load may help.
 */
import type { Settings } from '../../config/settings';
import { redact } from '../../support/log';
import { SourceError } from '../types';
import { AUTH_LABEL, authHint, type Authenticator } from './credentials';
import type { ChunkFailure } from './driverPatch';

/** Our own bound on signing in ('connect') or on the whole extraction ('query'). */
export class DeadlineError extends Error {
  constructor(readonly phase: 'connect' | 'query', readonly ms: number) {
    super(`${phase} timed out after ${ms} ms`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The fields of the driver's errors that classification reads. */
interface DriverError {
  name?: string;
  code?: string | number;
  message?: string;
  sqlState?: string;
  cause?: { code?: string; message?: string };
  response?: { statusCode?: number; status?: number };
}

/** Turns any failure into a SourceError naming what failed, and says whether a retry may help. */
export function classify(err: unknown, s: Settings, auth: Authenticator, table: string): { error: SourceError; transient: boolean } {
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
  const { chunkNumber, chunkAttempts } = (err ?? {}) as ChunkFailure;
  if (chunkNumber !== undefined) {
    // A result chunk comes from Snowflake's result store (cloud storage), not the account URL.
    const status = e.response?.statusCode ?? e.response?.status;
    const tries = chunkAttempts ? ` (${chunkAttempts} attempt${chunkAttempts === 1 ? '' : 's'})` : '';
    if (status !== undefined) {
      return mk(`Snowflake result chunk ${chunkNumber} failed: HTTP ${status} from the result store${tries}`, status >= 500 || status === 429 || status === 403);
    }
    const cause = e.cause?.code ?? e.cause?.message;
    return mk(`Snowflake result chunk ${chunkNumber} failed: cannot reach the result store${cause ? ` (${cause})` : ''}${tries}`, true);
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
