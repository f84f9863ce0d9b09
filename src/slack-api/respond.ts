/**
 * Posting to a slash command's response_url, with bounded retries.
 *
 * Bolt's respond() posts once and throws on a non-2xx status; a 429 from Slack would lose
 * the answer. Here a 429 waits the Retry-After Slack asks for (capped), 5xx and network
 * errors back off, and the post is tried a few times. Each attempt is a single POST, so a
 * refused attempt (429/5xx) is not a delivered message: retrying never duplicates one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Block } from '../render/slack/format';
import { errorText } from '../support/errors';
import { retryAfterHeaderMs } from './transport';
import { safeOutgoing } from './outgoing';

export interface ResponseMessage {
  text: string;
  blocks?: Block[];
  response_type?: 'ephemeral' | 'in_channel';
  replace_original?: boolean;
}

export interface PostResponseOptions {
  /** Extra attempts after the first (default 4). */
  retries?: number;
  /** Longest single wait in ms (default 30 s). */
  maxWaitMs?: number;
  /** First backoff in ms when Slack gives no Retry-After (default 500). */
  baseDelayMs?: number;
  /** Per-attempt timeout in ms (default 10 s). */
  timeoutMs?: number;
  fetchFn?: typeof fetch;
}

export class ResponseUrlError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'ResponseUrlError';
  }
}

export async function postResponse(url: string, message: ResponseMessage, opts: PostResponseOptions = {}): Promise<void> {
  const retries = opts.retries ?? 4;
  const maxWait = opts.maxWaitMs ?? 30_000;
  const base = opts.baseDelayMs ?? 500;
  const doFetch = opts.fetchFn ?? fetch;
  const body = JSON.stringify(safeOutgoing({ replace_original: false, ...message }));
  let lastError = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    let wait = Math.min(maxWait, base * 2 ** attempt);
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      // Drain the body so the connection can be reused.
      await res.text().catch(() => '');
      if (res.ok) return;
      lastError = `response_url answered HTTP ${res.status}`;
      if (res.status === 429) {
        wait = Math.min(maxWait, retryAfterHeaderMs(res.headers.get('retry-after')) ?? wait);
      } else if (res.status < 500) {
        // 4xx other than 429 (expired or used-up response_url): retrying will not help.
        throw new ResponseUrlError(lastError, res.status);
      }
    } catch (e) {
      if (e instanceof ResponseUrlError) throw e;
      lastError = `response_url post failed: ${errorText(e)}`;
    }
    if (attempt < retries) await sleep(wait);
  }
  throw new ResponseUrlError(`${lastError} (gave up after ${retries + 1} attempts)`);
}
