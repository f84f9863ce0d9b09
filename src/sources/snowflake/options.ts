/**
 * Loading and configuring the driver, and settings -> connection options.
 *
 * No calls besides Snowflake itself: cloud-platform detection (AWS/Azure/GCP metadata
 * endpoints and AWS STS), the connection-shape telemetry event and the native "minicore"
 * are turned off with the driver's environment switches before it is first loaded; the
 * driver's winston file logger (snowflake.log in the working directory) is replaced by our
 * logger. OCSP certificate checks stay on for https (fail-open, the driver default); an
 * http loopback access URL (tests, the bench) involves no certificate and no proxy.
 *
 * The driver's own login retries are off (sfRetryMaxLoginRetries: 0): its loop can run for
 * minutes, and a load retries itself (index.ts).
 */
import type { Connection, ConnectionOptions } from 'snowflake-sdk';
import type { Settings } from '../../config/settings';
import { redact, type Logger } from '../../support/log';
import { SourceError } from '../types';
import { errorMessage } from './errors';
import { readPrivateKey, type Authenticator } from './credentials';
import { patchDriver, setDriverRetryCap } from './driverPatch';
import { unquote } from './identifiers';
import { driverLogger } from './session';

export type Sdk = typeof import('snowflake-sdk');

/** Snowflake holds a query-request up to ~45 s before answering "still running": never time out sooner. */
const MIN_REQUEST_TIMEOUT_MS = 60_000;

let sdkModule: Sdk | undefined;

/** The driver, loaded on first use with its environment switches set and its retries capped. */
export function sdk(): Sdk {
  if (sdkModule) return sdkModule;
  // Read once, at module load, by the driver: they must be set before the first require.
  process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION ??= 'true';
  process.env.SF_TELEMETRY_DISABLE_CONNECTION_SHAPE ??= 'true';
  process.env.SNOWFLAKE_DISABLE_MINICORE ??= 'true';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sdkModule = require('snowflake-sdk') as Sdk;
  patchDriver();
  return sdkModule;
}

/** Process-wide driver settings: log level, our logger, no proxy for a loopback access URL. */
export function configureDriver(sf: Sdk, s: Settings, log: Logger): void {
  const loopback = s.SNOWFLAKE_ACCESS_URL ? isLoopback(s.SNOWFLAKE_ACCESS_URL) : false;
  sf.configure({
    logLevel: 'WARN',
    customLogger: driverLogger(log),
    ...(loopback ? { useEnvProxy: false } : {}),
  });
}

/** The connection options for one load: names, credentials, request timeout, driver behaviour. */
export function connectionOptions(s: Settings, authenticator: Authenticator): ConnectionOptions {
  const requestTimeout = Math.min(s.SNOWFLAKE_QUERY_TIMEOUT_MS, Math.max(s.SNOWFLAKE_CONNECT_TIMEOUT_MS, MIN_REQUEST_TIMEOUT_MS));
  const options: ConnectionOptions & Record<string, unknown> = {
    account: s.SNOWFLAKE_ACCOUNT!,
    username: s.SNOWFLAKE_USER,
    authenticator,
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
    // One chunk downloads while the current one drains (the driver's default is two), and
    // the row stream buffers one DuckDB data chunk's worth of rows.
    resultPrefetch: 1,
    rowStreamHighWaterMark: 2048,
    clientSessionKeepAlive: false,
    clientStoreTemporaryCredential: false,
    clientRequestMFAToken: false,
  };
  switch (authenticator) {
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

function isLoopback(url: string): boolean {
  try {
    const h = new URL(url).hostname;
    return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);
  } catch {
    return false;
  }
}

/**
 * A connection of the driver for one load or session (not yet connected): the driver loaded
 * and configured, its retries capped. A configuration the driver refuses is a SourceError,
 * its message without secrets.
 */
export function createConnection(s: Settings, authenticator: Authenticator, log: Logger): Connection {
  const sf = sdk();
  setDriverRetryCap(s.SNOWFLAKE_RETRIES);
  configureDriver(sf, s, log);
  try {
    return sf.createConnection(connectionOptions(s, authenticator));
  } catch (err) {
    throw new SourceError(`Snowflake configuration: ${redact(errorMessage(err))}`);
  }
}
