/**
 * Parses the text after `/kpi`: `<sub> [priority=P1] [region=EMEA] [team="Tier 2"] [days=7] [public]`,
 * or `explain CASE_ID [public]`.
 * Pure and synchronous: validation errors become a usage message, never an exception.
 */
import { type CaseFilter, type Priority } from '../../../contract/report';
import { priorityOf } from '../../../contract/columns';

export const SUBCOMMANDS = ['help', 'sla', 'quality', 'backlog', 'risk', 'trend', 'summary', 'status', 'run', 'explain'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

/** Subcommands that answer from a report and so accept filters. */
export const REPORT_SUBCOMMANDS: readonly Subcommand[] = ['sla', 'quality', 'backlog', 'risk', 'trend', 'summary'];

const SUB_ALIASES: Record<string, Subcommand> = {
  '': 'help', '?': 'help', h: 'help', usage: 'help',
  compliance: 'sla', dq: 'quality', 'data-quality': 'quality',
  'at-risk': 'risk', atrisk: 'risk', volume: 'trend', daily: 'summary', ops: 'summary',
  health: 'status', refresh: 'run',
};

export const MIN_DAYS = 1;
export const MAX_DAYS = 365;
const MAX_VALUE_LENGTH = 80;

export interface ParsedCommand {
  ok: true;
  sub: Subcommand;
  filter: CaseFilter;
  /** `days=N`: the window of the answer (default: the run's window). */
  windowDays?: number;
  /** `public`: answer in the channel, CSV into the channel. */
  public: boolean;
  /** `explain CASE_ID`: the case to explain. */
  caseId?: string;
}

export interface ParseError {
  ok: false;
  /** What was wrong, for the person (no stack trace, no internals). */
  error: string;
  sub?: Subcommand;
}

/** Splits on spaces, keeping "quoted values" (straight or curly double quotes) together. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /(\S*?)(?:"([^"]*)"|\u201c([^\u201d]*)\u201d)|(\S+)/g;
  const s = text.replace(/\s+/g, ' ').trim();
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    if (m[4] !== undefined) out.push(m[4]);
    else out.push(`${m[1]}${m[2] ?? m[3] ?? ''}`);
  }
  return out;
}

export function normalisePriority(raw: string): Priority | undefined {
  return priorityOf(raw);
}

export function parseKpiCommand(text: string | undefined): ParsedCommand | ParseError {
  const tokens = tokenize(text ?? '');
  const head = (tokens.shift() ?? '').toLowerCase();
  const sub: Subcommand | undefined = (SUBCOMMANDS as readonly string[]).includes(head) ? (head as Subcommand) : SUB_ALIASES[head];
  if (!sub) return { ok: false, error: `"${clip(head)}" is not a /kpi subcommand.` };

  if (sub === 'explain') return parseExplain(tokens);

  const filter: CaseFilter = {};
  let windowDays: number | undefined;
  let isPublic = false;
  for (const tok of tokens) {
    const lower = tok.toLowerCase();
    if (lower === 'public' || lower === '--public') {
      isPublic = true;
      continue;
    }
    const m = /^([A-Za-z_-]+)\s*[=:]\s*(.*)$/.exec(tok);
    if (!m) return { ok: false, sub, error: `I don't understand "${clip(tok)}". Filters look like priority=P1, region=EMEA, team=billing, policy=enterprise, days=7.` };
    const key = m[1].toLowerCase();
    const value = m[2].trim();
    if (!value) return { ok: false, sub, error: `${key}= needs a value.` };
    if (value.length > MAX_VALUE_LENGTH) return { ok: false, sub, error: `The value of ${key} is too long (at most ${MAX_VALUE_LENGTH} characters).` };
    switch (key) {
      case 'priority':
      case 'prio':
      case 'p': {
        const p = normalisePriority(value);
        if (!p) return { ok: false, sub, error: `priority must be P1, P2, P3 or P4 (or urgent, high, normal, low); got "${clip(value)}".` };
        filter.priority = p;
        break;
      }
      case 'region':
        filter.region = value;
        break;
      case 'team':
      case 'queue':
        filter.team = value;
        break;
      case 'policy':
      case 'sla-policy':
        filter.policy = value;
        break;
      case 'days':
      case 'window': {
        const n = /^\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isInteger(n) || n < MIN_DAYS || n > MAX_DAYS) {
          return { ok: false, sub, error: `days must be a whole number from ${MIN_DAYS} to ${MAX_DAYS}; got "${clip(value)}".` };
        }
        windowDays = n;
        break;
      }
      default:
        return { ok: false, sub, error: `Unknown filter "${clip(key)}". Filters are priority, region, team, policy and days.` };
    }
  }
  const hasFilters = Object.keys(filter).length > 0 || windowDays !== undefined;
  if (hasFilters && !REPORT_SUBCOMMANDS.includes(sub)) {
    return { ok: false, sub, error: `/kpi ${sub} takes no filters.` };
  }
  return { ok: true, sub, filter, windowDays, public: isPublic };
}

/** `explain CASE_ID [public]`: one case id (quoted when it has spaces). */
function parseExplain(tokens: string[]): ParsedCommand | ParseError {
  const sub: Subcommand = 'explain';
  const isPublic = tokens.some((t) => ['public', '--public'].includes(t.toLowerCase()));
  const rest = tokens.filter((t) => !['public', '--public'].includes(t.toLowerCase()));
  if (rest.length === 0) return { ok: false, sub, error: 'explain needs a case id, e.g. /kpi explain C-1001.' };
  if (rest.length > 1) return { ok: false, sub, error: `explain takes one case id; got "${clip(rest.join(' '))}".` };
  const caseId = rest[0].trim();
  if (!caseId) return { ok: false, sub, error: 'explain needs a case id, e.g. /kpi explain C-1001.' };
  if (caseId.length > MAX_VALUE_LENGTH) return { ok: false, sub, error: `The case id is too long (at most ${MAX_VALUE_LENGTH} characters).` };
  return { ok: true, sub, filter: {}, public: isPublic, caseId };
}

function clip(s: string): string {
  const t = s.replace(/[`*_~<>]/g, '');
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}
