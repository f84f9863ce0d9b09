/**
 * A failure as the command line shows it: the message on one line, then its cause (the
 * rest of a multi-line message, or a reader's whole message kept as `detail`) indented
 * below it, control characters escaped and bounded, so nothing is lost and stderr stays
 * readable. Secrets are redacted (errorText).
 */
import { ConfigError } from '../config/settings';
import { errorText, printable } from '../support/errors';

/** Lines of a cause shown on stderr; the whole cause is in the log and in --json. */
const CAUSE_LINES = 12;

function parts(e: unknown): { message: string; rest: string; detail: string | null } {
  const text = errorText(e);
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  const rest = nl < 0 ? '' : text.slice(nl + 1).trim();
  const d = (e as { detail?: unknown } | null)?.detail;
  return { message: printable(first, 2000), rest, detail: typeof d === 'string' && d ? errorText(d) : null };
}

export function failureText(e: unknown): string {
  const { message, rest } = parts(e);
  let out = `kpi: ${message}\n`;
  // A reader's detail (the raw line, its options) stays in the log and --json: the message
  // already names the file, the line and the reason. Other messages keep every line.
  if (rest) {
    const lines = rest.split('\n').map((l) => l.trim()).filter(Boolean);
    const shown = lines.slice(0, CAUSE_LINES).map((l) => `  ${printable(l, 300)}`);
    if (lines.length > CAUSE_LINES) shown.push(`  ... (${lines.length - CAUSE_LINES} more line(s))`);
    out += `${shown.join('\n')}\n`;
  }
  return out;
}

/** The --json answer to a failure: one object on stdout. */
export function failureJson(e: unknown): { ok: false; error: string; exitCode: number; detail?: string } {
  const { message, rest, detail } = parts(e);
  const cause = detail ?? (rest ? printable(rest, 4000) : null);
  return { ok: false, error: message, exitCode: e instanceof ConfigError ? 2 : 1, ...(cause ? { detail: cause } : {}) };
}
