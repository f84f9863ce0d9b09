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
import { csvOf, fixture, fixtureTable } from './helpers/snowflakeFixture';

const AS_OF = new Date('2026-11-23T09:00:00Z');
const SOURCE_TZ = 'America/New_York';

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
      'KPI_DB.SUPPORT.SUPPORT_CASES': fixtureTable(rows),
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
