/**
 * The Slack format kit: numbers, times, durations, escaping and Block Kit pieces, shared by
 * every Slack message (digest, replies, status, alerts). They format numbers the report
 * already holds (rounded by the pipeline); they never compute a KPI.
 */
import type { types } from '@slack/bolt';
import type { CaseFilter } from '../../contract/report';

export type Block = types.KnownBlock;

export interface Reply {
  /** Notification / fallback text. */
  text: string;
  blocks: Block[];
}

export const DASH = '–';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function pct(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : `${v.toFixed(1)}%`;
}

export function hours(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : `${v.toFixed(2)} h`;
}

export function int(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : Math.round(v).toLocaleString('en-US');
}

/** `2026-11-23T09:00:00Z` -> `2026-11-23 09:00 UTC`. */
export function when(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

export function ago(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return DASH;
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** "P1 · EMEA · team billing · last 7 days" (or "all cases · last 30 days"). */
export function scopeText(filter: CaseFilter, windowDays: number, plain = false): string {
  const e = plain ? (s: string) => s : esc;
  const parts: string[] = [];
  if (filter.priority) parts.push(filter.priority);
  if (filter.region) parts.push(`region ${e(filter.region)}`);
  if (filter.team) parts.push(`team ${e(filter.team)}`);
  if (filter.policy) parts.push(`policy ${e(filter.policy)}`);
  if (parts.length === 0) parts.push('all cases');
  parts.push(`last ${windowDays} day${windowDays === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** A fixed-width table in a code block (Slack has no table block for bot messages). */
export function table(header: string[], rows: string[][], maxRows = 20, totalRows = rows.length): string {
  const shown = rows.slice(0, maxRows);
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ').trimEnd();
  const out = [line(header), ...shown.map(line)];
  if (totalRows > shown.length) out.push(`… ${(totalRows - shown.length).toLocaleString('en-US')} more in the CSV`);
  // Keep under Slack's 3000-character section limit.
  let text = out.join('\n');
  if (text.length > 2900) text = `${text.slice(0, 2880)}\n…`;
  return '```\n' + text.replace(/```/g, "'''") + '\n```';
}

export function header(text: string): Block {
  return { type: 'header', text: { type: 'plain_text', text: text.slice(0, 150), emoji: true } };
}

export function section(markdown: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: markdown.slice(0, 3000) } };
}

export function fields(pairs: [string, string][]): Block {
  return { type: 'section', fields: pairs.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn' as const, text: `*${k}*\n${v}` })) };
}

export function context(...texts: string[]): Block {
  return { type: 'context', elements: texts.filter(Boolean).slice(0, 10).map((t) => ({ type: 'mrkdwn' as const, text: t.slice(0, 3000) })) };
}

export function divider(): Block {
  return { type: 'divider' };
}

/** `2026-11-23 09:00 UTC` in the report time zone. */
export function formatTime(iso: string, tz: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
    }).formatToParts(d).map((p) => [p.type, p.value]),
  );
  const hour = parts.hour === '24' ? '00' : parts.hour;
  return `${parts.year}-${parts.month}-${parts.day} ${hour}:${parts.minute} ${tz}`;
}

/** A time each reader sees in their own zone; the fallback is in the report zone. */
export function slackTime(iso: string, tz: string): string {
  const unix = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(unix)) return esc(iso);
  return `<!date^${unix}^{date_short_pretty} {time}|${formatTime(iso, tz)}>`;
}

/** `1h 30m`, `45m`, `2d 3h`. */
export function formatDuration(hours: number): string {
  const mins = Math.round(Math.abs(hours) * 60);
  if (mins < 60) return `${mins}m`;
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  if (h >= 48) return `${Math.floor(h / 24)}d ${h % 24}h`;
  return m ? `${h}h ${m}m` : `${h}h`;
}

/** Cuts text to `max` characters (code points kept whole), ending with an ellipsis. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const chars = Array.from(s);
  let out = '';
  for (const ch of chars) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/** "2026-11-23" -> "Mon 23 Nov 2026" (the date is already a day in the report's zone). */
export function longDate(d: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (!m) return d;
  const wd = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDay();
  return `${WEEKDAYS[wd]} ${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
}

/** An instant shown in a time zone: "2026-11-23 09:00 UTC" / "2026-11-23 10:00 CET". */
export function localTime(iso: string, tz: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', {
        timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
        hourCycle: 'h23', timeZoneName: 'short',
      }).formatToParts(d).map((p) => [p.type, p.value]),
    );
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName ?? tz}`;
  } catch {
    return iso;
  }
}
