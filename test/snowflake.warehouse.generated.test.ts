/**
 * Warehouse compute on generated (bench-like) data: a few thousand demo cases in a DuckDB
 * file, read locally (--source duckdb) and copied into the fake Snowflake's warehouse
 * database (execute mode): the report files are identical, without and with the demo SLA
 * policy file (business-hours calendars), and only report rows come back.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { DEMO_POLICY_YAML } from '../src/config/demoPolicy';
import { runPipeline } from '../src/pipeline/run';
import { seedDemo } from '../src/sources/demo/seed';
import { startFakeSnowflake, type FakeSnowflake } from './fakes/snowflakeServer';
import { demoWarehouseTable } from './fakes/demoWarehouse';

const AS_OF = new Date('2026-11-23T12:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'kpi-wh-gen-'));
const dbPath = join(dir, 'demo.duckdb');
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPath = join(dir, 'key.p8');
writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
const policyPath = join(dir, 'policy.yml');
writeFileSync(policyPath, DEMO_POLICY_YAML);
let fake: FakeSnowflake;

beforeAll(async () => {
  await seedDemo({ dbPath, cases: 4000, seed: 7, now: AS_OF });
  const key = 'GEN_DB.SUPPORT.SUPPORT_CASES';
  const { table, setup } = await demoWarehouseTable(dbPath, key);
  fake = await startFakeSnowflake({
    account: 'TESTORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    tables: { [key]: table },
    execute: true,
    warehouseSetup: setup,
  });
}, 60_000);

afterAll(async () => {
  await fake.close();
});

async function compare(name: string, extra: Record<string, string>): Promise<void> {
  const state = { KPI_STATE_PATH: join(dir, 'state.duckdb') };
  // The demo file has a status history; warehouse compute reads none, so neither does this run.
  const local = loadSettings({ ...state, ...extra, KPI_SOURCE: 'duckdb', KPI_DB_PATH: dbPath, KPI_HISTORY_TABLE: 'no_status_history' });
  const wh = loadSettings({
    ...state, ...extra, KPI_SOURCE: 'snowflake', KPI_COMPUTE: 'warehouse', KPI_DB_PATH: join(dir, 'state.duckdb'),
    SNOWFLAKE_ACCOUNT: 'TESTORG-KPI', SNOWFLAKE_USER: 'KPI_SVC', SNOWFLAKE_DATABASE: 'GEN_DB', SNOWFLAKE_SCHEMA: 'SUPPORT', SNOWFLAKE_TABLE: 'SUPPORT_CASES',
    SNOWFLAKE_PRIVATE_KEY_PATH: keyPath, SNOWFLAKE_ACCESS_URL: fake.url, SNOWFLAKE_RETRIES: '0',
  });
  const localOut = join(dir, `${name}-local`);
  const whOut = join(dir, `${name}-wh`);
  await runPipeline({ settings: local, asOf: AS_OF, outDir: localOut, recordHistory: false, trigger: 'test' });
  const before = fake.resultBytes;
  const r = await runPipeline({ settings: wh, asOf: AS_OF, outDir: whOut, recordHistory: false, trigger: 'test' });
  expect(fake.resultBytes - before).toBeLessThan(1024 * 1024);
  expect(r.report.dailyOps.cases_in_window).toBeGreaterThan(1000);
  const names = readdirSync(localOut).filter((f) => f.endsWith('.csv')).sort();
  expect(names.length).toBeGreaterThan(8);
  for (const f of names) expect({ f, content: readFileSync(join(whOut, f), 'utf8') }).toEqual({ f, content: readFileSync(join(localOut, f), 'utf8') });
}

test('generated cases: warehouse compute gives local compute\'s files', async () => {
  await compare('plain', { KPI_TZ: 'America/Chicago' });
}, 120_000);

test('generated cases with the demo SLA policies (business-hours calendars, risk stages): the same files', async () => {
  await compare('policy', { KPI_SLA_POLICY_FILE: policyPath });
}, 120_000);
