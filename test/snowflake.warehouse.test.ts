/**
 * Warehouse compute (KPI_COMPUTE=warehouse) against the fake Snowflake in execute mode: the
 * real driver sends the KPI SQL rendered for Snowflake, the fake runs it on DuckDB through
 * the dialect layer's shim (snowflakeToDuckdb). The report files equal local compute's on
 * the same data, file for file; every statement sent is Snowflake SQL (parsed with
 * node-sql-parser's Snowflake grammar, and free of DuckDB-only names); only report rows
 * come back.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'node-sql-parser';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { createSnowflakeSource } from '../src/sources/snowflake';
import { SNOWFLAKE, DUCKDB, snowflakeToDuckdb, snowflakeFormat } from '../src/db/dialect';
import { startFakeSnowflake, type FakeSnowflake, type FakeTable } from './fakes/snowflakeServer';
import { csvOf, fixture, fixtureTable } from './helpers/snowflakeFixture';

const AS_OF = new Date('2026-11-23T09:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'kpi-sf-wh-'));
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPath = join(dir, 'key.p8');
writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

/** cases_small.csv as a warehouse table of text columns (timestamps as text, some unparseable). */
function smallTable(): FakeTable {
  const [header, ...lines] = readFileSync(join(__dirname, 'fixtures/cases_small.csv'), 'utf8').trim().split('\n');
  const names = header.split(',');
  return {
    columns: names.map((n) => ({ name: n.toUpperCase(), type: 'text' as const })),
    rows: lines.map((l) => l.split(',').map((v) => (v === '' ? null : v))),
  };
}

/**
 * Duplicates tied on updated_at: T-1's rows differ (P3 then P1, P1 read last), T-2's are
 * equal; both are open cases created an hour before as_of.
 */
const TIED: FakeTable = {
  columns: ['CASE_ID', 'CREATED_AT', 'STATUS', 'PRIORITY', 'REGION', 'UPDATED_AT'].map((name) => ({ name, type: 'text' as const })),
  rows: [
    ['T-1', '2026-11-23T08:00:00Z', 'open', 'P3', 'EMEA', '2026-11-23T08:30:00Z'],
    ['T-1', '2026-11-23T08:00:00Z', 'open', 'P1', 'EMEA', '2026-11-23T08:30:00Z'],
    ['T-2', '2026-11-23T08:00:00Z', 'open', 'P2', 'AMER', '2026-11-23T08:10:00Z'],
    ['T-2', '2026-11-23T08:00:00Z', 'open', 'P2', 'AMER', '2026-11-23T08:10:00Z'],
    ['T-3', '2026-11-22T08:00:00Z', 'open', 'P4', 'AMER', null],
  ],
};

/**
 * A status history for the pipeline fixture (SNOWFLAKE_HISTORY_TABLE, KPI_COLUMN_MAP's
 * ticket_id as its case id): changed_at as text, mostly naive wall clocks (read in the source
 * time zone), some with an offset. Every case's changes have distinct times: ties on
 * changed_at have no order in a warehouse table (docs/snowflake.md). Pausing statuses of each
 * policy (enterprise: pending; office: pending, waiting*; ny: on_hold); open cases
 * paused at as_of. Also rows data quality counts as invalid: unknown case ids,
 * undated rows (NULL, unparseable text), an empty id; and a change after as_of, which is not
 * counted. No id of a case the extract leaves out (such as A-5, created after as_of): local
 * compute would count it unknown, warehouse compute finds it in the table (docs/snowflake.md).
 */
function historyTable(cases: ReturnType<typeof fixture>): FakeTable {
  const wall = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const h: (string | null)[][] = [
    ['A-1', 'open', '2026-11-23 03:00:00'],
    ['A-1', 'pending', '2026-11-23 03:30:00'],
    ['A-7', 'waiting on customer', '2026-11-20 10:00:00'],
    ['A-7', 'open', '2026-11-20T20:00:00Z'],
    ['A-9', 'on_hold', '2026-11-10 13:00:00'],
    ['A-9', 'open', '2026-11-12 09:30:00'],
    ['Z-1', 'pending', '2026-11-19 08:00:00'],
    ['Z-1', 'open', '2026-11-19 09:00:00'],
    ['Z-2', 'on_hold', '2026-11-22T10:00:00+01:00'],
    ['A-2', 'pending', null],
    ['A-3', 'on_hold', 'not a time'],
    [null, 'pending', '2026-11-21 08:00:00'],
    ['A-3', 'on_hold', '2026-11-23 12:00:00'],
  ];
  // Generated cases: about one in six gets open, a pausing status of its policy, open again,
  // and, for one in four of those, a last pause that may last to as_of; wall clocks as in
  // the cases.
  for (const r of cases) {
    // i: the generated case's number (fixture(): open when i % 4 === 0).
    const i = Number(r[0]?.startsWith('B-') ? r[0].slice(2) : NaN);
    if (!(i % 6 === 0) || !r[1]) continue;
    const created = Date.parse(`${r[1].replace(' ', 'T')}Z`);
    const pause = r[6] === 'EMEA' ? ['pending', 'waiting on customer'][i % 2] : 'on_hold';
    h.push([r[0], 'open', wall(created + 600_000)]);
    h.push([r[0], pause, wall(created + 3_600_000 + (i % 11) * 300_000)]);
    h.push([r[0], 'open', wall(created + 4 * 3_600_000 + (i % 7) * 900_000)]);
    if (i % 4 === 0) h.push([r[0], pause, wall(created + 6 * 3_600_000)]);
  }
  // Interleaved, as a table's rows come.
  const order = h.map((_, k) => k).sort((a, b) => ((a * 7919) % h.length) - ((b * 7919) % h.length));
  return {
    columns: [{ name: 'TICKET_ID', type: 'text' }, { name: 'STATUS', type: 'text' }, { name: 'CHANGED_AT', type: 'text' }],
    rows: order.map((k) => h[k]),
  };
}

/**
 * The same history with changed_at as TIMESTAMP_NTZ (wall clocks in the source time zone):
 * text with an offset or that does not parse is NULL there.
 */
function typedHistory(t: FakeTable): FakeTable {
  return {
    columns: [...t.columns.slice(0, 2), { name: 'CHANGED_AT', type: 'timestamp_ntz' }],
    rows: t.rows!.map(([id, status, at]) => [id, status, at && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(at) ? at : null]),
  };
}

let fake: FakeSnowflake;
const rows = fixture();

beforeAll(async () => {
  writeFileSync(join(dir, 'cases.csv'), csvOf(rows));
  fake = await startFakeSnowflake({
    account: 'TESTORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': fixtureTable(rows), 'KPI_DB.SUPPORT.SMALL_CASES': smallTable(), 'KPI_DB.SUPPORT.TIED_CASES': TIED,
      'KPI_DB.SUPPORT.CASE_HISTORY': historyTable(rows), 'KPI_DB.SUPPORT.CASE_HISTORY_NTZ': typedHistory(historyTable(rows)) },
    execute: true,
  });
});

afterAll(async () => {
  await fake.close();
});

function settingsFor(extra: Record<string, string>) {
  return loadSettings({
    KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb'),
    KPI_SOURCE: 'snowflake', SNOWFLAKE_ACCOUNT: 'TESTORG-KPI', SNOWFLAKE_USER: 'KPI_SVC', SNOWFLAKE_DATABASE: 'KPI_DB', SNOWFLAKE_SCHEMA: 'SUPPORT',
    SNOWFLAKE_PRIVATE_KEY_PATH: keyPath, SNOWFLAKE_ACCESS_URL: fake.url, SNOWFLAKE_RETRIES: '0',
    ...extra,
  });
}

/** Runs local compute (the extract) and warehouse compute on the same table; returns both output folders and the warehouse run's traffic. */
async function bothWays(name: string, extra: Record<string, string>) {
  const localSettings = settingsFor(extra);
  const whSettings = settingsFor({ ...extra, KPI_COMPUTE: 'warehouse' });
  const localOut = join(dir, `${name}-local`);
  const whOut = join(dir, `${name}-wh`);
  const localBytesBefore = fake.resultBytes;
  const local = await runPipeline({ settings: localSettings, source: createSnowflakeSource(localSettings), asOf: AS_OF, outDir: localOut, recordHistory: false, trigger: 'test' });
  const localBytes = fake.resultBytes - localBytesBefore;
  const executedBefore = fake.executed.length;
  const queriesBefore = fake.queries.length;
  const bytesBefore = fake.resultBytes;
  const wh = await runPipeline({ settings: whSettings, asOf: AS_OF, outDir: whOut, recordHistory: false, trigger: 'test' });
  return {
    local, wh, localOut, whOut,
    sent: fake.queries.slice(queriesBefore).map((q) => q.sqlText),
    executed: fake.executed.slice(executedBefore),
    bytes: fake.resultBytes - bytesBefore,
    localBytes,
  };
}

function expectSameFiles(r: Awaited<ReturnType<typeof bothWays>>): string[] {
  const names = readdirSync(r.localOut).sort();
  expect(readdirSync(r.whOut).sort()).toEqual(names);
  for (const name of names) {
    if (name === '.run.json') continue;
    let a = readFileSync(join(r.localOut, name), 'utf8');
    let b = readFileSync(join(r.whOut, name), 'utf8');
    if (name.endsWith('.txt')) {
      // The summary names its source; everything else must be identical.
      a = a.split(r.local.report.meta.source).join('<source>');
      b = b.split(r.wh.report.meta.source).join('<source>');
    }
    expect({ name, content: b }).toEqual({ name, content: a });
  }
  return names;
}

/**
 * Names DuckDB has and Snowflake lacks (or spells differently): none may reach the
 * warehouse. node-sql-parser accepts some of them (FILTER, list literals), hence this list.
 */
const DUCKDB_ONLY = [
  /\bepoch_us\s*\(/i, /\bmake_timestamp\s*\(/i, /\bto_microseconds\s*\(/i, /\bstrftime\s*\(/i, /\bquantile_cont\s*\(/i, /\blist_position\s*\(/i,
  /\bstarts_with\s*\(/i, /\bends_with\s*\(/i, /\btry_strptime\s*\(/i, /\bgetvariable\s*\(/i, /\bhash\s*\(/i, /\bget_bit\s*\(/i, /\brange\s*\(/i,
  /\bFILTER\s*\(\s*WHERE/i, /\bMATERIALIZED\b/i, /::kpi_/i, /\bkpi_(priority|outcome|status_family)\b/i, /\browid\b/i, /\bTEMP\s+(TABLE|VIEW)\b/i,
  /\bASOF LEFT JOIN\b/i, /\bGROUPING SETS\b/i, /\bdayname\s*\(/i, /@\w+/,
];

/** Statements node-sql-parser 5.4's Snowflake grammar cannot read although Snowflake runs them. */
const PARSER_GAPS: { pattern: RegExp; reason: string }[] = [
  { pattern: /^ALTER SESSION SET /, reason: 'the grammar has no ALTER SESSION (https://docs.snowflake.com/en/sql-reference/sql/alter-session)' },
  {
    pattern: /^CREATE OR REPLACE TEMPORARY TABLE clock_pauses AS/m,
    reason: 'the grammar ends a window frame only at CURRENT ROW or n FOLLOWING; Snowflake has ROWS BETWEEN UNBOUNDED PRECEDING AND n PRECEDING (https://docs.snowflake.com/en/sql-reference/functions-analytic#window-frame-syntax-and-usage)',
  },
  {
    pattern: /^CREATE OR REPLACE TEMPORARY TABLE clock_due AS/m,
    reason: 'the grammar has no ASOF JOIN ... MATCH_CONDITION (https://docs.snowflake.com/en/sql-reference/constructs/asof-join)',
  },
];

function expectSnowflakeSql(sent: string[]): void {
  const parser = new Parser();
  const problems: string[] = [];
  for (const sql of sent) {
    for (const re of DUCKDB_ONLY) if (re.test(sql.replace(/'(?:[^'\\]|\\.|'')*'/g, "''").replace(/--.*$/gm, ''))) problems.push(`${re}: ${sql.slice(0, 200)}`);
    if (PARSER_GAPS.some((g) => g.pattern.test(sql))) continue;
    try {
      parser.astify(sql, { database: 'snowflake' });
    } catch (e) {
      problems.push(`does not parse as Snowflake SQL (${String((e as Error).message).slice(0, 160)}): ${sql.slice(0, 300)}`);
    }
  }
  expect(problems).toEqual([]);
}

test('warehouse compute gives the files of local compute on the pipeline fixture (DST, duplicates, text ids, New York source, Berlin reports)', async () => {
  const r = await bothWays('fixture', {
    KPI_SOURCE_TZ: 'America/New_York', KPI_COLUMN_MAP: 'ticket_id:case_id,opened_at:created_at', KPI_TZ: 'Europe/Berlin',
  });
  const names = expectSameFiles(r);
  expect(names).toEqual(expect.arrayContaining(['sla_summary.csv', 'sla_at_risk_cases.csv', 'volume_anomaly_summary.csv', 'data_quality_score.csv']));
  expect(r.wh.report.dataQuality.duplicate_rows).toBeGreaterThan(0);
  expect(r.wh.report.atRiskCases.length).toBeGreaterThan(0);
  // Only report rows come back (most of them the at-risk list): less than the extract of
  // local compute's window.
  expect(r.bytes).toBeLessThan(1024 * 1024);
  expect(r.bytes).toBeLessThan(r.localBytes);
  expectSnowflakeSql(r.sent);
  // The staging steps are temporary tables of the session.
  expect(r.sent.filter((s) => /^CREATE OR REPLACE TEMPORARY TABLE case_rows AS/m.test(s))).toHaveLength(1);
  expect(r.sent.some((s) => /TEMPORARY TABLE duplicate_rows/.test(s))).toBe(true);
});

test('warehouse compute gives the files of local compute on cases_small.csv, in UTC and with an SLA policy file without clocks', async () => {
  const r = await bothWays('small', { SNOWFLAKE_TABLE: 'SMALL_CASES' });
  expectSameFiles(r);
  expectSnowflakeSql(r.sent);
  const policy = join(dir, 'policy.yml');
  writeFileSync(policy, [
    'version: 1',
    'risk_stages: [50, 80]',
    'policies:',
    '  - name: vip',
    '    when: { customer_tier: [enterprise], region: ["EM*"] }',
    '    calendar: 24x7',
    '    targets: { P1: { first_response: 15m, resolution: 2h }, P2: { first_response: 1h, resolution: 6h } }',
    '  - name: standard',
    '    calendar: 24x7',
    '    targets:',
    '      P1: { first_response: 30m, resolution: 4h }',
    '      P2: { first_response: 1h, resolution: 8h }',
    '      P3: { first_response: 4h, resolution: 24h }',
    '',
  ].join('\n'));
  const p = await bothWays('small-policy', { SNOWFLAKE_TABLE: 'SMALL_CASES', KPI_SLA_POLICY_FILE: policy, KPI_TZ: 'Asia/Kolkata' });
  expectSameFiles(p);
  expectSnowflakeSql(p.sent);
  expect(p.wh.report.slaPolicySummary.map((x) => x.policy)).toEqual(p.local.report.slaPolicySummary.map((x) => x.policy));
});

test('warehouse compute gives the files of local compute with the SLA policy fixture (business-hours calendars with holidays, risk stages)', async () => {
  const r = await bothWays('policy-clocks', {
    KPI_SOURCE_TZ: 'America/New_York', KPI_COLUMN_MAP: 'ticket_id:case_id,opened_at:created_at', KPI_TZ: 'Europe/Berlin',
    KPI_SLA_POLICY_FILE: join(__dirname, 'fixtures/sla-policy/policies.yml'),
  });
  expectSameFiles(r);
  expectSnowflakeSql(r.sent);
  // The calendars' business time went up as a small temporary table.
  expect(r.sent.some((s) => /^CREATE OR REPLACE TEMPORARY TABLE clock_buckets/.test(s))).toBe(true);
  expect(r.sent.some((s) => /^INSERT INTO clock_buckets/.test(s))).toBe(true);
  const calendars = new Set(r.wh.report.atRiskCases.map((c) => c.calendar));
  expect(calendars).toEqual(new Set(['emea-office', 'ny-office']));
  expect(r.bytes).toBeLessThan(1024 * 1024);
});

test('warehouse compute gives the files of local compute with the SLA policy fixture and a status history (pauses, history counts)', async () => {
  const r = await bothWays('policy-history', {
    KPI_SOURCE_TZ: 'America/New_York', KPI_COLUMN_MAP: 'ticket_id:case_id,opened_at:created_at', KPI_TZ: 'Europe/Berlin',
    KPI_SLA_POLICY_FILE: join(__dirname, 'fixtures/sla-policy/policies.yml'), SNOWFLAKE_HISTORY_TABLE: 'CASE_HISTORY',
  });
  expectSameFiles(r);
  expectSnowflakeSql(r.sent);
  // The history is read in place: counted, and semi-joined on the cases that may pause.
  const idCounts = r.sent.filter((s) => /^CREATE OR REPLACE TEMPORARY TABLE history_id_counts AS/m.test(s));
  expect(idCounts).toHaveLength(1);
  // Snowflake takes an IN subquery in a WHERE clause only (the fake would run it anywhere).
  expect(idCounts[0]).not.toMatch(/\bIN \(SELECT/i);
  expect(r.sent.some((s) => /^CREATE OR REPLACE TEMPORARY TABLE history_unknown_ids AS/m.test(s))).toBe(true);
  expect(r.sent.some((s) => /^CREATE OR REPLACE TEMPORARY TABLE clock_history AS/m.test(s) && /\bSEQ8\(\)/.test(s))).toBe(true);
  // 14 hand rows less the one after as_of, and the generated ones; invalid: NULL and
  // unparseable changed_at, the empty id, the three rows of unknown ids Z-1 and Z-2.
  const dq = r.wh.report.dataQuality;
  expect(dq.history_rows).toBeGreaterThan(13);
  expect(dq.invalid_history_rows).toBe(6);
  expect(dq).toEqual(r.local.report.dataQuality);
  // Pauses changed the clocks: listed cases paused at as_of.
  expect(r.wh.report.atRiskCases.filter((c) => c.clock_state === 'paused').length).toBeGreaterThan(1);
  expect(r.wh.report.atRiskCases).toEqual(r.local.report.atRiskCases);
});

test('the same with changed_at as TIMESTAMP_NTZ (wall clocks converted in the warehouse): the same files', async () => {
  const r = await bothWays('policy-history-ntz', {
    KPI_SOURCE_TZ: 'America/New_York', KPI_COLUMN_MAP: 'ticket_id:case_id,opened_at:created_at', KPI_TZ: 'Europe/Berlin',
    KPI_SLA_POLICY_FILE: join(__dirname, 'fixtures/sla-policy/policies.yml'), SNOWFLAKE_HISTORY_TABLE: 'CASE_HISTORY_NTZ',
  });
  expectSameFiles(r);
  expectSnowflakeSql(r.sent);
  expect(r.sent.some((s) => /^CREATE OR REPLACE TEMPORARY TABLE clock_history AS/m.test(s) && /CONVERT_TIMEZONE\('America\/New_York', 'UTC'/.test(s))).toBe(true);
  // Undated: the NULL, the unparseable text and the two with an offset (A-7's, Z-2's); plus
  // the empty id and Z-1's two rows.
  expect(r.wh.report.dataQuality.invalid_history_rows).toBe(7);
  expect(r.wh.report.atRiskCases.filter((c) => c.clock_state === 'paused').length).toBeGreaterThan(1);
});

test('tied duplicates that differ: local compute keeps the row read last, warehouse compute the greatest by stored columns (docs/snowflake.md)', async () => {
  const r = await bothWays('tied', { SNOWFLAKE_TABLE: 'TIED_CASES' });
  // The same rows are duplicates either way...
  expect(r.wh.report.dataQuality).toEqual(r.local.report.dataQuality);
  expect(r.wh.report.dataQuality.duplicate_rows).toBe(2);
  // ...but T-1 counts as P1 locally (read last) and as P3 in the warehouse (priority_label
  // P3 > P1 in the tie order).
  const priorities = (rep: typeof r.wh.report) => rep.slaSummary.filter((x) => x.priority !== 'ALL').map((x) => [x.priority, x.total_cases]);
  expect(priorities(r.local.report)).toEqual([['P1', 1], ['P2', 1], ['P4', 1]]);
  expect(priorities(r.wh.report)).toEqual([['P2', 1], ['P3', 1], ['P4', 1]]);
});

test('KPI_COMPUTE=warehouse is refused where it cannot run, with the reason', () => {
  expect(() => loadSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: 'x.csv', KPI_COMPUTE: 'warehouse' })).toThrow(/KPI_COMPUTE=warehouse needs KPI_SOURCE=snowflake/);
  expect(() => settingsFor({ KPI_COMPUTE: 'warehouse', KPI_INCREMENTAL: 'true' })).toThrow(/KPI_INCREMENTAL/);
  expect(() => settingsFor({ KPI_COMPUTE: 'warehouse', KPI_TIMESTAMP_FORMAT: '%d/%m/%Y %H:%M' })).toThrow(/KPI_TIMESTAMP_FORMAT/);
  // The status history is read in the warehouse.
  expect(settingsFor({ KPI_COMPUTE: 'warehouse', SNOWFLAKE_HISTORY_TABLE: 'CASE_HISTORY' }).SNOWFLAKE_HISTORY_TABLE).toBe('CASE_HISTORY');
  expect(() => loadSettings({ KPI_COMPUTE: 'elsewhere' })).toThrow(/KPI_COMPUTE/);
});

test('the dialect layer: DuckDB rendering is the SQL as written, the Snowflake rendering maps back through the shim', () => {
  const marked = "SELECT @epoch_us(t) AS a, @add_us(t, 5) AS b, @strftime(t, '%Y-%m-%dT%H:%M:%SZ') AS c, 'met'::kpi_outcome AS o FROM x";
  expect(DUCKDB.render(marked)).toBe("SELECT epoch_us(t) AS a, t + to_microseconds(5) AS b, strftime(t, '%Y-%m-%dT%H:%M:%SZ') AS c, 'met'::kpi_outcome AS o FROM x");
  const sf = SNOWFLAKE.render(marked);
  expect(sf).toBe(`SELECT DATE_PART(EPOCH_MICROSECOND, t) AS a, DATEADD(MICROSECOND, 5, t) AS b, TO_CHAR(t, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS c, 'met'::VARCHAR AS o FROM x`);
  expect(snowflakeToDuckdb(sf)).toBe("SELECT epoch_us(t) AS a, (t + to_microseconds(CAST(5 AS BIGINT))) AS b, strftime(t, '%Y-%m-%dT%H:%M:%SZ') AS c, 'met'::VARCHAR AS o FROM x");
  expect(snowflakeFormat('%Y-%m-%d')).toBe('YYYY-MM-DD');
  expect(() => SNOWFLAKE.render('SELECT @nope(1)')).toThrow(/unknown dialect mark/);
  expect(SNOWFLAKE.lit('a\\b\'c')).toBe("'a\\\\b''c'");
  // Marks in comments and strings are text.
  expect(SNOWFLAKE.render("-- @epoch_us(x)\nSELECT '@epoch_us(y)'")).toBe("-- @epoch_us(x)\nSELECT '@epoch_us(y)'");
});
