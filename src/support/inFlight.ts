/** How long a stopping job waits for its run in flight (a container's stop grace is 10-30 s). */
export const STOP_WAIT_MS = 20_000;

/**
 * Waits until `work` settles, at most timeoutMs. Returns false (and the caller says so in
 * its log) when the wait ran out first; the work itself is not cancelled.
 */
export async function waitForInFlight(work: Promise<unknown>, timeoutMs = STOP_WAIT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
