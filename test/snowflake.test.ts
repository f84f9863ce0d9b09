/**
 * Snowflake source through the real snowflake-sdk, pointed at a loopback fake (accessUrl).
 * No network: everything is 127.0.0.1.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { loadSettings, type Settings } from '../src/config/settings';
import { openMemoryEngine } from '../src/db/engine';
import { silentLogger } from '../src/support/log';
import { createSnowflakeSource, quoteSettingIdentifier } from '../src/sources/snowflake';
import { splitQualifiedName } from '../src/sources/snowflake/identifiers';
import { SourceError, type SourceContext } from '../src/sources/types';
import { planChunks, startFakeSnowflake, type FakeSnowflake, type FakeTable } from './fakes/snowflakeServer';

const ACCOUNT = 'TESTORG-KPI';
const USER = 'KPI_SVC';
const PASSPHRASE = 'correct horse battery staple';
const PAT = 'pat-secret-0123456789abcdef';
const OAUTH = 'oauth-secret-0123456789abcdef';
const PASSWORD = 'password-secret-0123456789';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const privatePem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const encryptedPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }).toString();
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherPrivatePem = otherKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const dir = mkdtempSync(join(tmpdir(), 'kpi-sf-'));
const keyPath = join(dir, 'rsa_key.p8');
writeFileSync(keyPath, encryptedPem, { mode: 0o600 });

const CASES: FakeTable = {
  columns: [
    { name: 'TICKET_ID', type: 'fixed' },
    { name: 'OPENED_AT', type: 'timestamp_ntz' },
    { name: 'FIRST_RESPONSE_AT', type: 'timestamp_ltz' },
    { name: 'RESOLVED_AT', type: 'timestamp_tz' },
    { name: 'STATUS', type: 'text' },
    { name: 'PRIORITY', type: 'text' },
    { name: 'REGION', type: 'text' },
    { name: 'UPDATED_AT', type: 'timestamp_tz' },
  ],
  rows: [
    ['1001', '2026-01-10 09:00:00', '2026-01-10T08:30:00Z', '2026-01-10T12:00:00+05:30', 'solved', 'P1', 'EMEA', '2026-01-10T12:00:00-08:00'],
    ['1002', '2026-07-10 09:00:00.250', null, null, 'open', 'high', null, null],
    ['12345678901234567890', null, null, null, 'new', null, 'AMER', null],
    // Outside the window: resolved before the window start / created after as_of.
    ['1003', '2025-01-01 00:00:00', null, '2025-02-01T00:00:00Z', 'closed', 'P2', null, null],
    ['1004', '2026-09-01 00:00:00', null, null, 'open', 'P3', null, null],
    // as_of is 2026-08-01T00:00Z = 02:00 in Berlin: 01:30 local is in, 02:30 local is out.
    ['1005', '2026-08-01 01:30:00', null, null, 'open', 'P4', null, null],
    ['1006', '2026-08-01 02:30:00', null, null, 'open', 'P4', null, null],
  ],
};

/** Timestamps kept as VARCHAR (as some warehouses do). */
const TEXT_CASES: FakeTable = {
  columns: [
    { name: 'CASE_ID', type: 'text' },
    { name: 'CREATED_AT', type: 'text' },
    { name: 'RESOLVED_AT', type: 'text' },
    { name: 'STATUS', type: 'text' },
    { name: 'PRIORITY', type: 'text' },
  ],
  rows: [
    ['T1', '2026-01-10 09:00:00', null, 'open', 'P1'],
    ['T2', '2026-01-10T09:00:00+05:30', '2026-02-01T00:00:00Z', 'solved', 'P2'],
    // Resolved before the window (more than a day): pruned in Snowflake.
    ['T3', '2025-01-01 00:00:00', '2025-02-01 00:00:00', 'closed', 'P2'],
    // Created after as_of (more than a day): pruned in Snowflake.
    ['T4', '2026-09-01 00:00', null, 'open', 'P3'],
    ['T10', '2026-08-02 12:00:00', null, 'open', 'P3'],
    // Text Snowflake is not asked to judge (the pipeline does): kept.
    ['T5', '10/01/2026', null, 'open', 'P4'],
    ['T6', '', null, 'open', 'P4'],
    ['T8', null, null, 'open', 'P4'],
    ['T9', '2026-07-31 12:00', 'garbage', 'solved', 'P1'],
    // 01:30 in Berlin is in the window; read as UTC it is after as_of, within the day's margin: kept.
    ['T7', '2026-08-01 01:30:00', null, 'open', 'P1'],
  ],
};

let fake: FakeSnowflake;

beforeAll(async () => {
  fake = await startFakeSnowflake({
    account: ACCOUNT,
    users: [{ name: USER, publicKeyPem: publicPem, pat: PAT, oauthToken: OAUTH, password: PASSWORD }],
    tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': CASES, 'KPI_DB.SUPPORT.TEXT_CASES': TEXT_CASES },
  });
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.failLogin = false;
  fake.hang = null;
  fake.sqlError = null;
  fake.http500 = 0;
  fake.fail = null;
  fake.attempts.clear();
  fake.logins.length = 0;
  fake.queries.length = 0;
});

function settings(extra: Record<string, string> = {}): Settings {
  return loadSettings({
    KPI_SOURCE: 'snowflake',
    KPI_SOURCE_TZ: 'Europe/Berlin',
    KPI_COLUMN_MAP: 'TICKET_ID:case_id,OPENED_AT:created_at',
    SNOWFLAKE_ACCOUNT: ACCOUNT,
    SNOWFLAKE_USER: USER.toLowerCase(),
    SNOWFLAKE_WAREHOUSE: 'kpi_wh',
    SNOWFLAKE_DATABASE: 'kpi_db',
    SNOWFLAKE_SCHEMA: 'support',
    SNOWFLAKE_ROLE: 'kpi_reader',
    SNOWFLAKE_PRIVATE_KEY_PATH: keyPath,
    SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: PASSPHRASE,
    SNOWFLAKE_ACCESS_URL: fake.url,
    SNOWFLAKE_CONNECT_TIMEOUT_MS: '5000',
    SNOWFLAKE_QUERY_TIMEOUT_MS: '10000',
    SNOWFLAKE_RETRIES: '0',
    ...extra,
  });
}

async function engine(): Promise<{ conn: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return { conn, close: () => { conn.closeSync(); instance.closeSync(); } };
}

function context(conn: DuckDBConnection, s: Settings): SourceContext {
  const asOf = new Date('2026-08-01T00:00:00Z');
  return { conn, settings: s, scope: { asOf, windowStart: new Date(asOf.getTime() - 365 * 86400_000) }, log: silentLogger() };
}

async function rowsOf(conn: DuckDBConnection, relation: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(`SELECT * FROM "${relation}"`);
  return reader.getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])));
}

async function tablesIn(conn: DuckDBConnection): Promise<string[]> {
  const r = await conn.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'snowflake%'");
  return r.getRowObjectsJS().map((x) => String(x.table_name));
}

async function loadError(s: Settings): Promise<SourceError> {
  const db = await engine();
  try {
    await createSnowflakeSource(s).load(context(db.conn, s));
  } catch (err) {
    expect(await tablesIn(db.conn)).toEqual([]);
    return err as SourceError;
  } finally {
    db.close();
  }
  throw new Error('load did not fail');
}

/** DuckDB's memory limit on the run's connection (the extract lowers it while it streams). */
async function memoryLimit(conn: DuckDBConnection): Promise<unknown> {
  return (await conn.runAndReadAll(`SELECT current_setting('memory_limit')`)).getRows()[0][0];
}

describe('Snowflake source (real driver, fake server)', () => {
  test('key pair: a really signed JWT, UTC session, one parameterised query, rows typed and converted', async () => {
    const s = settings();
    const db = await engine();
    try {
      const before = await memoryLimit(db.conn);
      const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
      expect(loaded.rowsRead).toBe(4);
      // The extract's memory cap (rows beyond it spill to the temp folder) is lifted afterwards.
      expect(await memoryLimit(db.conn)).toBe(before);
      // The fake verified the RS256 signature against the registered public key and iss/sub.
      expect(fake.logins).toHaveLength(1);
      expect(fake.logins[0]).toMatchObject({ ok: true, data: { AUTHENTICATOR: 'SNOWFLAKE_JWT', LOGIN_NAME: USER.toLowerCase() } });
      expect(fake.logins[0].data.PASSWORD).toBeUndefined();
      expect(fake.logins[0].query).toMatchObject({ warehouse: 'KPI_WH', databaseName: 'KPI_DB', schemaName: 'SUPPORT', roleName: 'KPI_READER' });
      expect(fake.sessionTimezone).toBe('UTC');
      // The smallest result chunks Snowflake allows.
      expect(fake.sessionChunkSizeMb).toBe(48);

      const sqls = fake.queries.map((q) => q.sqlText);
      expect(sqls[0]).toMatch(/^ALTER SESSION SET TIMEZONE = 'UTC', STATEMENT_TIMEOUT_IN_SECONDS = 10, CLIENT_RESULT_CHUNK_SIZE = 48$/);
      expect(sqls[1]).toBe('SELECT * FROM "KPI_DB"."SUPPORT"."SUPPORT_CASES" LIMIT 0');
      const extract = fake.queries[2];
      expect(fake.queries).toHaveLength(3);
      expect(extract.sqlText).toBe(
        'SELECT TO_VARCHAR("TICKET_ID") AS "case_id", TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, "OPENED_AT"::TIMESTAMP_NTZ)) AS "created_at", ' +
          'TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, CONVERT_TIMEZONE(\'UTC\', "FIRST_RESPONSE_AT"))) AS "first_response_at", ' +
          'TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, CONVERT_TIMEZONE(\'UTC\', "RESOLVED_AT"))) AS "resolved_at", "STATUS" AS "status", "PRIORITY" AS "priority", ' +
          '"REGION" AS "region", TO_VARCHAR(DATE_PART(EPOCH_MILLISECOND, CONVERT_TIMEZONE(\'UTC\', "UPDATED_AT"))) AS "updated_at" ' +
          'FROM "KPI_DB"."SUPPORT"."SUPPORT_CASES" ' +
          'WHERE "OPENED_AT" IS NULL OR ("OPENED_AT" <= TO_TIMESTAMP_NTZ(?) AND ("RESOLVED_AT" IS NULL OR "RESOLVED_AT" >= TO_TIMESTAMP_TZ(?)))',
      );
      expect(extract.sqlText).not.toMatch(/2026/);
      // as_of as Berlin wall clock for the NTZ column, window start as an instant for the TZ column.
      expect(extract.bindings).toEqual({
        '1': { type: 'TEXT', value: '2026-08-01 02:00:00.000' },
        '2': { type: 'TEXT', value: '2025-08-01T00:00:00.000Z' },
      });

      const desc = await db.conn.runAndReadAll(`DESCRIBE "${loaded.relation}"`);
      expect(Object.fromEntries(desc.getRowObjectsJS().map((r) => [r.column_name, r.column_type]))).toEqual({
        case_id: 'VARCHAR', created_at: 'TIMESTAMP WITH TIME ZONE', first_response_at: 'TIMESTAMP WITH TIME ZONE',
        resolved_at: 'TIMESTAMP WITH TIME ZONE', status: 'VARCHAR', priority: 'VARCHAR', region: 'VARCHAR', updated_at: 'TIMESTAMP WITH TIME ZONE',
      });
      expect(await rowsOf(db.conn, loaded.relation)).toEqual([
        {
          case_id: '1001',
          created_at: '2026-01-10T08:00:00.000Z', // NTZ 09:00 read in Europe/Berlin (CET, +01:00)
          first_response_at: '2026-01-10T08:30:00.000Z', // LTZ instant
          resolved_at: '2026-01-10T06:30:00.000Z', // TZ 12:00+05:30
          status: 'solved', priority: 'P1', region: 'EMEA',
          updated_at: '2026-01-10T20:00:00.000Z', // TZ 12:00-08:00
        },
        {
          case_id: '1002', created_at: '2026-07-10T07:00:00.250Z', // NTZ in summer time (CEST, +02:00)
          first_response_at: null, resolved_at: null, status: 'open', priority: 'high', region: null, updated_at: null,
        },
        {
          case_id: '12345678901234567890', // NUMBER fetched as text: no precision loss
          created_at: null, first_response_at: null, resolved_at: null, status: 'new', priority: null, region: 'AMER', updated_at: null,
        },
        {
          case_id: '1005', created_at: '2026-07-31T23:30:00.000Z',
          first_response_at: null, resolved_at: null, status: 'open', priority: 'P4', region: null, updated_at: null,
        },
      ]);
      expect(fake.sessionsClosed).toBeGreaterThan(0);
      await loaded.close();
      expect(await tablesIn(db.conn)).toEqual([]);
    } finally {
      db.close();
    }
  });

  test('inline PEM key (with \\n escapes) works too; a key that is not the registered one is refused', async () => {
    const db = await engine();
    try {
      const ok = settings({ SNOWFLAKE_PRIVATE_KEY_PATH: '', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: '', SNOWFLAKE_PRIVATE_KEY: privatePem.replace(/\n/g, '\\n') });
      const loaded = await createSnowflakeSource(ok).load(context(db.conn, ok));
      expect(loaded.rowsRead).toBe(4);
      await loaded.close();
    } finally {
      db.close();
    }
    const wrong = settings({ SNOWFLAKE_PRIVATE_KEY_PATH: '', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: '', SNOWFLAKE_PRIVATE_KEY: otherPrivatePem });
    const err = await loadError(wrong);
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/Snowflake authentication failed for user kpi_svc .* key pair .*JWT token is invalid/);
    expect(fake.logins.at(-1)).toMatchObject({ ok: false, reason: 'bad signature' });
    expect(err.message).not.toContain('PRIVATE KEY');
  });

  test('programmatic access token, OAuth token and password send what they should', async () => {
    const cases: [Record<string, string>, string, Record<string, unknown>][] = [
      [{ SNOWFLAKE_TOKEN: PAT }, 'PROGRAMMATIC_ACCESS_TOKEN', { TOKEN: PAT }],
      [{ SNOWFLAKE_AUTHENTICATOR: 'OAUTH', SNOWFLAKE_TOKEN: OAUTH }, 'OAUTH', { TOKEN: OAUTH }],
      [{ SNOWFLAKE_PASSWORD: PASSWORD }, 'SNOWFLAKE', { PASSWORD }],
    ];
    for (const [extra, authenticator, sent] of cases) {
      fake.logins.length = 0;
      const s = settings({ SNOWFLAKE_PRIVATE_KEY_PATH: '', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: '', ...extra });
      const db = await engine();
      try {
        const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
        expect(loaded.rowsRead).toBe(4);
        await loaded.close();
      } finally {
        db.close();
      }
      expect(fake.logins).toHaveLength(1);
      expect(fake.logins[0]).toMatchObject({ ok: true, data: { AUTHENTICATOR: authenticator, ...sent } });
    }
  });

  test('a failed login says "authentication" and never shows the secret', async () => {
    fake.failLogin = true;
    const err = await loadError(settings({ SNOWFLAKE_PRIVATE_KEY_PATH: '', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: '', SNOWFLAKE_PASSWORD: PASSWORD }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/^Snowflake authentication failed for user kpi_svc on account TESTORG-KPI using password: Incorrect username or password was specified\. \(Snowflake error 390100\)/);
    expect(err.message).not.toContain(PASSWORD);
    expect(fake.logins).toHaveLength(1); // no driver-level login retry loop
  });

  test('a wrong key passphrase fails before any network call, naming the setting', async () => {
    const err = await loadError(settings({ SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'not-the-passphrase' }));
    expect(err.message).toMatch(/SNOWFLAKE_PRIVATE_KEY_PATH .*wrong SNOWFLAKE_PRIVATE_KEY_PASSPHRASE/);
    expect(err.message).not.toContain('not-the-passphrase');
    expect(fake.logins).toHaveLength(0);
  });

  test('a missing table is a clear SQL error; nothing is left in DuckDB', async () => {
    const err = await loadError(settings({ SNOWFLAKE_TABLE: 'NO_SUCH_TABLE' }));
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/^Snowflake table "KPI_DB"."SUPPORT"."NO_SUCH_TABLE" does not exist or the role kpi_reader may not read it: SQL compilation error: Object 'KPI_DB.SUPPORT.NO_SUCH_TABLE' does not exist or not authorized\. \(Snowflake error 002003\)/);
  });

  test('an SQL error during the extract is reported with its Snowflake code', async () => {
    fake.sqlError = { code: '003001', message: "SQL access control error:\nInsufficient privileges to operate on table 'SUPPORT_CASES'", sqlState: '42501' };
    const err = await loadError(settings());
    expect(err.message).toMatch(/^Snowflake permission: SQL access control error: Insufficient privileges .*003001.*USAGE on warehouse kpi_wh/);
  });

  test('a missing required column names the columns and the mapping that fixes it', async () => {
    const err = await loadError(settings({ KPI_COLUMN_MAP: '' }));
    expect(err.message).toMatch(/Snowflake table "KPI_DB"."SUPPORT"."SUPPORT_CASES" lacks required columns case_id, created_at/);
    expect(err.message).toMatch(/KPI_COLUMN_MAP=TICKET_ID:case_id,OPENED_AT:created_at/);
  });

  test('a server that hangs at login: the connect timeout fires and the load fails cleanly', async () => {
    fake.hang = 'login';
    const started = Date.now();
    const err = await loadError(settings({ SNOWFLAKE_CONNECT_TIMEOUT_MS: '1000', SNOWFLAKE_QUERY_TIMEOUT_MS: '1500' }));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/^Snowflake network: no answer from http:\/\/127\.0\.0\.1:\d+ within 1000 ms while signing in \(SNOWFLAKE_CONNECT_TIMEOUT_MS\)/);
  });

  test('a server that hangs on the query: the query timeout fires and the load fails cleanly', async () => {
    fake.hang = 'query';
    const started = Date.now();
    const err = await loadError(settings({ SNOWFLAKE_CONNECT_TIMEOUT_MS: '1000', SNOWFLAKE_QUERY_TIMEOUT_MS: '1500' }));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/^Snowflake query timed out: the extract from "KPI_DB"."SUPPORT"."SUPPORT_CASES" did not finish within 1500 ms/);
    // Let the driver's abandoned request hit its own (1.5 s) timeout before the server closes.
    await new Promise((r) => setTimeout(r, 1600));
  });

  test('temporary HTTP 503s are retried (SNOWFLAKE_RETRIES) and then succeed', async () => {
    fake.http500 = 1;
    const s = settings({ SNOWFLAKE_RETRIES: '2' });
    const db = await engine();
    try {
      const before = await memoryLimit(db.conn);
      const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
      expect(loaded.rowsRead).toBe(4);
      // The extract's memory cap (rows beyond it spill to the temp folder) is lifted afterwards.
      expect(await memoryLimit(db.conn)).toBe(before);
      await loaded.close();
    } finally {
      db.close();
    }
  });

  test("an engine opened with a memory limit (KPI_MEMORY_LIMIT) gets that limit back after the extract", async () => {
    const s = settings();
    const db = await openMemoryEngine({ memoryLimit: '700MB' });
    try {
      const before = await memoryLimit(db.conn);
      expect(before).toBe('667.5 MiB');
      const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
      expect(loaded.rowsRead).toBe(4);
      expect(await memoryLimit(db.conn)).toBe(before);
      await loaded.close();
    } finally {
      db.close();
    }
  });

  test('identifiers from settings are validated and quoted', () => {
    expect(quoteSettingIdentifier('support_cases', 'SNOWFLAKE_TABLE')).toBe('"SUPPORT_CASES"');
    expect(quoteSettingIdentifier('"Support Cases"', 'SNOWFLAKE_TABLE')).toBe('"Support Cases"');
    for (const bad of ['cases; DROP TABLE x', 'a"b', '1abc', "x' OR 1=1", '']) {
      expect(() => quoteSettingIdentifier(bad, 'SNOWFLAKE_TABLE')).toThrow(SourceError);
    }
  });

  test('configuration problems are SourceErrors from load(), describe() never shows a secret', async () => {
    const s = settings({ SNOWFLAKE_PRIVATE_KEY_PATH: '', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: '', SNOWFLAKE_PASSWORD: PASSWORD, SNOWFLAKE_TABLE: 'x;y' });
    const source = createSnowflakeSource(s);
    expect(source.describe()).not.toContain(PASSWORD);
    const err = await loadError(s);
    expect(err.message).toMatch(/SNOWFLAKE_TABLE "x;y" is not a valid identifier/);
    const none = await loadError(settings({ SNOWFLAKE_PRIVATE_KEY_PATH: '', SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: '' }));
    expect(none.message).toMatch(/no credentials/);
  });

  test('the fake serves chunks like Snowflake: growing about 1.9x up to the cap, gzipped, attempts counted', async () => {
    // The plan: inline part, then chunks of 1, 1.9, 3.61 ... MB up to the cap.
    const starts = planChunks(10_000_000, 100, 1024 * 1024, 16 * 1024 * 1024);
    const sizes = starts.slice(1).map((end, i) => end - starts[i]);
    expect(starts[0]).toBe(10485);
    expect(sizes.slice(0, 5)).toEqual([10485, 19922, 37853, 71921, 136651]);
    expect(Math.max(...sizes)).toBe(167772); // 16 MB of 100-byte rows
    expect(starts.at(-1)).toBe(10_000_000);

    const big = await startFakeSnowflake({
      account: ACCOUNT,
      users: [{ name: USER, publicKeyPem: publicPem }],
      tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': generated(30_000) },
      firstChunkBytes: 64 * 1024,
    });
    try {
      const s = settings({ SNOWFLAKE_ACCESS_URL: big.url, KPI_COLUMN_MAP: '' });
      const db = await engine();
      try {
        const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
        expect(loaded.rowsRead).toBe(30_000);
        const [[n, distinct]] = (await db.conn.runAndReadAll(`SELECT count(*)::INT, count(DISTINCT case_id)::INT FROM "${loaded.relation}"`)).getRows();
        expect([n, distinct]).toEqual([30_000, 30_000]);
        await loaded.close();
      } finally {
        db.close();
      }
      expect(big.chunkBytes.length).toBeGreaterThan(4);
      for (let i = 1; i < big.chunkBytes.length - 1; i++) {
        expect(big.chunkBytes[i] / big.chunkBytes[i - 1]).toBeGreaterThan(1.8);
        expect(big.chunkBytes[i] / big.chunkBytes[i - 1]).toBeLessThan(2.0);
      }
      // Every chunk fetched once, every query request sent once.
      const chunkAttempts = [...big.attempts].filter(([k]) => k.startsWith('chunk:')).map(([, v]) => v);
      expect(chunkAttempts).toHaveLength(big.chunkBytes.length);
      expect(new Set(chunkAttempts)).toEqual(new Set([1]));
      expect([...big.attempts].filter(([k]) => k.startsWith('query:')).map(([, v]) => v)).toEqual([1, 1, 1]);
    } finally {
      await big.close();
    }
  });

  test('chunks made ahead (prepareAhead, the streaming bench) are the chunks made on request: the same rows, each fetched once', async () => {
    const loadAll = async (prepareAhead: number) => {
      const fake = await startFakeSnowflake({
        account: ACCOUNT,
        users: [{ name: USER, publicKeyPem: publicPem }],
        tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': generated(30_000) },
        firstChunkBytes: 64 * 1024,
        prepareAhead,
      });
      try {
        const s = settings({ SNOWFLAKE_ACCESS_URL: fake.url, KPI_COLUMN_MAP: '' });
        const db = await engine();
        try {
          const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
          const rows = (await db.conn.runAndReadAll(`SELECT * FROM "${loaded.relation}" ORDER BY case_id`)).getRowsJson();
          await loaded.close();
          const chunkAttempts = [...fake.attempts].filter(([k]) => k.startsWith('chunk:')).map(([, v]) => v);
          return { rows, chunkBytes: fake.chunkBytes, chunkAttempts, madeAhead: fake.chunksMadeAhead };
        } finally {
          db.close();
        }
      } finally {
        await fake.close();
      }
    };
    const onRequest = await loadAll(0);
    const ahead = await loadAll(3);
    expect(ahead.rows).toHaveLength(30_000);
    expect(ahead.rows).toEqual(onRequest.rows);
    expect(ahead.chunkBytes).toEqual(onRequest.chunkBytes);
    expect(new Set(ahead.chunkAttempts)).toEqual(new Set([1]));
    expect(onRequest.madeAhead).toBe(0);
    expect(ahead.madeAhead).toBeGreaterThan(0);
  });

  test('VARCHAR timestamps: the window is still filtered in Snowflake (TRY_TO_TIMESTAMP_TZ), widened by a day, unparsed text kept', async () => {
    const s = settings({ SNOWFLAKE_TABLE: 'TEXT_CASES', KPI_COLUMN_MAP: '' });
    const db = await engine();
    try {
      const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
      const text = (col: string) => `TRY_TO_TIMESTAMP_TZ(CASE WHEN REGEXP_LIKE(TRIM("${col}"), '[0-9]{4}-[0-9]{2}-[0-9]{2}.*') THEN TRIM("${col}") END)`;
      const extract = fake.queries.at(-1)!;
      expect(extract.sqlText).toBe(
        'SELECT "CASE_ID" AS "case_id", "CREATED_AT" AS "created_at", "RESOLVED_AT" AS "resolved_at", "STATUS" AS "status", "PRIORITY" AS "priority" ' +
          'FROM "KPI_DB"."SUPPORT"."TEXT_CASES" ' +
          `WHERE ${text('CREATED_AT')} IS NULL OR (${text('CREATED_AT')} <= TO_TIMESTAMP_TZ(?) AND (${text('RESOLVED_AT')} IS NULL OR ${text('RESOLVED_AT')} >= TO_TIMESTAMP_TZ(?)))`,
      );
      // as_of and window start, each widened by a day.
      expect(extract.bindings).toEqual({
        '1': { type: 'TEXT', value: '2026-08-02T00:00:00.000Z' },
        '2': { type: 'TEXT', value: '2025-07-31T00:00:00.000Z' },
      });
      const ids = (await rowsOf(db.conn, loaded.relation)).map((r) => r.case_id).sort();
      expect(ids).toEqual(['T1', 'T2', 'T5', 'T6', 'T7', 'T8', 'T9']);
      expect(loaded.rowsRead).toBe(7);
      await loaded.close();
    } finally {
      db.close();
    }
  });

  test('VARCHAR timestamps in a custom KPI_TIMESTAMP_FORMAT are not filtered in Snowflake (it could read them differently)', async () => {
    const s = settings({ SNOWFLAKE_TABLE: 'TEXT_CASES', KPI_COLUMN_MAP: '', KPI_TIMESTAMP_FORMAT: '%d/%m/%Y' });
    const db = await engine();
    try {
      const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
      expect(fake.queries.at(-1)!.sqlText).not.toMatch(/WHERE/);
      expect(loaded.rowsRead).toBe(TEXT_CASES.rows!.length);
      await loaded.close();
    } finally {
      db.close();
    }
  });

  test('result chunks are streamed and parsed as they arrive, not by the driver (gzip without a Content-Encoding header too)', async () => {
    const big = await startFakeSnowflake({
      account: ACCOUNT,
      users: [{ name: USER, publicKeyPem: publicPem }],
      tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': generated(20_000) },
      firstChunkBytes: 64 * 1024,
      // The driver's own path reads such a body as text and cannot parse it.
      gzipWithoutHeader: true,
    });
    try {
      const s = settings({ SNOWFLAKE_ACCESS_URL: big.url, KPI_COLUMN_MAP: '' });
      const db = await engine();
      try {
        const loaded = await createSnowflakeSource(s).load(context(db.conn, s));
        expect(loaded.rowsRead).toBe(20_000);
        const rows = (await db.conn.runAndReadAll(`SELECT case_id, epoch_ms(created_at)::BIGINT AS c, status FROM "${loaded.relation}" WHERE case_id IN ('C-0', 'C-19999') ORDER BY c`)).getRowObjectsJS();
        const base = Date.parse('2026-07-01T00:00:00Z') - 2 * 3_600_000; // NTZ read in Europe/Berlin (CEST)
        expect(rows).toEqual([
          { case_id: 'C-0', c: BigInt(base), status: 'open' },
          { case_id: 'C-19999', c: BigInt(base + 19_999_000), status: 'solved' },
        ]);
        await loaded.close();
      } finally {
        db.close();
      }
      expect(big.chunkBytes.length).toBeGreaterThan(3);
    } finally {
      await big.close();
    }
  });

  test('SNOWFLAKE_RETRIES caps the driver: a persistent HTTP 500 on a query request is tried twice (RETRIES=1) and fails fast', async () => {
    fake.fail = { path: 'query', status: 500 };
    const started = Date.now();
    const err = await loadError(settings({ SNOWFLAKE_RETRIES: '1' }));
    expect(Date.now() - started).toBeLessThan(8000);
    expect(err.message).toMatch(/^Snowflake network: http:\/\/127\.0\.0\.1:\d+ answered HTTP 500/);
    const queryAttempts = [...fake.attempts].filter(([k]) => k.startsWith('query:')).map(([, v]) => v);
    // One request (the session setup), tried twice; the load is not retried on top.
    expect(queryAttempts).toEqual([2]);
    expect(fake.logins).toHaveLength(1);
  });

  test('with SNOWFLAKE_RETRIES=0 nothing is retried', async () => {
    fake.fail = { path: 'query', status: 503 };
    await loadError(settings({ SNOWFLAKE_RETRIES: '0' }));
    expect([...fake.attempts].filter(([k]) => k.startsWith('query:')).map(([, v]) => v)).toEqual([1]);
  });

  test('a result chunk answered with HTTP 500 is reported as such, tried SNOWFLAKE_RETRIES + 1 times', async () => {
    const big = await startFakeSnowflake({
      account: ACCOUNT,
      users: [{ name: USER, publicKeyPem: publicPem }],
      tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': generated(30_000) },
      firstChunkBytes: 64 * 1024,
    });
    try {
      big.fail = { path: 'chunk', chunk: 2, status: 500 };
      const started = Date.now();
      const err = await loadError(settings({ SNOWFLAKE_ACCESS_URL: big.url, KPI_COLUMN_MAP: '', SNOWFLAKE_RETRIES: '1' }));
      expect(Date.now() - started).toBeLessThan(8000);
      expect(err.message).toBe('Snowflake result chunk 3 failed: HTTP 500 from the result store (2 attempts)');
      const chunk = [...big.attempts].find(([k]) => /^chunk:[^/]+\/2$/.test(k));
      expect(chunk?.[1]).toBe(2);
      expect(big.logins).toHaveLength(1);
    } finally {
      await big.close();
    }
  });

  test('table names are parsed strictly: malformed names are setting errors naming SNOWFLAKE_TABLE, never rewritten', async () => {
    expect(splitQualifiedName('kpi_db.support."Support Cases"', 'SNOWFLAKE_TABLE')).toEqual(['kpi_db', 'support', '"Support Cases"']);
    expect(splitQualifiedName(' "A.B".c ', 'SNOWFLAKE_TABLE')).toEqual(['"A.B"', 'c']);
    const cases: [string, RegExp][] = [
      ['"Support"Cases', /text after a closing double quote/],
      ['a..b', /an empty part/],
      ['.a', /an empty part/],
      ['a.', /an empty part/],
      ['""', /an empty part/],
      ['"Support Cases', /unbalanced double quote/],
      ['Support"Cases', /a double quote inside an unquoted name/],
      ['"a""b"', /a double quote inside a quoted name/],
    ];
    for (const [name, why] of cases) {
      expect(() => splitQualifiedName(name, 'SNOWFLAKE_TABLE')).toThrow(why);
      const err = await loadError(settings({ SNOWFLAKE_TABLE: name }));
      expect(err).toBeInstanceOf(SourceError);
      expect(err.message).toContain(`Snowflake configuration: SNOWFLAKE_TABLE "${name}" is not a valid name`);
    }
    expect(fake.logins).toHaveLength(0);
    const four = await loadError(settings({ SNOWFLAKE_TABLE: 'a.b.c.d' }));
    expect(four.message).toMatch(/SNOWFLAKE_TABLE "a.b.c.d" must be TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE/);
  });
});

/** `rows` cases with contract column names, generated on demand. */
function generated(rows: number): FakeTable {
  const base = Date.parse('2026-07-01T00:00:00Z');
  return {
    columns: [
      { name: 'CASE_ID', type: 'text' },
      { name: 'CREATED_AT', type: 'timestamp_ntz' },
      { name: 'RESOLVED_AT', type: 'timestamp_ltz' },
      { name: 'STATUS', type: 'text' },
      { name: 'PRIORITY', type: 'text' },
    ],
    rowCount: rows,
    row: (i) => [`C-${i}`, String(base + i * 1000), i % 3 ? String(base + i * 1000 + 3_600_000) : null, i % 3 ? 'solved' : 'open', `P${1 + (i % 4)}`],
  };
}
