/**
 * One file on purpose: the policy file's schema and its line-numbered checks read top to bottom
 * like the format they check (calendars, hours, holidays, policies, targets).
 *
 * The SLA policy file (contract 6.1, `KPI_SLA_POLICY_FILE`): YAML read into an
 * SlaPolicySet, checked whole before a run starts. Every mistake is a SettingError whose
 * message names the file, the line and the problem (`policies.yml:12: unknown calendar
 * "emea" ...`); all the mistakes found are reported at once, one per line, so a user fixes
 * them in one go. Without a file the run uses defaultSlaPolicySet (contract section 2).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ICAL from 'ical.js';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import {
  CALENDAR_24X7, CONDITION_KEYS, PRIORITIES, WEEKDAYS,
  type BusinessCalendar, type ConditionKey, type MinuteInterval, type PolicyConditions, type Priority,
  type PriorityTargets, type SlaPolicy, type SlaPolicySet, type Weekday,
} from '../contract/slaPolicy';

/** A setting the run cannot start with. `problems`: one `<file>:<line>: <problem>` each. */
export class SettingError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SettingError';
    this.problems = problems;
  }
}

/** Contract 1's priority aliases (case-insensitive), for `when: { priority: [...] }`. */
const PRIORITY_ALIASES: Record<Priority, string[]> = {
  P1: ['p1', '1', 'urgent', 'critical', '1 - critical'],
  P2: ['p2', '2', 'high', '2 - high'],
  P3: ['p3', '3', 'normal', 'medium', 'moderate', '3 - moderate'],
  P4: ['p4', '4', 'low', '4 - low'],
};

const emptyWeek = (): Record<Weekday, MinuteInterval[]> =>
  Object.fromEntries(WEEKDAYS.map((d) => [d, []])) as unknown as Record<Weekday, MinuteInterval[]>;

/** The built-in calendar where every hour counts. */
export function calendar24x7(): BusinessCalendar {
  return { name: CALENDAR_24X7, timezone: 'UTC', is24x7: true, weekly: emptyWeek(), holidays: [], line: null };
}

/**
 * The policy set of a run without a policy file: one policy `default` on calendar 24x7,
 * no pauses, the run's targets (hours by priority, contract section 2). Its risk stages
 * are the run's risk_threshold_pct alone.
 */
export function defaultSlaPolicySet(
  targets: Partial<Record<Priority, { firstResponseHours: number; resolutionHours: number }>>,
  riskThresholdPct: number,
): SlaPolicySet {
  const t: SlaPolicy['targets'] = {};
  for (const p of PRIORITIES) {
    const v = targets[p];
    if (v) t[p] = { firstResponseS: Math.round(v.firstResponseHours * 3600), resolutionS: Math.round(v.resolutionHours * 3600) };
  }
  return {
    file: null,
    calendars: { [CALENDAR_24X7]: calendar24x7() },
    policies: [{ name: 'default', calendar: CALENDAR_24X7, when: {}, pauseOn: [], targets: t, line: null }],
    riskStages: [riskThresholdPct],
  };
}

/** Section 2's default targets, in hours. */
export const DEFAULT_TARGET_HOURS: Record<Priority, { firstResponseHours: number; resolutionHours: number }> = {
  P1: { firstResponseHours: 0.5, resolutionHours: 4 },
  P2: { firstResponseHours: 1, resolutionHours: 8 },
  P3: { firstResponseHours: 4, resolutionHours: 24 },
  P4: { firstResponseHours: 8, resolutionHours: 72 },
};

/** Reads and checks a policy file; throws SettingError on any mistake. */
export function loadSlaPolicyFile(path: string): SlaPolicySet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SettingError([`${path}:1: cannot read the SLA policy file: ${(e as Error).message}`]);
  }
  return parseSlaPolicyFile(text, path, (ics) => readFileSync(resolve(dirname(path), ics), 'utf8'));
}

/**
 * Checks the text of a policy file named `path` (for messages). `readIcs` reads a
 * `holidays_ics` file named relative to the policy file's folder.
 */
export function parseSlaPolicyFile(text: string, path: string, readIcs: (relativePath: string) => string): SlaPolicySet {
  return new PolicyReader(text, path, readIcs).read();
}

const TOP_KEYS = ['version', 'calendars', 'risk_stages', 'policies'];
const CALENDAR_KEYS = ['timezone', 'hours', 'holidays', 'holidays_ics'];
const POLICY_KEYS = ['name', 'when', 'calendar', 'pause_on', 'targets'];
const TARGET_KEYS = ['first_response', 'resolution'];

const quote = (s: string) => JSON.stringify(s);

class PolicyReader {
  private readonly lines = new LineCounter();
  private readonly problems: string[] = [];

  constructor(private readonly text: string, private readonly path: string, private readonly readIcs: (p: string) => string) {}

  read(): SlaPolicySet {
    const doc = parseDocument(this.text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: true });
    for (const e of [...doc.errors, ...doc.warnings]) {
      // The library's own message ends with its position, which the prefix already gives.
      const problem = `${this.path}:${e.linePos?.[0]?.line ?? 1}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`;
      if (!this.problems.includes(problem)) this.problems.push(problem);
    }
    if (this.problems.length) throw new SettingError(this.problems);
    const root = doc.contents;
    if (!isMap(root)) {
      this.fail(root, 1, root == null ? 'the file is empty: it needs at least `policies:`' : 'the file must be a mapping with `policies:` (and optionally version, calendars, risk_stages)');
      throw new SettingError(this.problems);
    }
    const top = this.entries(root, TOP_KEYS, 'the top level');
    const versionNode = top.get('version');
    if (versionNode) {
      const v = isScalar(versionNode.value) ? versionNode.value.value : undefined;
      if (v !== 1) this.fail(versionNode.value, this.lineOfPair(versionNode), `unsupported version ${this.show(versionNode.value)}: this program reads version 1`);
    }
    const calendars: Record<string, BusinessCalendar> = { [CALENDAR_24X7]: calendar24x7() };
    const calPair = top.get('calendars');
    if (calPair && calPair.value != null) {
      if (!isMap(calPair.value)) this.fail(calPair.value, this.lineOfPair(calPair), '`calendars` must be a mapping of calendar names to calendars');
      else {
        for (const pair of calPair.value.items) {
          const name = this.keyName(pair);
          if (name == null) continue;
          const line = this.lineOfPair(pair);
          if (name === CALENDAR_24X7) { this.fail(null, line, `calendar ${quote(CALENDAR_24X7)} is built in and cannot be redefined`); continue; }
          if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) { this.fail(null, line, `bad calendar name ${quote(name)}: use letters, digits, '-', '_' and '.'`); continue; }
          const cal = this.calendar(name, pair, line);
          if (cal) calendars[name] = cal;
        }
      }
    }
    const riskStages = top.get('risk_stages') ? this.riskStages(top.get('risk_stages')!) : null;
    const policies: SlaPolicy[] = [];
    const polPair = top.get('policies');
    if (!polPair) this.fail(root, 1, 'missing `policies:`: the file must list at least one policy');
    else if (!isSeq(polPair.value) || polPair.value.items.length === 0) {
      this.fail(polPair.value, this.lineOfPair(polPair), '`policies` must be a non-empty list of policies (`- name: ...`)');
    } else {
      const seen = new Map<string, number>();
      for (const item of polPair.value.items) {
        const p = this.policy(item as Node, calendars, calPair != null);
        if (!p) continue;
        const earlier = seen.get(p.name.toLowerCase());
        if (earlier != null) this.fail(null, p.line!, `duplicate policy name ${quote(p.name)} (first at line ${earlier})`);
        else seen.set(p.name.toLowerCase(), p.line!);
        policies.push(p);
      }
    }
    if (this.problems.length) throw new SettingError(this.problems);
    return { file: this.path, calendars, policies, riskStages };
  }

  // --- helpers -------------------------------------------------------------------------

  private fail(node: unknown, fallbackLine: number, problem: string): void {
    this.problems.push(`${this.path}:${this.lineOf(node, fallbackLine)}: ${problem}`);
  }

  private lineOf(node: unknown, fallback: number): number {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.lines.linePos(range[0]).line : fallback;
  }

  private lineOfPair(pair: Pair): number {
    return this.lineOf(pair.key, this.lineOf(pair.value, 1));
  }

  private show(node: unknown): string {
    if (isScalar(node)) return JSON.stringify(node.value);
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    return 'nothing';
  }

  private keyName(pair: Pair): string | null {
    const k = isScalar(pair.key) ? pair.key.value : undefined;
    if (typeof k === 'string' || typeof k === 'number') return String(k);
    this.fail(pair.key, 1, 'keys must be plain names');
    return null;
  }

  /** The pairs of a mapping by key; unknown keys are problems. */
  private entries(map: YAMLMap, allowed: string[], where: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const pair of map.items) {
      const k = this.keyName(pair);
      if (k == null) continue;
      if (!allowed.includes(k)) {
        this.fail(pair.key, 1, `unknown key ${quote(k)} in ${where} (expected one of: ${allowed.join(', ')})`);
        continue;
      }
      out.set(k, pair);
    }
    return out;
  }

  /** A scalar's text (numbers as written), or a problem. */
  private string(pair: Pair, what: string): string | null {
    const v = pair.value;
    if (isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number') && String(v.value).trim() !== '') return String(v.value).trim();
    this.fail(v, this.lineOfPair(pair), `${what} must be a non-empty text, not ${this.show(v)}`);
    return null;
  }

  /** A list of scalar texts (a single scalar is a list of one). */
  private stringList(pair: Pair, what: string): string[] | null {
    const v = pair.value;
    const items = isSeq(v) ? v.items : isScalar(v) && v.value != null ? [v] : null;
    if (!items) { this.fail(v, this.lineOfPair(pair), `${what} must be a list, not ${this.show(v)}`); return null; }
    const out: string[] = [];
    for (const item of items) {
      if (isScalar(item) && (typeof item.value === 'string' || typeof item.value === 'number') && String(item.value).trim() !== '') out.push(String(item.value).trim());
      else { this.fail(item, this.lineOfPair(pair), `${what}: every item must be a non-empty text, not ${this.show(item)}`); return null; }
    }
    return out;
  }

  // --- calendars -----------------------------------------------------------------------

  private calendar(name: string, pair: Pair, line: number): BusinessCalendar | null {
    if (!isMap(pair.value)) { this.fail(pair.value, line, `calendar ${quote(name)} must be a mapping with timezone and hours`); return null; }
    const before = this.problems.length;
    const e = this.entries(pair.value, CALENDAR_KEYS, `calendar ${quote(name)}`);
    let timezone = 'UTC';
    const tz = e.get('timezone');
    if (!tz) this.fail(null, line, `calendar ${quote(name)} has no timezone (an IANA name such as Europe/Berlin)`);
    else {
      const z = this.string(tz, 'timezone');
      if (z != null) {
        const canonical = canonicalZone(z);
        if (!canonical) this.fail(tz.value, this.lineOfPair(tz), `unknown time zone ${quote(z)} (expected an IANA name such as Europe/Berlin)`);
        else timezone = canonical;
      }
    }
    const weekly = emptyWeek();
    const hours = e.get('hours');
    if (!hours) this.fail(null, line, `calendar ${quote(name)} has no hours (e.g. \`mon-fri: "09:00-17:00"\`)`);
    else if (!isMap(hours.value)) this.fail(hours.value, this.lineOfPair(hours), '`hours` must be a mapping of days (mon..sun or a range like mon-fri) to intervals');
    else {
      for (const dayPair of hours.value.items) {
        const key = this.keyName(dayPair);
        if (key == null) continue;
        const keyLine = this.lineOfPair(dayPair);
        const days = parseDayKey(key);
        if (!days) { this.fail(dayPair.key, keyLine, `bad day ${quote(key)} in hours (expected mon, tue, wed, thu, fri, sat, sun or a range like mon-fri)`); continue; }
        const v = dayPair.value;
        const raw = isScalar(v) && (typeof v.value === 'string' || v.value == null) ? (v.value ?? '') : null;
        if (raw == null) { this.fail(v, keyLine, `hours of ${key} must be text like "08:00-12:00, 13:00-18:00", not ${this.show(v)}`); continue; }
        const parsed = parseIntervals(String(raw));
        if (typeof parsed === 'string') { this.fail(v, keyLine, `hours of ${key}: ${parsed}`); continue; }
        for (const d of days) weekly[d] = parsed; // a later key overrides an earlier one
      }
      if (this.problems.length === before && WEEKDAYS.every((d) => weekly[d].length === 0)) {
        this.fail(hours.value, this.lineOfPair(hours), `calendar ${quote(name)} has no business hours on any day`);
      }
    }
    const holidays = new Set<string>();
    const list = e.get('holidays');
    if (list && list.value != null) {
      if (!isSeq(list.value)) this.fail(list.value, this.lineOfPair(list), '`holidays` must be a list of dates (YYYY-MM-DD)');
      else {
        for (const item of list.value.items) {
          const s = isScalar(item) ? String(item.value) : '';
          if (!isDate(s)) this.fail(item, this.lineOfPair(list), `bad holiday date ${isScalar(item) ? quote(s) : this.show(item)} (expected YYYY-MM-DD)`);
          else holidays.add(s);
        }
      }
    }
    const ics = e.get('holidays_ics');
    if (ics) {
      const file = this.string(ics, 'holidays_ics');
      if (file != null) {
        const days = this.icsHolidays(file, this.lineOfPair(ics));
        if (days) for (const d of days) holidays.add(d);
      }
    }
    if (this.problems.length > before) return null;
    return { name, timezone, is24x7: false, weekly, holidays: [...holidays].sort(), line };
  }

  private icsHolidays(file: string, line: number): string[] | null {
    let text: string;
    try {
      text = this.readIcs(file);
    } catch (e) {
      this.fail(null, line, `cannot read holidays_ics ${quote(file)} (relative to the policy file's folder): ${(e as Error).message}`);
      return null;
    }
    const r = icsAllDayDates(text);
    if (typeof r === 'string') { this.fail(null, line, `holidays_ics ${quote(file)}: ${r}`); return null; }
    return r;
  }

  private riskStages(pair: Pair): number[] | null {
    const v = pair.value;
    const line = this.lineOfPair(pair);
    if (!isSeq(v) || v.items.length === 0) { this.fail(v, line, '`risk_stages` must be a non-empty list of percents, e.g. [50, 75, 90]'); return null; }
    const out: number[] = [];
    for (const item of v.items) {
      const n = isScalar(item) && typeof item.value === 'number' ? item.value : NaN;
      if (!(n > 0 && n <= 100)) { this.fail(item, line, `bad risk stage ${isScalar(item) ? quote(String(item.value)) : this.show(item)}: a stage is a percent of the target, more than 0 and at most 100`); return null; }
      if (out.length && n <= out[out.length - 1]) { this.fail(item, line, `risk stages must be in ascending order without repeats (${n} after ${out[out.length - 1]})`); return null; }
      out.push(n);
    }
    return out;
  }

  // --- policies ------------------------------------------------------------------------

  private policy(node: Node, calendars: Record<string, BusinessCalendar>, hasCalendars: boolean): SlaPolicy | null {
    const line = this.lineOf(node, 1);
    if (!isMap(node)) { this.fail(node, line, `a policy must be a mapping with name, targets and optionally when, calendar, pause_on, not ${this.show(node)}`); return null; }
    const before = this.problems.length;
    const e = this.entries(node, POLICY_KEYS, 'a policy');
    const namePair = e.get('name');
    const name = namePair ? this.string(namePair, 'name') : null;
    if (!namePair) this.fail(null, line, 'a policy without a name');
    else if (name && /^no_policy$/i.test(name)) this.fail(namePair.value, line, `policy name ${quote(name)} is reserved for cases no policy covers`);
    const label = name ? `policy ${quote(name)}` : 'the policy';

    let calendar = CALENDAR_24X7;
    const calPair = e.get('calendar');
    if (calPair) {
      const c = this.string(calPair, 'calendar');
      if (c != null) {
        if (!calendars[c]) {
          const known = Object.keys(calendars).map(quote).join(', ');
          // A calendar that is defined but broken was reported already; name the link only.
          this.fail(calPair.value, this.lineOfPair(calPair), `${label} names unknown calendar ${quote(c)} (known: ${known}${hasCalendars ? '' : '; define it under `calendars:`'})`);
        } else calendar = c;
      }
    }

    const when: PolicyConditions = {};
    const whenPair = e.get('when');
    if (whenPair && whenPair.value != null) {
      if (!isMap(whenPair.value)) this.fail(whenPair.value, this.lineOfPair(whenPair), `\`when\` of ${label} must be a mapping of ${CONDITION_KEYS.join(', ')} to lists of values`);
      else {
        const conds = this.entries(whenPair.value, [...CONDITION_KEYS], `\`when\` of ${label}`);
        for (const [key, pair] of conds) {
          const values = this.stringList(pair, `when.${key}`);
          if (!values) continue;
          if (values.length === 0) { this.fail(pair.value, this.lineOfPair(pair), `when.${key} is an empty list: it would match no case`); continue; }
          if (key === 'priority') {
            const codes: string[] = [];
            for (const v of values) {
              const code = v.endsWith('*') ? v : priorityCode(v);
              if (!code) this.fail(pair.value, this.lineOfPair(pair), `unknown priority ${quote(v)} in when.priority (expected P1..P4 or an alias such as urgent, high, normal, low)`);
              else codes.push(code);
            }
            when.priority = codes;
          } else when[key as ConditionKey] = values;
        }
      }
    }

    let pauseOn: string[] = [];
    const pausePair = e.get('pause_on');
    if (pausePair && pausePair.value != null) pauseOn = this.stringList(pausePair, 'pause_on') ?? [];

    const targets: SlaPolicy['targets'] = {};
    const tPair = e.get('targets');
    if (!tPair) this.fail(null, line, `${label} has no targets (e.g. \`P1: { first_response: 1h, resolution: 8h }\`)`);
    else if (!isMap(tPair.value)) this.fail(tPair.value, this.lineOfPair(tPair), `targets of ${label} must be a mapping of priorities (P1..P4) to { first_response, resolution }`);
    else {
      for (const pp of tPair.value.items) {
        const k = this.keyName(pp);
        if (k == null) continue;
        const pLine = this.lineOfPair(pp);
        const prio = PRIORITIES.find((p) => p.toLowerCase() === k.toLowerCase());
        if (!prio) { this.fail(pp.key, pLine, `unknown priority ${quote(k)} in targets of ${label} (expected P1, P2, P3 or P4)`); continue; }
        if (targets[prio]) { this.fail(pp.key, pLine, `priority ${prio} is given twice in targets of ${label}`); continue; }
        if (!isMap(pp.value)) { this.fail(pp.value, pLine, `targets of ${prio} must be a mapping { first_response: ..., resolution: ... }`); continue; }
        const te = this.entries(pp.value, TARGET_KEYS, `targets of ${prio}`);
        const t: Partial<PriorityTargets> = {};
        for (const [tk, field] of [['first_response', 'firstResponseS'], ['resolution', 'resolutionS']] as const) {
          const tp = te.get(tk);
          if (!tp) { this.fail(pp.value, pLine, `targets of ${prio} in ${label} have no ${tk}`); continue; }
          const raw = isScalar(tp.value) ? tp.value.value : undefined;
          const s = typeof raw === 'string' ? parseDuration(raw) : `a duration is a number with h or m, like 1.5h or 90m, not ${this.show(tp.value)}`;
          if (typeof s === 'string') this.fail(tp.value, this.lineOfPair(tp), `bad duration for ${prio} ${tk}: ${s}`);
          else t[field] = s;
        }
        if (t.firstResponseS != null && t.resolutionS != null) targets[prio] = t as PriorityTargets;
      }
    }
    if (this.problems.length > before || name == null) return null;
    return { name, calendar, when, pauseOn, targets, line };
  }
}

// --- pure parsers (exported for tests and `kpi policy check`) ----------------------------

/** The canonical IANA name of a zone, or null when Intl does not know it (offsets like +01:00 are refused). */
export function canonicalZone(zone: string): string | null {
  if (/^[+-]/.test(zone) || /^\d/.test(zone)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** `mon`, `Tue`, `mon-fri`, `fri-mon` (wrapping over the weekend) -> days; null when not a day key. */
export function parseDayKey(key: string): Weekday[] | null {
  const m = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(key.trim().toLowerCase());
  if (!m) return null;
  const a = WEEKDAYS.indexOf(m[1] as Weekday);
  const b = m[2] ? WEEKDAYS.indexOf(m[2] as Weekday) : a;
  if (a < 0 || b < 0) return null;
  const out: Weekday[] = [];
  for (let i = a; ; i = (i + 1) % 7) {
    out.push(WEEKDAYS[i]);
    if (i === b) break;
  }
  return out;
}

/**
 * `"08:00-12:00, 13:00-18:00"` -> ascending minute intervals, touching ones merged; an
 * empty text is a closed day. A problem is returned as text.
 */
export function parseIntervals(text: string): MinuteInterval[] | string {
  if (text.trim() === '') return [];
  const out: MinuteInterval[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(part.trim());
    if (!m) return `bad interval ${quote(part.trim())} (expected HH:MM-HH:MM, e.g. 08:00-12:00)`;
    const [h1, m1, h2, m2] = m.slice(1).map(Number);
    if (h1 > 23 || m1 > 59) return `bad time ${m[1]}:${m[2]} in ${quote(part.trim())} (00:00 to 23:59)`;
    if (h2 > 24 || m2 > 59 || (h2 === 24 && m2 !== 0)) return `bad time ${m[3]}:${m[4]} in ${quote(part.trim())} (00:00 to 24:00)`;
    const start = h1 * 60 + m1;
    const end = h2 * 60 + m2;
    if (end <= start) return `inverted interval ${quote(part.trim())}: the end must be after the start (an interval cannot cross midnight: split it at 24:00 and 00:00 of the next day)`;
    out.push({ start, end });
  }
  out.sort((x, y) => x.start - y.start);
  const merged: MinuteInterval[] = [];
  for (const iv of out) {
    const last = merged[merged.length - 1];
    if (last && iv.start < last.end) return `overlapping intervals ${fmtInterval(last)} and ${fmtInterval(iv)}`;
    if (last && iv.start === last.end) last.end = iv.end;
    else merged.push({ ...iv });
  }
  return merged;
}

export const fmtMinutes = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
export const fmtInterval = (iv: MinuteInterval) => `${fmtMinutes(iv.start)}-${fmtMinutes(iv.end)}`;

/** `1.5h`, `90m` -> whole seconds (> 0); a problem as text. */
export function parseDuration(text: string): number | string {
  const m = /^(\d+(?:\.\d+)?)([hm])$/.exec(text.trim());
  if (!m) return `${quote(text)} is not a duration: write a number with h or m, like 1.5h or 90m`;
  const s = Number(m[1]) * (m[2] === 'h' ? 3600 : 60);
  if (!(s > 0)) return `${quote(text)} must be more than 0`;
  if (Math.abs(s - Math.round(s)) > 1e-6) return `${quote(text)} is not a whole number of seconds`;
  return Math.round(s);
}

/** A real calendar date written YYYY-MM-DD. */
export function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** The case's priority code for a when.priority value (contract 1's aliases), or null. */
function priorityCode(v: string): Priority | null {
  const s = v.trim().toLowerCase();
  for (const p of PRIORITIES) if (p.toLowerCase() === s || PRIORITY_ALIASES[p].includes(s)) return p;
  return null;
}

const isoDay = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10);

/**
 * The holiday dates of an iCalendar text (contract 6.5): every all-day VEVENT covers
 * DTSTART up to DTEND exclusive (DTSTART + DURATION when given instead; one day without
 * either). Timed events are not holidays, recurrences are not expanded, cancelled events
 * are skipped. A problem is returned as text.
 */
export function icsAllDayDates(text: string): string[] | string {
  let roots: ICAL.Component[];
  try {
    const jcal = ICAL.parse(text) as unknown[];
    const list = typeof jcal[0] === 'string' ? [jcal] : jcal;
    roots = list.map((j) => new ICAL.Component(j as never));
  } catch (e) {
    return `not a valid iCalendar file: ${(e as Error).message}`;
  }
  const events = roots.flatMap((r) => (r.name === 'vevent' ? [r] : r.getAllSubcomponents('vevent')));
  const out = new Set<string>();
  for (const ev of events) {
    const start = ev.getFirstPropertyValue('dtstart') as ICAL.Time | null;
    if (!start || !start.isDate) continue;
    const status = ev.getFirstPropertyValue('status');
    if (typeof status === 'string' && status.toUpperCase() === 'CANCELLED') continue;
    const first = Date.UTC(start.year, start.month - 1, start.day);
    let last = first + 86400000;
    const end = ev.getFirstPropertyValue('dtend') as ICAL.Time | null;
    const duration = ev.getFirstPropertyValue('duration') as ICAL.Duration | null;
    if (end) last = Date.UTC(end.year, end.month - 1, end.day);
    else if (duration) last = first + Math.ceil(duration.toSeconds() / 86400) * 86400000;
    if (last - first > 366 * 86400000) return `the all-day event starting ${isoDay(start.year, start.month, start.day)} lasts more than a year`;
    for (let t = first; t < last; t += 86400000) out.add(new Date(t).toISOString().slice(0, 10));
  }
  return [...out].sort();
}
