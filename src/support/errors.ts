/**
 * Errors as text: every message that leaves the process (log, stderr, --json, Slack) goes
 * through here, so secrets are redacted in one place.
 */
import { redact } from './log';

/** The message of anything thrown, secrets redacted. */
export function errorText(e: unknown): string {
  return redact(e instanceof Error ? e.message : String(e));
}

/** A one-line cause for a failure: the error's name and message, secrets redacted, bounded. */
export function describeFailure(e: unknown): string {
  const name = e instanceof Error && e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  const one = redact(`${name}${e instanceof Error ? e.message : String(e)}`).replace(/\s+/g, ' ').trim();
  return one.length > 300 ? `${one.slice(0, 297)}...` : one;
}

/** First line of an error with its name, secrets redacted: for status and /healthz. */
export function shortError(e: unknown): string {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return redact(msg.split('\n')[0]).slice(0, 300);
}
