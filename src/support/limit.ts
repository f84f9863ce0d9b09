/**
 * A small concurrency limit for the work after an ack. Acks must leave within 3 s even when
 * fifty people ask at once; if every answer's Slack calls (response_url, conversations.open,
 * the upload's three calls) started at once, they would crowd the event loop and delay the
 * acks still waiting to be sent. Answers queue for a slot instead (first come, first served).
 */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly queued: number;
}

export function createLimiter(max: number): Limiter {
  const limit = Math.max(1, Math.floor(max));
  let active = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    active -= 1;
    const next = queue.shift();
    if (next) {
      active += 1;
      next();
    }
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active >= limit) await new Promise<void>((ok) => queue.push(ok));
      else active += 1;
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get active() { return active; },
    get queued() { return queue.length; },
  };
}
