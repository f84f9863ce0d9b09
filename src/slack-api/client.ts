/**
 * The Slack Web API client used by the digest, alerts and slash commands.
 *
 * - `SLACK_API_URL` (tests point it at a fake server) overrides Slack's base URL.
 * - Rate limits: `rejectRateLimitedCalls: false`, so a 429 waits the Retry-After the server
 *   asks for and tries again; retries are bounded (a few attempts, capped backoff, a total
 *   time limit), so a job never hangs forever on Slack.
 * - The token never reaches a log line: the client's own logging is forwarded to our pino
 *   logger through `redact()`.
 */
import { WebClient, LogLevel, type Logger as SlackLogger, type RetryOptions } from '@slack/web-api';
import type { Settings } from '../config/settings';
import { redact, registerSecrets, type Logger } from '../support/log';
import { installOutgoingEscaping } from './outgoing';

export type { WebClient };

/** Bounded retries: up to 5 more attempts, 0.5 s .. 30 s backoff, at most ~3 minutes in all. */
export const DEFAULT_RETRY: RetryOptions = {
  retries: 5,
  factor: 2,
  minTimeout: 500,
  maxTimeout: 30_000,
  maxRetryTime: 180_000,
  randomize: true,
};

export interface SlackClientOptions {
  /** Override retry policy (tests use a fast one). */
  retryConfig?: RetryOptions;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

const ORDER: LogLevel[] = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];

/** Adapts a pino logger to @slack/logger's interface, redacting every message. */
export function slackLogger(log: Logger, initial: LogLevel = LogLevel.INFO): SlackLogger {
  let level = initial;
  let name = 'slack';
  const text = (msg: unknown[]) => redact(msg.map((m) => (typeof m === 'string' ? m : safeJson(m))).join(' '));
  const at = (l: LogLevel) => ORDER.indexOf(l) >= ORDER.indexOf(level);
  return {
    debug: (...m: unknown[]) => { if (at(LogLevel.DEBUG)) log.debug({ component: name }, text(m)); },
    info: (...m: unknown[]) => { if (at(LogLevel.INFO)) log.info({ component: name }, text(m)); },
    warn: (...m: unknown[]) => { if (at(LogLevel.WARN)) log.warn({ component: name }, text(m)); },
    error: (...m: unknown[]) => { if (at(LogLevel.ERROR)) log.error({ component: name }, text(m)); },
    setLevel: (l: LogLevel) => { level = l; },
    getLevel: () => level,
    setName: (n: string) => { name = n; },
  };
}

function safeJson(v: unknown): string {
  if (v instanceof Error) return v.message;
  try { return JSON.stringify(v); } catch { return String(v); }
}

/** A WebClient for the bot token in settings. Throws when SLACK_BOT_TOKEN is not set. */
export function createSlackClient(
  settings: Pick<Settings, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>,
  log: Logger,
  opts: SlackClientOptions = {},
): WebClient {
  const token = settings.SLACK_BOT_TOKEN;
  if (!token) throw new Error('SLACK_BOT_TOKEN is not set: the Slack client needs a bot token (xoxb-...)');
  registerSecrets([token]);
  installOutgoingEscaping();
  return new WebClient(token, {
    slackApiUrl: settings.SLACK_API_URL ?? undefined,
    logger: slackLogger(log),
    logLevel: LogLevel.INFO,
    retryConfig: opts.retryConfig ?? DEFAULT_RETRY,
    rejectRateLimitedCalls: false,
    timeout: opts.timeoutMs ?? 30_000,
  });
}

/**
 * The WebClient the jobs post with (through `SlackTransport`): no automatic retries and
 * rate-limited calls handed straight back. The transport decides about every retry: it
 * honours Retry-After in the shared pacer and re-posts only after the "already posted?"
 * lookup, so a post whose answer was lost never lands twice.
 */
export function createPostClient(
  settings: Pick<Settings, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL'>,
  log: Logger,
  opts: Pick<SlackClientOptions, 'timeoutMs'> = {},
): WebClient {
  const token = settings.SLACK_BOT_TOKEN;
  if (!token) throw new Error('SLACK_BOT_TOKEN is not set: the Slack client needs a bot token (xoxb-...)');
  registerSecrets([token]);
  return new WebClient(token, {
    slackApiUrl: settings.SLACK_API_URL ?? undefined,
    logger: slackLogger(log),
    logLevel: LogLevel.INFO,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: opts.timeoutMs ?? 30_000,
  });
}

export interface UploadFile {
  filename: string;
  content: Buffer | string;
  title?: string;
  altText?: string;
}

export interface UploadRequest {
  /** Channel id (C..., D..., G...). files.completeUploadExternal needs an id, not a #name. */
  channel: string;
  threadTs?: string;
  files: UploadFile[];
  initialComment?: string;
}

export interface UploadedFile {
  id: string;
  title?: string;
}

/**
 * Uploads several files in one files.uploadV2 call (getUploadURLExternal per file, the
 * bytes to each upload URL, one completeUploadExternal sharing them in the channel or thread).
 */
export async function uploadFiles(client: WebClient, req: UploadRequest): Promise<UploadedFile[]> {
  if (req.files.length === 0) return [];
  const file_uploads = req.files.map((f) => {
    const base = { filename: f.filename, title: f.title ?? f.filename, ...(f.altText ? { alt_text: f.altText } : {}) };
    return typeof f.content === 'string' ? { ...base, content: f.content } : { ...base, file: f.content };
  });
  const args = {
    channel_id: req.channel,
    file_uploads,
    ...(req.threadTs ? { thread_ts: req.threadTs } : {}),
    ...(req.initialComment ? { initial_comment: req.initialComment } : {}),
  };
  // The union of FilesUploadV2Arguments makes thread_ts/initial_comment combinations awkward to type.
  const res = (await client.files.uploadV2(args as Parameters<WebClient['files']['uploadV2']>[0])) as unknown as {
    files?: { files?: { id?: string; title?: string }[] }[];
  };
  const out: UploadedFile[] = [];
  for (const completion of res.files ?? []) {
    for (const f of completion.files ?? []) if (f.id) out.push({ id: f.id, title: f.title });
  }
  return out;
}
