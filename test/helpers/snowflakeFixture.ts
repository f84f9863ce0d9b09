/**
 * The Snowflake pipeline fixture (snowflake.pipeline.test.ts, snowflake.warehouse.test.ts):
 * the rows, as CSV, and the fake's table of them.
 */
import type { FakeTable } from '../fakes/snowflakeServer';

// created_at / updated_at naive (read in SOURCE_TZ; NTZ in Snowflake), first_response_at as
// UTC instants (LTZ), resolved_at with offsets (TZ). Covers the window edges, an old open
// case, a case created after as_of, a missing created_at, duplicates, unknown priority,
// a closed status without resolved_at, resolved before created, a DST switch day.
export const HEADER = ['ticket_id', 'opened_at', 'first_response_at', 'resolved_at', 'status', 'priority', 'region', 'channel', 'team', 'assignee', 'customer_tier', 'updated_at'];
export type Row = (string | null)[];
export function fixture(): Row[] {
  const rows: Row[] = [
    ['A-1', '2026-11-23 03:00:00', '2026-11-23T08:10:00Z', null, 'open', 'P1', 'AMER', 'chat', 'T1', 'ann', 'enterprise', '2026-11-23 03:30:00'],
    ['A-2', '2026-11-22 10:00:00', '2026-11-22T15:30:00Z', '2026-11-22T20:00:00+01:00', 'solved', 'high', 'EMEA', 'email', 'T2', 'bob', 'pro', '2026-11-22 14:00:00'],
    ['A-3', '2026-09-01 08:00:00', null, null, 'pending', '3', 'APAC', 'web', 'T1', null, 'free', null],
    ['A-4', '2026-10-20 08:00:00', '2026-10-20T13:00:00Z', '2026-10-24T12:00:00-04:00', 'closed', 'P4', 'AMER', 'phone', 'T3', 'cy', null, '2026-10-24 12:00:00'],
    ['A-5', '2026-12-01 08:00:00', null, null, 'new', 'P2', 'AMER', 'chat', 'T1', null, null, null],
    ['A-6', null, null, null, 'open', 'P2', 'EMEA', 'chat', 'T2', null, null, null],
    ['A-7', '2026-11-20 09:00:00', '2026-11-20T14:05:00Z', null, 'open', 'P2', 'EMEA', 'chat', 'T2', 'dee', 'pro', '2026-11-20 09:00:00'],
    ['A-7', '2026-11-20 09:00:00', '2026-11-20T14:05:00Z', '2026-11-21T10:00:00Z', 'solved', 'P2', 'EMEA', 'chat', 'T2', 'dee', 'pro', '2026-11-21 05:00:00'],
    ['A-8', '2026-11-15 07:00:00', null, null, 'resolved', 'urgent', 'APAC', 'web', 'T3', null, 'enterprise', null],
    ['A-9', '2026-11-10 12:00:00', null, null, 'open', 'whenever', 'AMER', 'email', 'T1', null, null, null],
    ['A-10', '2026-11-18 12:00:00', '2026-11-18T16:00:00Z', '2026-11-18T10:00:00Z', 'solved', 'P3', 'AMER', 'email', 'T1', 'ann', 'pro', '2026-11-18 12:00:00'],
    ['A-11', '2026-11-01 01:30:00', '2026-11-01T06:00:00Z', '2026-11-02T09:00:00-05:00', 'done', 'P3', 'AMER', 'phone', 'T3', 'cy', 'free', '2026-11-02 09:00:00'],
    ['A-12', '2026-10-24 08:59:59', null, '2026-10-24T13:00:00Z', 'closed', 'P4', 'EMEA', 'web', 'T2', null, null, null],
    ['A-13', '2026-06-01 00:00:00', null, '2026-10-20T00:00:00Z', 'closed', 'P4', 'EMEA', 'web', 'T2', null, null, null],
  ];
  // Some volume: deterministic cases over the window (two full data chunks of 2048 rows
  // and a partial one on the way into DuckDB).
  for (let i = 0; i < 4500; i++) {
    const created = Date.parse('2026-10-20T00:00:00Z') + ((i * 7919) % (34 * 86400)) * 1000;
    const wall = new Date(created).toISOString().slice(0, 19).replace('T', ' ');
    const resolved = i % 4 === 0 ? null : new Date(created + (1 + (i % 40)) * 3600_000).toISOString().replace('.000Z', 'Z');
    const first = i % 5 === 0 ? null : new Date(created + (i % 9) * 600_000 + 5 * 3600_000).toISOString().replace('.000Z', 'Z');
    rows.push([
      `B-${i}`, wall, first, resolved, resolved ? 'solved' : ['open', 'pending', 'waiting on customer'][i % 3],
      ['P1', 'P2', 'P3', 'P4', 'normal'][i % 5], ['AMER', 'EMEA', 'APAC'][i % 3], ['chat', 'email'][i % 2],
      // A team name that needs quoting; thousands of distinct assignees.
      i % 50 === 0 ? `O'Neil "night" team` : `T${i % 4}`, i % 2 === 0 ? `agent${i}` : `agent${i % 7}`, ['pro', 'free', null][i % 3], wall,
    ]);
  }
  return rows;
}

export function csvOf(rows: Row[]): string {
  const cell = (v: string | null) => (v === null ? '' : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [HEADER.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}


/** The fixture as the fake's SUPPORT_CASES table (ticket_id and opened_at named as a warehouse might). */
export function fixtureTable(rows: Row[]): FakeTable {
  return {
    columns: [
      { name: 'TICKET_ID', type: 'text' },
      { name: 'OPENED_AT', type: 'timestamp_ntz' },
      { name: 'FIRST_RESPONSE_AT', type: 'timestamp_ltz' },
      { name: 'RESOLVED_AT', type: 'timestamp_tz' },
      { name: 'STATUS', type: 'text' },
      { name: 'PRIORITY', type: 'text' },
      { name: 'REGION', type: 'text' },
      { name: 'CHANNEL', type: 'text' },
      { name: 'TEAM', type: 'text' },
      { name: 'ASSIGNEE', type: 'text' },
      { name: 'CUSTOMER_TIER', type: 'text' },
      { name: 'UPDATED_AT', type: 'timestamp_ntz' },
    ],
    rows,
  };
}
