/**
 * The one way the jobs (alerts, digest) write to Slack channels: paced per channel, Retry-After
 * honoured, and never a blind re-post.
 *
 * - The WebClient under it must not retry on its own (`createPostClient`: retries 0,
 *   `rejectRateLimitedCalls: true`). A WebClient that retries a chat.postMessage whose answer
 *   was lost posts the message twice, and one that absorbs 429s hides them from the pacer.
 * - Pacing: one `ChannelPacer` per process (`processPacer()`), shared by every job, so a
 *   digest and alerts in the same channel are paced together. Channel names are mapped to
 *   the ids Slack answers with, so a name and its id share one budget.
 * - A 429 (or `ratelimited`) means Slack did not post: the channel's next slot moves back by
 *   Retry-After and the same call is tried again, up to `maxRateLimitRetries`.
 * - Any other failure without an answer (connection reset, timeout, 5xx) may have posted. A
 *   message is only posted again after the "already posted?" lookup: every post carries its
 *   key in message metadata, found with conversations.history / conversations.replies. When
 *   that lookup is impossible (no history scope), `postOnce` gives up for now and says so
 *   (`SlackMaybePostedError`): the caller keeps the message for later instead of guessing.
 */
import type { ChatPostMessageArguments, WebClient } from '@slack/web-api';
import { silentLogger, type Logger } from '../support/log';
import { ChannelPacer, processPacer } from './pacer';
import { uploadFiles, type UploadRequest, type UploadedFile } from './client';

interface SlackErr {
  code?: string;
  retryAfter?: number;
  data?: { error?: string };
  message?: string;
  original?: { message?: string };
}

/** Seconds to wait when Slack (or WebClient after its own retries) reports a rate limit; else null. */
export function retryAfterOf(e: unknown): number | null {
  const err = e as SlackErr;
  if (err?.code === 'slack_webapi_rate_limited_error') return Number.isFinite(err.retryAfter) ? Number(err.retryAfter) : 1;
  if (err?.code === 'slack_webapi_platform_error' && err.data?.error === 'ratelimited') return 1;
  const msg = `${err?.message ?? ''} ${err?.original?.message ?? ''}`;
  const m = /rate limit was exceeded.*retry-after: (\d+)/i.exec(msg);
  if (m) return Number(m[1]);
  return null;
}

/** A Retry-After header (seconds or an HTTP date) in ms, or undefined. */
export function retryAfterHeaderMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Slack answered and did not post (429, ok:false): safe to try again without a lookup. */
export function definitelyNotPosted(e: unknown): boolean {
  return retryAfterOf(e) !== null || (e as SlackErr)?.code === 'slack_webapi_platform_error';
}

/** Slack refused for good (ok:false other than a rate limit): trying again will not help. */
export function refused(e: unknown): boolean {
  return (e as SlackErr)?.code === 'slack_webapi_platform_error' && retryAfterOf(e) === null;
}

export function slackErrorText(e: unknown): string {
  const err = e as SlackErr;
  return (err?.data?.error ? `${err.data.error}` : err?.message ?? String(e)).slice(0, 300);
}

/** The post may or may not be in Slack, and the lookup could not tell. */
export class SlackMaybePostedError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'SlackMaybePostedError';
  }
}

/** Message metadata that identifies a post: `{event_type, event_payload: {msg_id}}`. */
export interface PostKey {
  eventType: string;
  msgId: string;
}

export interface PostOnceOptions {
  /** An earlier attempt may have reached Slack: look before the first post. */
  mayBePosted?: boolean;
  /** Lower bound for the lookup in channel history (default: 10 minutes ago). */
  since?: Date;
  /** Lost answers tolerated in this call, each followed by a lookup (default: the transport's). 0: give up at once (the caller looks later). */
  maxLostAnswers?: number;
  /** When the lookup is impossible (no history scope), post anyway: a duplicate is the lesser evil than a lost message (default true). */
  postIfCannotLook?: boolean;
}

export interface Posted {
  ts: string;
  /** Channel id Slack answered with (or the one given when it did not say). */
  channel: string;
  /** Found already in Slack by the lookup (not posted by this call). */
  reconciled: boolean;
}

export interface TransportStats {
  rateLimited: number;
  posted: number;
  reconciled: number;
}

export interface TransportOptions {
  client: WebClient;
  /** Default: the process-wide pacer. */
  pacer?: ChannelPacer;
  log?: Logger;
  /** 429s tolerated per call before giving up (default 10). */
  maxRateLimitRetries?: number;
  /** Lost answers tolerated per post (each followed by a lookup) before giving up (default 2). */
  maxLostAnswers?: number;
  now?: () => Date;
  upload?: (client: WebClient, req: UploadRequest) => Promise<UploadedFile[]>;
}

type HistoryMessage = { ts?: string; metadata?: { event_type?: string; event_payload?: { msg_id?: string } }; files?: { name?: string }[] };

export class SlackTransport {
  readonly client: WebClient;
  readonly pacer: ChannelPacer;
  readonly stats: TransportStats = { rateLimited: 0, posted: 0, reconciled: 0 };
  private readonly log: Logger;
  private readonly maxRateLimitRetries: number;
  private readonly maxLostAnswers: number;
  private readonly now: () => Date;
  private readonly uploadFn: (client: WebClient, req: UploadRequest) => Promise<UploadedFile[]>;
  private readonly channelIds = new Map<string, string>();

  constructor(o: TransportOptions) {
    this.client = o.client;
    this.pacer = o.pacer ?? processPacer();
    this.log = o.log ?? silentLogger();
    this.maxRateLimitRetries = o.maxRateLimitRetries ?? 10;
    this.maxLostAnswers = o.maxLostAnswers ?? 2;
    this.now = o.now ?? (() => new Date());
    this.uploadFn = o.upload ?? uploadFiles;
  }

  /** The pacing key of a channel: its id once Slack told us, else what we were given. */
  key(channel: string): string {
    return this.channelIds.get(channel) ?? channel;
  }

  /** Records that `channel` (a name) is the channel with id `id`: both share one pacing budget. */
  learn(channel: string, id: string | undefined | null): void {
    if (!id || channel === id || this.channelIds.get(channel) === id) return;
    this.channelIds.set(channel, id);
    // The name's budget was used just now: the id starts one interval out.
    this.pacer.backoff(id, this.pacer.intervalMs);
  }

  /**
   * One Slack write through the channel's pacer. A rate limit waits Retry-After (the
   * channel's next slot moves back) and tries the same call again; other errors are thrown.
   */
  async call<T>(channel: string, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await this.pacer.run(this.key(channel), fn);
      } catch (e) {
        const ra = retryAfterOf(e);
        if (ra === null || i >= this.maxRateLimitRetries) throw e;
        this.stats.rateLimited += 1;
        this.log.info({ channel, retryAfter: ra }, 'Slack rate limit: waiting Retry-After before trying the same call again');
        this.pacer.backoff(this.key(channel), ra * 1000);
      }
    }
  }

  /**
   * Posts a message exactly once: it carries `key` in its metadata; after a lost answer (or
   * when `mayBePosted`) it is looked up first and only posted when it is not there.
   */
  async postOnce(args: ChatPostMessageArguments & { channel: string }, key: PostKey, opts: PostOnceOptions = {}): Promise<Posted> {
    const channel = args.channel;
    const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
    let maybe = Boolean(opts.mayBePosted);
    let lost = 0;
    const maxLost = opts.maxLostAnswers ?? this.maxLostAnswers;
    for (;;) {
      if (maybe) {
        const found = await this.findPosted(channel, (m) => m.metadata?.event_payload?.msg_id === key.msgId, { threadTs, since: opts.since });
        // Cannot look: before any attempt of ours, post (the caller's policy); after a lost answer in this call, stop.
        if (found === undefined && (lost > 0 || opts.postIfCannotLook === false)) {
          throw new SlackMaybePostedError(`cannot check Slack for an earlier post of ${key.msgId}`);
        }
        if (found) {
          this.stats.reconciled += 1;
          this.log.warn({ msgId: key.msgId }, 'message found already posted after an interrupted attempt; not posting again');
          return { ts: found, channel: this.key(channel), reconciled: true };
        }
      }
      try {
        const metadata = { event_type: key.eventType, event_payload: { msg_id: key.msgId } };
        const res = await this.call(channel, () => this.client.chat.postMessage({ ...args, metadata } as ChatPostMessageArguments));
        if (!res.ts) throw new Error('chat.postMessage returned no ts');
        const id = res.channel ? String(res.channel) : channel;
        this.learn(channel, id);
        this.stats.posted += 1;
        return { ts: String(res.ts), channel: id, reconciled: false };
      } catch (e) {
        if (definitelyNotPosted(e)) throw e;
        lost += 1;
        this.log.warn({ msgId: key.msgId, error: slackErrorText(e) }, 'Slack did not answer a post: it may have been posted; looking before trying again');
        if (lost > maxLost) throw new SlackMaybePostedError(`no answer from Slack for ${key.msgId}: ${slackErrorText(e)}`, e);
        maybe = true;
      }
    }
  }

  /** Uploads files (one files.uploadV2), paced and Retry-After honoured like a post. */
  async upload(req: UploadRequest): Promise<UploadedFile[]> {
    return this.call(req.channel, () => this.uploadFn(this.client, req));
  }

  /** chat.update, paced. */
  async update(channel: string, ts: string, text: string, blocks: unknown[]): Promise<void> {
    await this.call(channel, () => this.client.chat.update({ channel, ts, text, blocks: blocks as never }));
  }

  /**
   * Looks for a message in Slack: in a thread (conversations.replies) or in the channel since
   * `since` (conversations.history). Its ts (for a file match, `file:<ts>`), null when it is
   * not there, undefined when Slack could not be asked (no history scope, channel name).
   */
  async findPosted(
    channel: string,
    match: (m: HistoryMessage) => boolean,
    where: { threadTs?: string; since?: Date },
  ): Promise<string | null | undefined> {
    try {
      let messages: HistoryMessage[];
      const ch = this.key(channel);
      if (where.threadTs) {
        const res = await this.client.conversations.replies({ channel: ch, ts: where.threadTs, include_all_metadata: true, limit: 1000 });
        messages = (res.messages ?? []) as HistoryMessage[];
      } else {
        const since = where.since ?? new Date(this.now().getTime() - 10 * 60_000);
        const oldest = String(Math.floor(since.getTime() / 1000) - 60);
        const res = await this.client.conversations.history({ channel: ch, oldest, include_all_metadata: true, limit: 200 });
        messages = (res.messages ?? []) as HistoryMessage[];
      }
      const m = messages.find(match);
      return m?.ts ?? null;
    } catch (e) {
      this.log.warn({ channel, error: slackErrorText(e) }, 'cannot check Slack for an interrupted post');
      return undefined;
    }
  }
}

let shared: SlackTransport | null = null;

/** The process's transport for a client (one per client; all share the process pacer). */
export function processTransport(client: WebClient, log?: Logger): SlackTransport {
  if (!shared || shared.client !== client) shared = new SlackTransport({ client, log });
  return shared;
}
