/**
 * Settings: environment variables (and `.env`), validated with zod.
 * Every variable is listed in `.env.example` and the README.
 * An invalid setting fails with a message naming the variable and the allowed values.
 */
// zod's v3 API, shipped in the zod package: it loads several times faster than the v4 API
// (which loads every locale), and every run pays that at start.
import { z } from 'zod/v3';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { PRIORITIES, type Priority } from '../contract/report';
import { CONTRACT_COLUMNS, type ContractColumn } from '../contract/columns';
import { parseAlertRouting, type AlertRouting } from './alertRoutes';
import type { SlaPolicySet } from '../contract/slaPolicy';

export const SOURCES = ['demo', 'duckdb', 'csv', 'snowflake'] as const;
export type SourceKind = (typeof SOURCES)[number];


export type CsvEncoding = 'utf-8' | 'latin-1' | 'utf-16';

/** The encodings DuckDB's CSV reader knows, by their usual spellings. */
function csvEncoding(raw: string): CsvEncoding | null {
  const k = raw.trim().toLowerCase().replace(/[_\s]/g, '-');
  if (k === 'utf-8' || k === 'utf8') return 'utf-8';
  if (['latin-1', 'latin1', 'iso-8859-1', 'iso8859-1', 'l1'].includes(k)) return 'latin-1';
  if (k === 'utf-16' || k === 'utf16' || k === 'utf-16le') return 'utf-16';
  return null;
}

/** A strptime format DuckDB knows: at least one directive, and every % starts a known one. */
function isStrptimeFormat(f: string): boolean {
  const directives = f.match(/%-?./g) ?? [];
  if (directives.length === 0) return false;
  const rest = f.replace(/%-?[aAwdebBhmyYHIpMSfgnzZjUWcxXGuVT%]/g, '');
  return !rest.includes('%') && directives.some((d) => d !== '%%');
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function isValidTimeZone(tz: string): boolean {
  // The default needs no check: the first Intl call loads ICU's data, which a UTC run never needs.
  if (tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const tz = z.string().refine(isValidTimeZone, { message: 'must be an IANA time zone such as UTC, Europe/Berlin, America/New_York' });
const list = z
  .string()
  .optional()
  .transform((s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : []));
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const cronExpr = z.string().refine((s) => {
  const n = s.trim().split(/\s+/).length;
  return n === 5 || n === 6;
}, { message: 'must be a cron expression with 5 or 6 fields, e.g. "0 8 * * *"' });

/** Parses `opened_at:created_at,ticket_id:case_id` or a JSON object; keys are the source's names. */
function parseColumnMap(raw: string | undefined): Record<string, ContractColumn> {
  if (!raw || !raw.trim()) return {};
  let pairs: [string, string][];
  const t = raw.trim();
  if (t.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch {
      throw new ConfigError('KPI_COLUMN_MAP: not valid JSON; use {"opened_at":"created_at"} or opened_at:created_at,ticket_id:case_id');
    }
    pairs = Object.entries(obj as Record<string, string>).map(([k, v]) => [k, String(v)]);
  } else {
    pairs = t.split(',').filter((p) => p.trim()).map((p) => {
      const m = p.split(/:|=/);
      if (m.length !== 2 || !m[0].trim() || !m[1].trim()) {
        throw new ConfigError(`KPI_COLUMN_MAP: "${p.trim()}" is not source_column:contract_column (e.g. opened_at:created_at)`);
      }
      return [m[0].trim(), m[1].trim()];
    });
  }
  const out: Record<string, ContractColumn> = {};
  for (const [src, dst] of pairs) {
    const d = dst.toLowerCase();
    if (!(CONTRACT_COLUMNS as readonly string[]).includes(d)) {
      throw new ConfigError(`KPI_COLUMN_MAP: "${dst}" is not a contract column; allowed: ${CONTRACT_COLUMNS.join(', ')}`);
    }
    out[src] = d as ContractColumn;
  }
  return out;
}

const DEFAULT_TARGETS: Record<Priority, { response: number; resolution: number }> = {
  P1: { response: 0.5, resolution: 4 },
  P2: { response: 1, resolution: 8 },
  P3: { response: 4, resolution: 24 },
  P4: { response: 8, resolution: 72 },
};

const envSchema = z.object({
  // Pipeline
  KPI_SOURCE: z.enum(SOURCES).default('demo'),
  KPI_CSV_PATH: z.string().optional(),
  // The source DuckDB file (duckdb and demo sources); default: the state file.
  KPI_DB_PATH: z.string().optional(),
  KPI_DUCKDB_TABLE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a table name like support_cases or main.support_cases').default('support_cases'),
  KPI_COLUMN_MAP: z.string().optional(),
  KPI_SOURCE_TZ: tz.default('UTC'),
  KPI_TIMESTAMP_FORMAT: z.string().optional().refine((f) => f === undefined || isStrptimeFormat(f), { message: 'must be a strptime format with % directives such as %d/%m/%Y %H:%M (known: %Y %y %m %d %e %H %I %M %S %f %p %z %Z %b %B %a %A %j and %%)' }),
  KPI_AS_OF: z.string().optional(),
  KPI_WINDOW_DAYS: int(1, 3660).default(30),
  KPI_TZ: tz.default('UTC'),
  KPI_RISK_THRESHOLD_PCT: num(0, 1000).default(80),
  KPI_SPIKE_THRESHOLD_PCT: num(0, 100000).default(20),
  KPI_SPIKE_BASELINE_DAYS: int(1, 365).default(7),
  // Volume anomalies (created per day against the same weekday) and the spike floor
  KPI_SPIKE_MIN_CASES: int(0, 100_000_000).default(10),
  KPI_ANOMALY_WEEKS: int(1, 52).default(6),
  KPI_ANOMALY_Z: num(0, 1000).default(3.5),
  KPI_ANOMALY_MIN_CASES: int(0, 100_000_000).default(10),
  KPI_OUTPUT_DIR: z.string().default('output'),
  KPI_LOG_DIR: z.string().default('logs'),
  KPI_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // DuckDB's memory for a run's in-memory database; what does not fit goes to the temp folder.
  KPI_MEMORY_LIMIT: z.string().regex(/^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$/i, 'must be a size like 1GB, 1500MB or 2GiB').default('1GB'),
  KPI_DEMO_CASES: int(0, 50_000_000).default(20000),
  KPI_DEMO_SEED: int(0, 2 ** 31 - 1).default(42),
  // Slack app
  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z.string().optional(),
  SLACK_API_URL: z.string().url().optional(),
  PORT: int(0, 65535).default(3000),
  KPI_DIGEST_CRON: cronExpr.default('0 8 * * *'),
  KPI_DIGEST_CHANNEL: z.string().optional(),
  KPI_DQ_MIN: num(0, 100).default(90),
  KPI_ADMINS: list,
  KPI_ALLOWED_CHANNELS: list,
  KPI_ALLOWED_USERS: list,
  KPI_CACHE_MINUTES: num(0, 1440).default(15),
  // On-call alerts
  KPI_ALERT_CRON: cronExpr.default('*/15 * * * *'),
  KPI_ALERT_CHANNEL: z.string().optional(),
  KPI_OPS_CHANNEL: z.string().optional(),
  KPI_ALERT_MAX_REPLIES: int(1, 200).default(20),
  KPI_STALE_HOURS: num(0, 100000).default(24),
  KPI_ALERTS_ENABLED: bool.default('true'),
  // Digest charts: the SLA compliance goal
  KPI_SLA_GOAL_PCT: num(0, 100).default(95),
  // Alert focus, routing and owners (docs/alerts.md)
  KPI_BREACH_HORIZON_HOURS: num(0, 100000).default(24),
  KPI_ALERT_ROUTES: z.string().optional(),
  KPI_ALERT_OWNERS: z.string().optional(),
  // Data safety: the project's own state file, strict CSV reading
  KPI_STATE_PATH: z.string().default('data/kpi.duckdb'),
  KPI_CSV_ON_ERROR: z.enum(['fail', 'skip']).default('fail'),
  KPI_CSV_ENCODING: z.string().default('utf-8').transform(csvEncoding).refine((v) => v !== null, { message: 'allowed values are utf-8, latin-1 (also iso-8859-1), utf-16' }).transform((v) => v as CsvEncoding),
  // Snowflake
  SNOWFLAKE_ACCOUNT: z.string().optional(),
  SNOWFLAKE_USER: z.string().optional(),
  SNOWFLAKE_WAREHOUSE: z.string().optional(),
  SNOWFLAKE_DATABASE: z.string().optional(),
  SNOWFLAKE_SCHEMA: z.string().optional(),
  SNOWFLAKE_ROLE: z.string().optional(),
  SNOWFLAKE_TABLE: z.string().default('SUPPORT_CASES'),
  SNOWFLAKE_AUTHENTICATOR: z.enum(['SNOWFLAKE_JWT', 'PROGRAMMATIC_ACCESS_TOKEN', 'OAUTH', 'SNOWFLAKE']).optional(),
  SNOWFLAKE_PRIVATE_KEY_PATH: z.string().optional(),
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: z.string().optional(),
  SNOWFLAKE_PRIVATE_KEY: z.string().optional(),
  SNOWFLAKE_TOKEN: z.string().optional(),
  SNOWFLAKE_PASSWORD: z.string().optional(),
  SNOWFLAKE_ACCESS_URL: z.string().url().optional(),
  SNOWFLAKE_CONNECT_TIMEOUT_MS: int(1000, 600_000).default(30_000),
  SNOWFLAKE_QUERY_TIMEOUT_MS: int(1000, 3_600_000).default(300_000),
  SNOWFLAKE_RETRIES: int(0, 10).default(2),
  // Where the KPIs are computed: local DuckDB, or inside Snowflake (docs/snowflake.md)
  KPI_COMPUTE: z.enum(['local', 'warehouse']).default('local'),
  // Incremental Snowflake loads (a replica of the source's rows in the state file)
  KPI_INCREMENTAL: bool.default('false'),
  KPI_INCREMENTAL_OVERLAP_MINUTES: int(0, 10_080).default(60),
  KPI_FULL_REFRESH: bool.default('false'),
  // SLA policies and status history (contract section 6)
  KPI_SLA_POLICY_FILE: z.string().optional(),
  KPI_HISTORY_CSV: z.string().optional(),
  KPI_HISTORY_TABLE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a table name like case_status_history or main.case_status_history').default('case_status_history'),
  KPI_HISTORY_COLUMN_MAP: z.string().optional(),
  SNOWFLAKE_HISTORY_TABLE: z.string().optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface SlaTarget {
  responseHours: number;
  resolutionHours: number;
}

export interface Settings extends Omit<Env, 'KPI_DB_PATH'> {
  /** The source DuckDB file; defaults to KPI_STATE_PATH (the project's own file). */
  KPI_DB_PATH: string;
  columnMap: Record<string, ContractColumn>;
  slaTargets: Record<Priority, SlaTarget>;
  /** KPI_ALERT_ROUTES and KPI_ALERT_OWNERS, parsed (absent when Settings were built by hand). */
  alertRouting?: AlertRouting;
  /** The SLA policies of the run (KPI_SLA_POLICY_FILE); null: the built-in `default` policy (contract 6). */
  slaPolicies: SlaPolicySet | null;
  /** Status-history column names: source column -> case_id, status or changed_at. */
  historyColumnMap: Record<string, HistoryColumn>;
}

/** Names of settings whose values are secrets: never logged, never echoed. */
export const SECRET_KEYS = [
  'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'SNOWFLAKE_PRIVATE_KEY',
  'SNOWFLAKE_PRIVATE_KEY_PASSPHRASE', 'SNOWFLAKE_TOKEN', 'SNOWFLAKE_PASSWORD',
] as const;

function describeIssue(issue: z.ZodIssue, env: Record<string, string | undefined>): string {
  const key = String(issue.path[0] ?? '');
  const secret = (SECRET_KEYS as readonly string[]).includes(key);
  const got = secret ? '' : ` (got "${env[key]}")`;
  if (issue.code === 'invalid_enum_value') {
    return `${key}${got}: allowed values are ${issue.options.join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.expected === 'number') return `${key}${got}: must be a number`;
  return `${key}${got}: ${issue.message}`;
}

/**
 * Builds settings from an environment (process.env by default, with `.env` values filling
 * what the environment does not set). Throws ConfigError naming the variable on bad input.
 */
export function loadSettings(env: Record<string, string | undefined> = defaultEnv()): Settings {
  // Empty strings mean "not set" (a copied .env.example leaves many of them empty).
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') clean[k] = v;
  const parsed = envSchema.safeParse(clean);
  if (!parsed.success) {
    let msg = `Invalid setting: ${parsed.error.issues.map((i) => describeIssue(i, clean)).join('; ')}`;
    // A secret pasted into the wrong variable must not be echoed either.
    for (const k of SECRET_KEYS) if (clean[k] && clean[k].length >= 4) msg = msg.split(clean[k]).join('[redacted]');
    throw new ConfigError(msg);
  }
  const e = parsed.data;
  const slaTargets = {} as Record<Priority, SlaTarget>;
  for (const p of PRIORITIES) {
    const resp = readHours(clean, `KPI_SLA_${p}_RESPONSE_HOURS`, DEFAULT_TARGETS[p].response);
    const reso = readHours(clean, `KPI_SLA_${p}_RESOLUTION_HOURS`, DEFAULT_TARGETS[p].resolution);
    slaTargets[p] = { responseHours: resp, resolutionHours: reso };
  }
  if (e.KPI_SPIKE_BASELINE_DAYS >= e.KPI_WINDOW_DAYS) {
    throw new ConfigError(`Invalid setting: KPI_SPIKE_BASELINE_DAYS (${e.KPI_SPIKE_BASELINE_DAYS}) must be smaller than KPI_WINDOW_DAYS (${e.KPI_WINDOW_DAYS})`);
  }
  if (e.KPI_AS_OF !== undefined) parseAsOf(e.KPI_AS_OF, 'KPI_AS_OF');
  if (e.KPI_COMPUTE === 'warehouse') {
    // Warehouse compute runs the KPI SQL inside Snowflake: only that source has a warehouse.
    const why = e.KPI_SOURCE !== 'snowflake' ? `needs KPI_SOURCE=snowflake (KPI_SOURCE is ${e.KPI_SOURCE})`
      : e.KPI_INCREMENTAL ? 'reads the table in place: KPI_INCREMENTAL (a local replica) does not apply; set one of them'
      : e.KPI_TIMESTAMP_FORMAT ? 'cannot read KPI_TIMESTAMP_FORMAT (a DuckDB strptime format); leave it unset or use KPI_COMPUTE=local'
      : undefined;
    if (why) throw new ConfigError(`Invalid setting: KPI_COMPUTE=warehouse ${why}`);
  }
  let alertRouting: AlertRouting;
  try {
    alertRouting = parseAlertRouting(e);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const columnMap = parseColumnMap(e.KPI_COLUMN_MAP);
  const dbPath = e.KPI_DB_PATH ?? e.KPI_STATE_PATH;
  const slaPolicies = loadSlaPolicies({ ...e, KPI_DB_PATH: dbPath });
  return { ...e, KPI_DB_PATH: dbPath, columnMap, slaTargets, alertRouting, slaPolicies, historyColumnMap: historyColumnMap(columnMap, e.KPI_HISTORY_COLUMN_MAP) };
}

/**
 * The policy file when KPI_SLA_POLICY_FILE names one (a mistake is a setting error naming
 * the file and the line); for the demo source without it, the demo policy file next to the
 * demo database (`kpi seed-demo` writes it; until then the same policies built in); else
 * null, the built-in `default` policy (contract 6).
 */
function loadSlaPolicies(e: Env & { KPI_DB_PATH: string }): SlaPolicySet | null {
  const file = e.KPI_SLA_POLICY_FILE ?? (e.KPI_SOURCE === 'demo' ? demoPolicyPath(e.KPI_DB_PATH) : undefined);
  if (!file) return null;
  // Loaded only when a file is named: the YAML and iCalendar readers cost every run time at start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadSlaPolicyFile, parseSlaPolicyFile, SettingError } = require('./slaPolicyFile') as typeof import('./slaPolicyFile');
  try {
    // The demo before `kpi seed-demo` has written its file: the same policies, built in.
    if (!e.KPI_SLA_POLICY_FILE && !existsSync(file)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { DEMO_POLICY_YAML } = require('./demoPolicy') as typeof import('./demoPolicy');
      return parseSlaPolicyFile(DEMO_POLICY_YAML, file, () => { throw new Error('the demo policy has no holidays_ics'); });
    }
    return loadSlaPolicyFile(file);
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(`Invalid setting: KPI_SLA_POLICY_FILE: ${err.problems.join('; ')}`);
    throw err;
  }
}

/** The demo's policy file: next to the demo database (written by `kpi seed-demo`). */
export function demoPolicyPath(dbPath: string): string {
  return join(dirname(dbPath), 'sla_policy.yml');
}

export const HISTORY_COLUMNS = ['case_id', 'status', 'changed_at'] as const;
export type HistoryColumn = (typeof HISTORY_COLUMNS)[number];

/**
 * The status history's column names: KPI_COLUMN_MAP's entries for case_id and status apply
 * to it too, KPI_HISTORY_COLUMN_MAP (same format) adds or overrides, changed_at included.
 */
function historyColumnMap(cases: Record<string, ContractColumn>, raw: string | undefined): Record<string, HistoryColumn> {
  const out: Record<string, HistoryColumn> = {};
  for (const [src, dst] of Object.entries(cases)) if (dst === 'case_id' || dst === 'status') out[src] = dst;
  if (!raw || !raw.trim()) return out;
  const t = raw.trim();
  let pairs: [string, string][];
  if (t.startsWith('{')) {
    try {
      pairs = Object.entries(JSON.parse(t) as Record<string, string>).map(([k, v]) => [k, String(v)]);
    } catch {
      throw new ConfigError('KPI_HISTORY_COLUMN_MAP: not valid JSON; use {"ticket_id":"case_id"} or ticket_id:case_id,changed:changed_at');
    }
  } else {
    pairs = t.split(',').filter((p) => p.trim()).map((p) => {
      const m = p.split(/:|=/);
      if (m.length !== 2 || !m[0].trim() || !m[1].trim()) throw new ConfigError(`KPI_HISTORY_COLUMN_MAP: "${p.trim()}" is not source_column:history_column (e.g. changed:changed_at)`);
      return [m[0].trim(), m[1].trim()];
    });
  }
  for (const [src, dst] of pairs) {
    const d = dst.toLowerCase();
    if (!(HISTORY_COLUMNS as readonly string[]).includes(d)) throw new ConfigError(`KPI_HISTORY_COLUMN_MAP: "${dst}" is not a history column; allowed: ${HISTORY_COLUMNS.join(', ')}`);
    out[src] = d as HistoryColumn;
  }
  return out;
}

function readHours(env: Record<string, string>, key: string, dflt: number): number {
  const raw = env[key];
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 100000) {
    throw new ConfigError(`Invalid setting: ${key} (got "${raw}"): must be a positive number of hours, e.g. 4 or 0.5`);
  }
  return n;
}

/** Parses an ISO 8601 instant; naive values are UTC. Truncated to whole seconds. */
export function parseAsOf(raw: string, what = '--as-of'): Date {
  const s = raw.trim();
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
  if (!iso.test(s)) {
    throw new ConfigError(`${what} "${raw}" is not an ISO 8601 time such as 2026-11-23T09:00:00Z`);
  }
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) && s.length > 10;
  const d = new Date(hasZone ? s.replace(' ', 'T') : (s.length === 10 ? `${s}T00:00:00Z` : `${s.replace(' ', 'T')}Z`));
  if (Number.isNaN(d.getTime())) throw new ConfigError(`${what} "${raw}" is not a valid time`);
  // Date() rolls an impossible day over (2026-02-30 -> 2026-03-02): check the fields as written.
  const [y, mo, da] = s.slice(0, 10).split('-').map(Number);
  const hm = /[T ](\d{2}):(\d{2})(?::(\d{2}))?/i.exec(s);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || da < 1 || da > daysInMonth || (hm && (Number(hm[1]) > 23 || Number(hm[2]) > 59 || Number(hm[3] ?? 0) > 59))) {
    throw new ConfigError(`${what} "${raw}" is not a valid time (no such date or time of day)`);
  }
  d.setUTCMilliseconds(0);
  return d;
}

export function defaultEnv(): Record<string, string | undefined> {
  const fromFile: Record<string, string> = existsSync('.env') ? parseDotenv(readFileSync('.env')) : {};
  return { ...fromFile, ...process.env };
}

export function hasSlackSettings(s: Settings): boolean {
  return Boolean(s.SLACK_BOT_TOKEN && (s.SLACK_SIGNING_SECRET || s.SLACK_APP_TOKEN));
}

/** The configured secret values (for redaction). */
export function secretValues(s: Settings): string[] {
  return SECRET_KEYS.map((k) => s[k]).filter((v): v is string => Boolean(v));
}
