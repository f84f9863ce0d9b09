/**
 * Incremental Snowflake loads (KPI_INCREMENTAL=true): after changes in the source, a delta
 * run merged into the replica gives the same report files as a full extract, file for
 * file; a full refresh, a schema change and a missing updated_at fall back to full loads.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { createSnowflakeSource } from '../src/sources/snowflake';
import { startFakeSnowflake, type FakeSnowflake, type FakeTable } from './fakes/snowflakeServer';

const AS_OF = new Date('2026-11-23T09:00:00Z');
const LATER = new Date('2026-11-24T09:00:00Z');
type Row = (string | null)[];

const wall = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const instant = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** CASE_ID, CREATED_AT (NTZ), FIRST_RESPONSE_AT (LTZ), RESOLVED_AT (TZ), STATUS, PRIORITY, REGION, TEAM, ASSIGNEE, UPDATED_AT (NTZ). */
function fixture(): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < 3000; i++) {
    const created = Date.parse('2026-09-20T00:00:00Z') + ((i * 7919) % (64 * 86400)) * 1000;
    const resolved = i % 4 === 0 ? null : created + (1 + (i % 40)) * 3600_000;
    const first = i % 5 === 0 ? null : created + (i % 9) * 600_000 + 3600_000;
    rows.push([
      `C-${i}`, wall(created), first === null ? null : instant(first), resolved === null ? null : instant(resolved),
      resolved ? 'solved' : ['open', 'pending'][i % 2], ['P1', 'P2', 'P3', 'P4'][i % 4], ['AMER', 'EMEA', 'APAC'][i % 3],
      // Changed last when resolved (or created), never after the first run's as_of.
      `T${i % 4}`, `agent${i % 13}`, wall(Math.min((resolved ?? created) + 60_000, AS_OF.getTime() - 3600_000)),
    ]);
  }
  // Duplicates (distinct updated_at) and rows without a case_id.
  rows.push(['C-7', rows[7][1], null, null, 'open', 'P2', 'EMEA', 'T1', null, wall(Date.parse('2026-09-01T00:00:00Z'))]);
  rows.push([null, wall(Date.parse('2026-11-01T00:00:00Z')), null, null, 'open', 'P1', 'AMER', 'T1', null, wall(Date.parse('2026-11-01T00:00:00Z'))]);
  return rows;
}

/** Changes made in the source after the first run: updates, new cases, a new duplicate, rows without case_id. */
function change(rows: Row[]): void {
  const now = Date.parse('2026-11-23T20:00:00Z');
  for (let i = 1; i < 3000; i += 97) {
    const r = rows.findIndex((x) => x[0] === `C-${i}`);
    rows[r] = [...rows[r]];
    rows[r][3] = null;
    rows[r][4] = 'open';
    rows[r][5] = 'P1';
    rows[r][9] = wall(now + i * 1000);
  }
  for (let i = 0; i < 40; i++) {
    rows.push([`N-${i}`, wall(now - 3600_000 + i * 60_000), null, null, 'new', 'P2', 'APAC', 'T2', null, wall(now + i * 60_000)]);
  }
  // A second row for an unchanged case, newer: it becomes the survivor; the old one a duplicate.
  rows.push(['C-10', rows[10][1], null, instant(now), 'solved', 'P3', 'AMER', 'T3', 'agent1', wall(now + 5_000)]);
  // An old change that the overlap still catches (updated 30 minutes before the watermark).
  rows.push([null, wall(now), null, null, 'pending', 'P4', 'EMEA', 'T0', null, wall(now)]);
}

const COLUMNS: FakeTable['columns'] = [
  { name: 'CASE_ID', type: 'text' },
  { name: 'CREATED_AT', type: 'timestamp_ntz' },
  { name: 'FIRST_RESPONSE_AT', type: 'timestamp_ltz' },
  { name: 'RESOLVED_AT', type: 'timestamp_tz' },
  { name: 'STATUS', type: 'text' },
  { name: 'PRIORITY', type: 'text' },
  { name: 'REGION', type: 'text' },
  { name: 'TEAM', type: 'text' },
  { name: 'ASSIGNEE', type: 'text' },
  { name: 'UPDATED_AT', type: 'timestamp_ntz' },
];

let fake: FakeSnowflake;
const dir = mkdtempSync(join(tmpdir(), 'kpi-sf-inc-'));
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPath = join(dir, 'key.p8');
const table: FakeTable = { columns: COLUMNS, rows: fixture() };

beforeAll(async () => {
  writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fake = await startFakeSnowflake({
    account: 'TESTORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    tables: {
      'KPI_DB.SUPPORT.SUPPORT_CASES': table,
      'KPI_DB.SUPPORT.NO_UPDATED': { columns: COLUMNS.slice(0, -1), rows: fixture().map((r) => r.slice(0, -1)) },
    },
  });
});

afterAll(async () => {
  await fake.close();
});

function settings(extra: Record<string, string>) {
  return loadSettings({
    KPI_SOURCE: 'snowflake',
    KPI_SOURCE_TZ: 'America/New_York',
    KPI_TZ: 'Europe/Berlin',
    SNOWFLAKE_ACCOUNT: 'TESTORG-KPI',
    SNOWFLAKE_USER: 'KPI_SVC',
    SNOWFLAKE_DATABASE: 'KPI_DB',
    SNOWFLAKE_SCHEMA: 'SUPPORT',
    SNOWFLAKE_PRIVATE_KEY_PATH: keyPath,
    SNOWFLAKE_ACCESS_URL: fake.url,
    SNOWFLAKE_RETRIES: '0',
    ...extra,
  });
}

async function run(extra: Record<string, string>, asOf: Date, out: string) {
  const s = settings(extra);
  const warnings: string[] = [];
  const log = silentLogWith(warnings);
  const result = await runPipeline({ settings: s, source: createSnowflakeSource(s), asOf, outDir: join(dir, out), recordHistory: false, trigger: 'test', log });
  const served = fake.queries.at(-1)!;
  return { result, warnings, sql: served.sqlText, transferred: lastTransferred() };
}

/** A logger that keeps warnings (the pipeline's logger interface, everything else dropped). */
function silentLogWith(warnings: string[]) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { silentLogger } = require('../src/support/log') as typeof import('../src/support/log');
  const base = silentLogger();
  const wrap = (l: typeof base): typeof base => new Proxy(l, {
    get(target, prop, receiver) {
      if (prop === 'warn') {
        return (...args: unknown[]) => {
          const message = String(args.find((a) => typeof a === 'string'));
          if (message.startsWith('KPI_INCREMENTAL')) warnings.push(message);
        };
      }
      if (prop === 'child') return (...args: unknown[]) => wrap((target.child as unknown as (...a: unknown[]) => typeof base)(...args));
      return Reflect.get(target, prop, receiver);
    },
  });
  return wrap(base);
}

/** Rows of the last result the fake served (inline part and chunks). */
function lastTransferred(): number {
  return fake.lastResultRows;
}

function expectSameFiles(a: string, b: string): void {
  const names = readdirSync(join(dir, a)).sort();
  expect(readdirSync(join(dir, b)).sort()).toEqual(names);
  expect(names.length).toBeGreaterThan(5);
  // The run manifest (.run.json) names its own run: every report file must match.
  for (const name of names.filter((n) => n !== '.run.json')) {
    expect({ name, content: readFileSync(join(dir, b, name), 'utf8') }).toEqual({ name, content: readFileSync(join(dir, a, name), 'utf8') });
  }
}

async function replicaRows(state: string): Promise<number> {
  const instance = await DuckDBInstance.create(state);
  const conn = await instance.connect();
  try {
    return Number((await conn.runAndReadAll('SELECT count(*) FROM snowflake_replica')).getRows()[0][0]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

test('a delta run after changes in Snowflake gives the same report files as a full extract', async () => {
  const state = join(dir, 'state.duckdb');
  const inc = { KPI_INCREMENTAL: 'true', KPI_STATE_PATH: state, KPI_INCREMENTAL_OVERLAP_MINUTES: '60' };
  const first = await run(inc, AS_OF, 'first');
  // The first run builds the replica: every row not resolved before the window start, and every
  // row created since the anomaly baseline's start (contract 7.1); no upper created_at bound.
  expect(first.sql).toMatch(/ WHERE "RESOLVED_AT" IS NULL OR "RESOLVED_AT" >= TO_TIMESTAMP_TZ\(\?\) OR "CREATED_AT" >= TO_TIMESTAMP_NTZ\(\?\)$/);
  const replicated = await replicaRows(state);
  expect(replicated).toBe(first.result.report.meta.rowsRead);

  change(table.rows!);
  const delta = await run(inc, LATER, 'delta');
  expect(delta.sql).toMatch(/ WHERE "CASE_ID" IN \(SELECT "CASE_ID" FROM "KPI_DB"."SUPPORT"."SUPPORT_CASES" WHERE "UPDATED_AT" >= TO_TIMESTAMP_NTZ\(\?\) OR "UPDATED_AT" IS NULL\) OR "CASE_ID" IS NULL$/);
  expect(delta.warnings).toEqual([]);
  const full = await run({ KPI_STATE_PATH: join(dir, 'other.duckdb') }, LATER, 'full');
  expect(full.sql).toMatch(/ WHERE "CREATED_AT" IS NULL OR \("CREATED_AT" <= /);
  expectSameFiles('full', 'delta');
  // The delta carried the changed cases only (31 updated, 40 new, C-10's two rows, the two
  // rows without case_id, and the cases updated within the overlap before the watermark).
  expect(delta.transferred).toBeLessThan(200);

  // --full-refresh rebuilds; the files are still the same.
  const refreshed = await run({ ...inc, KPI_FULL_REFRESH: 'true' }, LATER, 'refresh');
  expect(refreshed.sql).toMatch(/ WHERE "RESOLVED_AT" IS NULL OR "RESOLVED_AT" >= TO_TIMESTAMP_TZ\(\?\) OR "CREATED_AT" >= TO_TIMESTAMP_NTZ\(\?\)$/);
  expectSameFiles('full', 'refresh');
});

test('the delta transfers only the changed cases', async () => {
  const state = join(dir, 'state2.duckdb');
  const inc = { KPI_INCREMENTAL: 'true', KPI_STATE_PATH: state };
  await run(inc, LATER, 'a');
  const before = await replicaRows(state);
  const n = table.rows!.length;
  // Changed after everything the replica holds.
  table.rows!.push(['Z-1', wall(Date.parse('2026-11-24T08:00:00Z')), null, null, 'open', 'P1', 'AMER', 'T1', null, wall(Date.parse('2026-12-31T00:00:00Z'))]);
  const delta = await run(inc, LATER, 'b');
  // Z-1, the rows without case_id, and the cases changed within the overlap before the
  // watermark (some of them resolved before the window, which the replica did not hold).
  expect(delta.transferred).toBeLessThan(100);
  expect(delta.transferred).toBeGreaterThan(2);
  const after = await replicaRows(state);
  expect(after).toBeGreaterThan(before);
  expect(after).toBeLessThan(before + delta.transferred);
  expect(delta.result.report.meta.rowsRead).toBe(after);
  expect(table.rows!.length).toBe(n + 1);
});

test('a schema change and a missing updated_at fall back to full loads, with a warning', async () => {
  const state = join(dir, 'state3.duckdb');
  const inc = { KPI_INCREMENTAL: 'true', KPI_STATE_PATH: state };
  await run(inc, LATER, 's1');
  // KPI_COLUMN_MAP makes other columns feed the contract: the replica's signature changes.
  const changed = await run({ ...inc, KPI_COLUMN_MAP: 'ASSIGNEE:team,TEAM:assignee' }, LATER, 's2');
  expect(changed.warnings.join('\n')).toMatch(/KPI_INCREMENTAL: the source schema .* changed .* rebuilding the replica with a full load/);
  expect(changed.sql).toMatch(/ WHERE "RESOLVED_AT" IS NULL OR "RESOLVED_AT" >= /);
  const noUpdated = await run({ ...inc, SNOWFLAKE_TABLE: 'NO_UPDATED' }, LATER, 's3');
  expect(noUpdated.warnings).toEqual(['KPI_INCREMENTAL: the source has no updated_at column; loading the whole window instead']);
  expect(noUpdated.sql).toMatch(/ WHERE "CREATED_AT" IS NULL OR \("CREATED_AT" <= /);
});
