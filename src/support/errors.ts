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

/**
 * Text from the input made safe for a terminal, a log line or Slack: control characters
 * (C0, DEL, C1, line/paragraph separators, bidi overrides) shown as escapes, and values
 * longer than `max` characters cut with an ellipsis.
 */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const n = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}
