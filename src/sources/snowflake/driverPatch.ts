/**
 * The one patch of the driver's internals: its statement-request and result-chunk retry
 * counts are not connection options, so they are capped to SNOWFLAKE_RETRIES through the
 * driver's connection-config prototype. Feature-detected: if the driver's layout changes,
 * nothing is patched and the outer deadlines (SNOWFLAKE_QUERY_TIMEOUT_MS) still bound
 * every load; without the patch the driver may retry a statement request up to 1000 times.
 */

let retryCap = 2;

/** The cap the patched getters return; set by each load from its settings. */
export function setDriverRetryCap(retries: number): void {
  retryCap = retries;
}

/** Applied once, right after the driver is first loaded. */
export function capDriverRetries(): void {
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
