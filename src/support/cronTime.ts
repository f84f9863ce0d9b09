/**
 * Cron arithmetic with an injected "now": the previous and next fire times of a cron
 * expression in a time zone. node-cron (which runs the schedule) only answers "next run
 * from the real clock", so catch-up logic needs its own calculator. Fields are expanded by
 * node-cron's own parser (5 or 6 fields, ranges, steps, names) and matched with node-cron's
 * rules: day-of-month AND day-of-week must both match; `L`, `L-n`, `nW`, `LW` (day of
 * month) and `nL`, `n#k` (day of week) are understood.
 */
import { parse as parseCron } from 'node-cron';

export interface LocalParts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    fmtCache.set(tz, f);
  }
  return f;
}

/** Wall-clock parts of an instant in a time zone. */
export function localParts(t: Date | number, tz: string): LocalParts {
  const p: Record<string, number> = {};
  for (const x of formatter(tz).formatToParts(new Date(t))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return { year: p.year, month: p.month, day: p.day, hour: p.hour === 24 ? 0 : p.hour, minute: p.minute, second: p.second };
}

/**
 * The calendar day (YYYY-MM-DD) of an instant in a time zone. UTC needs no Intl call (the
 * first one loads ICU's data, which a UTC run never pays for).
 */
export function localDate(t: Date | number, tz: string): string {
  if (tz === 'UTC') return new Date(t).toISOString().slice(0, 10);
  const p = localParts(t, tz);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** The instant of a wall-clock time in a zone, or null when that time does not exist (DST gap). */
export function zonedTime(p: LocalParts, tz: string): number | null {
  const guess = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const offsetAt = (t: number) => {
    const q = localParts(t, tz);
    return Date.UTC(q.year, q.month - 1, q.day, q.hour, q.minute, q.second) - Math.floor(t / 1000) * 1000;
  };
  let t = guess - offsetAt(guess);
  const second = guess - offsetAt(t);
  if (second !== t) t = second;
  const back = localParts(t, tz);
  if (back.year !== p.year || back.month !== p.month || back.day !== p.day || back.hour !== p.hour || back.minute !== p.minute || back.second !== p.second) {
    return null;
  }
  return t;
}

interface Fields {
  seconds: number[]; // descending
  minutes: number[];
  hours: number[];
  dom: (number | string)[];
  months: number[];
  dow: (number | string)[];
}

const fieldCache = new Map<string, Fields>();

function fields(expr: string): Fields {
  let f = fieldCache.get(expr);
  if (!f) {
    const p = parseCron(expr.trim());
    const desc = (a: number[]) => [...new Set(a)].sort((x, y) => y - x);
    f = {
      seconds: desc(p.second), minutes: desc(p.minute), hours: desc(p.hour),
      dom: p.dayOfMonth, months: p.month, dow: p.dayOfWeek.map((d) => (d === 7 ? 0 : d)),
    };
    fieldCache.set(expr, f);
  }
  return f;
}

const lastDay = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();

function nearestWeekday(y: number, m: number, target: number): number {
  const last = lastDay(y, m);
  const t = Math.min(target, last);
  const wd = weekday(y, m, t);
  if (wd === 6) return t === 1 ? t + 2 : t - 1;
  if (wd === 0) return t === last ? t - 2 : t + 1;
  return t;
}

function domMatches(field: (number | string)[], y: number, m: number, d: number): boolean {
  for (const v of field) {
    if (v === d) return true;
    if (typeof v !== 'string') continue;
    const s = v.toUpperCase();
    if (s === 'L' && d === lastDay(y, m)) return true;
    let mm = /^L-(\d+)$/.exec(s);
    if (mm && lastDay(y, m) - Number(mm[1]) === d) return true;
    mm = /^(L|\d+)W$/.exec(s);
    if (mm && nearestWeekday(y, m, mm[1] === 'L' ? lastDay(y, m) : Number(mm[1])) === d) return true;
  }
  return false;
}

function dowMatches(field: (number | string)[], y: number, m: number, d: number): boolean {
  const wd = weekday(y, m, d);
  for (const v of field) {
    if (v === wd) return true;
    if (typeof v !== 'string') continue;
    let mm = /^([0-7])L$/i.exec(v);
    if (mm && Number(mm[1]) % 7 === wd && d + 7 > lastDay(y, m)) return true;
    mm = /^([0-7])#([1-5])$/.exec(v);
    if (mm && Number(mm[1]) % 7 === wd && Math.floor((d - 1) / 7) + 1 === Number(mm[2])) return true;
  }
  return false;
}

function dayMatches(f: Fields, y: number, m: number, d: number): boolean {
  return f.months.includes(m) && domMatches(f.dom, y, m, d) && dowMatches(f.dow, y, m, d);
}

const MAX_DAYS = 366 * 8;

function shiftDay(y: number, m: number, d: number, by: number): [number, number, number] {
  const t = new Date(Date.UTC(y, m - 1, d + by));
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
}

/** The latest fire time at or before `at` (null if none in ~8 years). */
export function previousFireTime(expr: string, tz: string, at: Date): Date | null {
  const f = fields(expr);
  const limit = Math.floor(at.getTime() / 1000) * 1000;
  const start = localParts(limit, tz);
  let [y, m, d] = [start.year, start.month, start.day];
  for (let i = 0; i < MAX_DAYS; i++) {
    if (dayMatches(f, y, m, d)) {
      for (const hour of f.hours) {
        for (const minute of f.minutes) {
          for (const second of f.seconds) {
            const t = zonedTime({ year: y, month: m, day: d, hour, minute, second }, tz);
            if (t !== null && t <= limit) return new Date(t);
          }
        }
      }
    }
    [y, m, d] = shiftDay(y, m, d, -1);
  }
  return null;
}

/** The first fire time strictly after `at` (null if none in ~8 years). */
export function nextFireTime(expr: string, tz: string, at: Date): Date | null {
  const f = fields(expr);
  const after = Math.floor(at.getTime() / 1000) * 1000;
  const start = localParts(after, tz);
  let [y, m, d] = [start.year, start.month, start.day];
  const asc = (a: number[]) => [...a].reverse();
  for (let i = 0; i < MAX_DAYS; i++) {
    if (dayMatches(f, y, m, d)) {
      for (const hour of asc(f.hours)) {
        for (const minute of asc(f.minutes)) {
          for (const second of asc(f.seconds)) {
            const t = zonedTime({ year: y, month: m, day: d, hour, minute, second }, tz);
            if (t !== null && t > after) return new Date(t);
          }
        }
      }
    }
    [y, m, d] = shiftDay(y, m, d, 1);
  }
  return null;
}
