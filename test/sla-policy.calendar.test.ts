/**
 * Business segments (contract 6.2, 6.5) as real UTC instants, the span a run needs, and
 * the choice of a policy (TypeScript and SQL).
 */
import { businessSegments, clockSpan, createBusinessClock, selectPolicy } from '../src/kpi/businessCalendar';
import { policyChoiceSql } from '../src/kpi/policySql';
import { clockBucketRows } from '../src/kpi/staging/policyRows';
import type { BusinessCalendar } from '../src/contract/slaPolicy';
import { loadFixturePolicies, ms, openDb } from './sla-policy.helpers';

const set = loadFixturePolicies();
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const segs = (cal: BusinessCalendar, from: string, to: string) =>
  businessSegments(cal, ms(from), ms(to)).map((s) => [iso(s.startMs), iso(s.endMs), s.cumStartMs / 3_600_000]);

test('Europe/Berlin 2026-10-25: 01:00-04:00 is 4 real hours, the day after 3', () => {
  expect(segs(set.calendars['berlin-night'], '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z')).toEqual([
    ['2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z', 0],
    ['2026-10-26T00:00:00Z', '2026-10-26T03:00:00Z', 4],
  ]);
});

test('America/New_York 2026-11-01: 01:00 EDT to 04:00 EST is 4 real hours', () => {
  expect(segs(set.calendars['ny-night'], '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z')).toEqual([
    ['2026-11-01T05:00:00Z', '2026-11-01T09:00:00Z', 0],
    ['2026-11-02T06:00:00Z', '2026-11-02T09:00:00Z', 4],
  ]);
});

test('split shifts, a Friday with other hours, weekends and holidays closed; the span cuts segments', () => {
  const office = set.calendars['emea-office'];
  expect(segs(office, '2026-12-17T10:00:00Z', '2027-01-05T00:00:00Z')).toEqual([
    ['2026-12-17T10:00:00Z', '2026-12-17T11:00:00Z', 0], // Thu, cut at the span's start
    ['2026-12-17T12:00:00Z', '2026-12-17T17:00:00Z', 1],
    ['2026-12-18T07:00:00Z', '2026-12-18T15:00:00Z', 6], // Fri 08:00-16:00
    ['2026-12-21T07:00:00Z', '2026-12-21T11:00:00Z', 14],
    ['2026-12-21T12:00:00Z', '2026-12-21T17:00:00Z', 18],
    ['2026-12-22T07:00:00Z', '2026-12-22T11:00:00Z', 23],
    ['2026-12-22T12:00:00Z', '2026-12-22T17:00:00Z', 27],
    ['2026-12-23T07:00:00Z', '2026-12-23T11:00:00Z', 32], // the cancelled .ics event is no holiday
    ['2026-12-23T12:00:00Z', '2026-12-23T17:00:00Z', 36],
    // 24, 25 (list), 26-27 weekend, 28-29 (.ics), then Wed 30, not 31 (.ics) nor 1 Jan (.ics)
    ['2026-12-30T07:00:00Z', '2026-12-30T11:00:00Z', 41],
    ['2026-12-30T12:00:00Z', '2026-12-30T17:00:00Z', 45],
    ['2027-01-04T07:00:00Z', '2027-01-04T11:00:00Z', 50],
    ['2027-01-04T12:00:00Z', '2027-01-04T17:00:00Z', 54],
  ]);
});

test('a business day ending at 24:00 touches the next one starting at 00:00: one segment', () => {
  const cal: BusinessCalendar = {
    name: 'late', timezone: 'Asia/Kolkata', is24x7: false, holidays: [], line: null,
    weekly: { mon: [{ start: 1200, end: 1440 }], tue: [{ start: 0, end: 120 }], wed: [], thu: [], fri: [], sat: [], sun: [] },
  };
  expect(segs(cal, '2026-11-01T00:00:00Z', '2026-11-05T00:00:00Z')).toEqual([['2026-11-02T14:30:00Z', '2026-11-02T20:30:00Z', 0]]);
});

test('B and its inverse: the first instant the clock reaches a value', () => {
  const clock = createBusinessClock(set.calendars['emea-office'], ms('2026-11-01T00:00:00Z'), ms('2026-12-01T00:00:00Z'));
  expect(clock.between(ms('2026-11-16T10:30:00Z'), ms('2026-11-16T13:00:00Z')) / 3_600_000).toBe(1.5);
  // 4 h after Mon 08:00 is reached at 12:00 (the lunch that follows does not delay it).
  expect(iso(clock.inverse(clock.at(ms('2026-11-16T07:00:00Z')) + 4 * 3_600_000)!)).toBe('2026-11-16T11:00:00Z');
  expect(clock.inverse(1e15)).toBeNull();
});

test('the span: from the day before the oldest case to as_of plus the business time of the largest target', () => {
  const office = set.calendars['emea-office'];
  const span = clockSpan(office, ms('2026-11-10T10:00:00Z'), ms('2026-12-23T12:00:00Z'), 80 * 3600);
  expect(iso(span.fromMs)).toBe('2026-11-09T00:00:00Z');
  const after = businessSegments(office, ms('2026-12-23T12:00:00Z'), span.toMs);
  const last = after[after.length - 1];
  expect(last.cumStartMs + last.endMs - last.startMs).toBeGreaterThanOrEqual(80 * 3_600_000);
  // A calendar with no business time at all stops at the bound.
  const closed: BusinessCalendar = { ...office, holidays: [], weekly: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] } };
  expect(clockSpan(closed, ms('2026-11-10T00:00:00Z'), ms('2026-11-10T00:00:00Z'), 3600, 60).toMs).toBe(ms('2027-01-10T00:00:00Z'));
  // Only calendars that policies name get business-time buckets, 24x7 none.
  const { rows } = clockBucketRows(set, ms('2026-11-01T00:00:00Z'), ms('2026-11-10T00:00:00Z'));
  expect([...new Set(rows.map((r) => r.calendar))].sort()).toEqual(['berlin-night', 'emea-office', 'ny-night', 'ny-office']);
});

describe('policy choice: the first policy whose `when` matches', () => {
  const cases = [
    { case_id: 'a', priority: 'P1', region: 'AMER', channel: 'chat', team: 'x', customer_tier: 'Enterprise', status: 'open', want: 'enterprise' },
    { case_id: 'b', priority: 'P2', region: 'EMEA', channel: 'chat', team: 'night-ny', customer_tier: 'pro', status: 'open', want: 'night-ny' },
    { case_id: 'c', priority: 'P3', region: 'EMEA', channel: 'chat', team: 'Night-NY', customer_tier: 'pro', status: 'open', want: 'office' },
    { case_id: 'd', priority: 'P3', region: 'eu-west', channel: null, team: null, customer_tier: null, status: null, want: 'office' },
    { case_id: 'e', priority: 'P4', region: null, channel: null, team: null, customer_tier: null, status: null, want: 'ny' },
  ];
  test('TypeScript, with the reasons', () => {
    for (const c of cases) {
      const tried = selectPolicy(set, c);
      expect(tried[tried.length - 1]).toMatchObject({ matched: true, policy: { name: c.want } });
    }
    const tried = selectPolicy(set, cases[2]);
    expect(tried.map((t) => [t.policy.name, t.matched, t.checks.filter((k) => !k.matched).map((k) => k.key)])).toEqual([
      ['enterprise', false, ['customer_tier']], ['night-berlin', false, ['team']], ['night-ny', false, ['priority']], ['office', true, []],
    ]);
  });
  test('SQL', async () => {
    const db = await openDb();
    try {
      const values = cases.map((c) => `(${[c.case_id, c.priority, c.region, c.channel, c.team, c.customer_tier, c.status].map((v) => (v == null ? 'NULL' : `'${v}'`)).join(', ')})`);
      const expr = policyChoiceSql(set.policies, { priority: 'priority', region: 'region', channel: 'channel', team: 'team', customer_tier: 'customer_tier', status: 'status' });
      const reader = await db.conn.runAndReadAll(`SELECT case_id, ${expr} AS policy FROM (VALUES ${values.join(', ')}) t(case_id, priority, region, channel, team, customer_tier, status) ORDER BY case_id`);
      expect(reader.getRowObjectsJS().map((r) => r.policy)).toEqual(cases.map((c) => c.want));
    } finally {
      db.close();
    }
  });
});
