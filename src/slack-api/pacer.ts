/**
 * Per-channel pacing: Slack accepts about one message per second per channel. Every write
 * to a channel (post, update, upload) goes through `run(channel, fn)`: calls for the same
 * channel run one after another, at least `intervalMs` apart; other channels do not wait.
 * `backoff(channel, ms)` pushes the channel's next slot out (a 429's Retry-After).
 * The clock and sleep are injectable, so tests never wait.
 */
import { setTimeout as realSleep } from 'node:timers/promises';

export interface PacerOptions {
  /** Minimum gap between two calls in one channel (default 1100 ms). */
  intervalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class ChannelPacer {
  readonly intervalMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly next = new Map<string, number>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Total time waited (ms), for logs and tests. */
  waitedMs = 0;

  constructor(opts: PacerOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 1100;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => realSleep(ms).then(() => undefined));
  }

  async run<T>(channel: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(channel) ?? Promise.resolve();
    const task = prev.then(() => this.slot(channel)).then(fn);
    const tail = task.then(() => undefined, () => undefined);
    this.chains.set(channel, tail);
    try {
      return await task;
    } finally {
      if (this.chains.get(channel) === tail) this.chains.delete(channel);
    }
  }

  /** Nothing in `channel` before now + ms. */
  backoff(channel: string, ms: number): void {
    const at = this.now() + Math.max(0, ms);
    if (at > (this.next.get(channel) ?? 0)) this.next.set(channel, at);
  }

  private async slot(channel: string): Promise<void> {
    const wait = (this.next.get(channel) ?? 0) - this.now();
    if (wait > 0) {
      this.waitedMs += wait;
      await this.sleep(wait);
    }
    this.next.set(channel, Math.max(this.now(), this.next.get(channel) ?? 0) + this.intervalMs);
  }
}

let shared: ChannelPacer | null = null;

/** The one pacer of this process: every job posting to Slack shares it (per-channel budget). */
export function processPacer(): ChannelPacer {
  shared ??= new ChannelPacer();
  return shared;
}
