/**
 * The extract of a fixture through Snowflake (real driver, loopback fake) gives the same
 * report files as the same fixture read from CSV, file for file.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { createSnowflakeSource } from '../src/sources/snowflake';
import { startFakeSnowflake, type FakeSnowflake } from './fakes/snowflakeServer';

const AS_OF = new Date('2026-11-23T09:00:00Z');
const SOURCE_TZ = 'America/New_York';

// created_at / updated_at naive (read in SOURCE_TZ; NTZ in Snowflake), first_response_at as
// UTC instants (LTZ), resolved_at with offsets (TZ). Covers the window edges, an old open
// case, a case created after as_of, a missing created_at, duplicates, unknown priority,
// a closed status without resolved_at, resolved before created, a DST switch day.
const HEADER = ['ticket_id', 'opened_at', 'first_response_at', 'resolved_at', 'status', 'priority', 'region', 'channel', 'team', 'assignee', 'customer_tier', 'updated_at'];
type Row = (string | null)[];
function fixture(): Row[] {
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

function csvOf(rows: Row[]): string {
  const cell = (v: string | null) => (v === null ? '' : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [HEADER.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

let fake: FakeSnowflake;
const dir = mkdtempSync(join(tmpdir(), 'kpi-sf-pipe-'));
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPath = join(dir, 'key.p8');

beforeAll(async () => {
  writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const rows = fixture();
  writeFileSync(join(dir, 'cases.csv'), csvOf(rows));
  fake = await startFakeSnowflake({
    account: 'TESTORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    tables: {
      'KPI_DB.SUPPORT.SUPPORT_CASES': {
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
      },
    },
  });
});

afterAll(async () => {
  await fake.close();
});

test('Snowflake extract and CSV export of the same fixture give the same report files', async () => {
  const common = {
    KPI_SOURCE_TZ: SOURCE_TZ,
    KPI_COLUMN_MAP: 'ticket_id:case_id,opened_at:created_at',
    KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb'),
    KPI_TZ: 'Europe/Berlin',
  };
  const csvSettings = loadSettings({ ...common, KPI_SOURCE: 'csv', KPI_CSV_PATH: join(dir, 'cases.csv') });
  const sfSettings = loadSettings({
    ...common,
    KPI_SOURCE: 'snowflake',
    SNOWFLAKE_ACCOUNT: 'TESTORG-KPI',
    SNOWFLAKE_USER: 'KPI_SVC',
    SNOWFLAKE_DATABASE: 'KPI_DB',
    SNOWFLAKE_SCHEMA: 'SUPPORT',
    SNOWFLAKE_PRIVATE_KEY_PATH: keyPath,
    SNOWFLAKE_ACCESS_URL: fake.url,
    SNOWFLAKE_RETRIES: '0',
  });
  const csvOut = join(dir, 'out-csv');
  const sfOut = join(dir, 'out-sf');
  const csvRun = await runPipeline({ settings: csvSettings, asOf: AS_OF, outDir: csvOut, recordHistory: false, trigger: 'test' });
  const sfRun = await runPipeline({ settings: sfSettings, source: createSnowflakeSource(sfSettings), asOf: AS_OF, outDir: sfOut, recordHistory: false, trigger: 'test' });

  // The window filter really ran in "Snowflake": fewer rows came over than the file has.
  const extract = fake.queries.find((q) => /WHERE/.test(q.sqlText))!;
  expect(extract.bindings).toEqual({
    '1': { type: 'TEXT', value: '2026-11-23 04:00:00.000' }, // as_of as New York wall clock (NTZ)
    '2': { type: 'TEXT', value: '2026-10-24T09:00:00.000Z' }, // window start as an instant (TZ)
    '3': { type: 'TEXT', value: '2026-10-09 20:00:00.000' }, // volume-anomaly baseline start (2026-10-10T00:00Z) as New York wall clock (NTZ)
  });
  // Columns no report uses are not fetched.
  expect(extract.sqlText).not.toMatch(/CHANNEL|CUSTOMER_TIER/);
  expect(extract.sqlText).toMatch(/"ASSIGNEE"/);
  const fileRows = readFileSync(join(dir, 'cases.csv'), 'utf8').trim().split('\n').length - 1;
  expect(sfRun.report.meta.rowsRead).toBeLessThan(fileRows);
  expect(csvRun.report.meta.rowsRead).toBeNull();

  const names = readdirSync(csvOut).sort();
  expect(readdirSync(sfOut).sort()).toEqual(names);
  expect(names).toEqual(expect.arrayContaining(['sla_summary.csv', 'backlog_summary.csv', 'volume_trend.csv', 'sla_at_risk_cases.csv',
    'backlog_spike_summary.csv', 'daily_ops_summary.csv', 'daily_ops_summary.txt', 'data_quality_score.csv']));
  for (const name of names) {
    // The set's manifest names its run (run id, time written, the hash of the TXT that names the source).
    if (name === '.run.json') continue;
    let a = readFileSync(join(csvOut, name), 'utf8');
    let b = readFileSync(join(sfOut, name), 'utf8');
    if (name.endsWith('.txt')) {
      // The summary names its source; everything else must be identical.
      a = a.split(csvRun.report.meta.source).join('<source>');
      b = b.split(sfRun.report.meta.source).join('<source>');
    }
    expect({ name, content: b }).toEqual({ name, content: a });
  }
  // The fixture exercises what it claims to.
  const dq = readFileSync(join(csvOut, 'data_quality_score.csv'), 'utf8');
  expect(dq).toMatch(/\n2026-11-23T09:00:00Z,\d+,[1-9]\d*,[\d.]+,[1-9]\d*,[\d.]+,[1-9]\d*,/);
});
