/**
 * Demo data: realistic support cases, deterministic for a seed, relative to `now`.
 * Generated in SQL (hash-based pseudo-random numbers), so a million cases take about a
 * second.
 *
 * - Volume follows weekday and hour-of-day seasonality in each region's own time zone
 *   (AMER New York, EMEA London, APAC Singapore; fixed offsets), over the last 60 days.
 * - Priority mix P1 5%, P2 20%, P3 50%, P4 25%, with a few source spellings ("High",
 *   "urgent", "3 - Moderate") that the alias rules map.
 * - Lognormal first-response and resolution times by priority.
 * - An open backlog with old cases (created up to 200 days ago, still open).
 * - A visible backlog rise: over the last 4 days volume is up and resolution slower. The
 *   higher intake also makes yesterday a volume anomaly (contract 7) against its weekday.
 * - A few defects of every kind the data-quality score counts: missing fields,
 *   duplicates, unknown priorities, unparseable timestamps, resolved or first response
 *   before created, closed status without resolved_at.
 * In the embedded database, timestamps are TIMESTAMP columns (UTC), as a DuckDB table holds
 * them; there, the unparseable-timestamp defects are empty values instead. In a CSV export
 * (writeDemoCsv) they are text (ISO 8601 with Z) and include unparseable values
 * ("not a date", "29/02/2026 01:16" day-first, "2026-13-45T99:00:00Z").
 *
 * With the cases, a status history (table case_status_history, contract 6.3; about three
 * changes a case): `new` at creation, for about half the cases a stretch waiting on the
 * customer (`pending` or `awaiting_customer`, then back to `open`), `solved` at resolution,
 * and for open cases in a waiting status that status from late in their life on (their SLA
 * clock is paused at as_of). `kpi seed-demo` also writes the demo policy file next to the
 * database (config/demoPolicy.ts).
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { openMemoryEngine, lit, query } from '../../db/engine';
import { withStore } from '../../db/stateStore';
import { tsLit } from '../../db/engine';
import { DEMO_POLICY_YAML } from '../../config/demoPolicy';

export interface DemoOptions {
  cases: number;
  seed: number;
  /** Default: now (whole hours, so two seeds a few minutes apart agree). */
  now?: Date;
}

const HOUR_WEIGHTS = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.8, 1.2, 1.5, 1.6, 1.5, 1.3, 1.4, 1.5, 1.45, 1.3, 1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2];
// DuckDB dayofweek: 0 = Sunday.
const WEEKDAY_WEIGHTS = [0.3, 1.05, 1.0, 1.0, 0.95, 0.9, 0.35];

/** SQL that produces the demo rows (columns of the contract, timestamps as text). */
export function demoSql(o: DemoOptions, format: 'typed' | 'text' = 'text'): string {
  const text = format === 'text';
  const now = o.now ?? new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const n = Math.max(0, Math.floor(o.cases));
  const seed = Math.floor(o.seed);
  const nOld = Math.floor(n * 0.004);
  const nMain = n - nOld;
  const u = (k: number, id = 'i') => `((hash(${id}, ${seed}, ${k}) % 1000000007) / 1000000007.0)`;
  const gauss = (k: number) => `(sqrt(-2 * ln(greatest(${u(k)}, 1e-12))) * cos(2 * pi() * ${u(k + 1)}))`;
  const iso = (e: string) => (text ? `strftime(${e}, '%Y-%m-%dT%H:%M:%SZ')` : `CAST(${e} AS TIMESTAMP)`);
  const bad = (t: string) => (text ? t : 'CAST(NULL AS TIMESTAMP)');
  return `
WITH regions(region, offset_h, share_lo, share_hi) AS (
  VALUES ('AMER', -5, 0.0, 0.45), ('EMEA', 0, 0.45, 0.80), ('APAC', 8, 0.80, 1.0)
),
slots AS (
  SELECT r.region, ${tsLit(now)} - INTERVAL 60 DAY + to_hours(h) AS slot_start,
    ([${WEEKDAY_WEIGHTS.join(',')}])[dayofweek(${tsLit(now)} - INTERVAL 60 DAY + to_hours(h + r.offset_h)) + 1]
    * ([${HOUR_WEIGHTS.join(',')}])[hour(${tsLit(now)} - INTERVAL 60 DAY + to_hours(h + r.offset_h)) + 1]
    * CASE WHEN h >= 56 * 24 THEN 1.6 ELSE 1.0 END AS w
  FROM regions r, range(60 * 24) t(h)
),
cum AS (
  SELECT region, slot_start, sum(w) OVER (PARTITION BY region ORDER BY slot_start) / sum(w) OVER (PARTITION BY region) AS c
  FROM slots
),
base AS (
  SELECT i, ${u(1)} AS u_region, ${u(2)} AS u_slot, ${u(3)} AS u_minute, ${u(4)} AS u_prio,
    ${gauss(5)} AS z_res, ${gauss(7)} AS z_fr, ${u(9)} AS u_chan, ${u(10)} AS u_team, ${u(11)} AS u_agent,
    ${u(12)} AS u_tier, ${u(13)} AS u_status, ${u(14)} AS u_defect, ${u(15)} AS u_alias
  FROM range(${nMain}) t(i)
),
placed AS (
  SELECT b.*, r.region, c.slot_start + to_seconds(CAST(floor(b.u_minute * 3600) AS BIGINT)) AS created_at
  FROM base b
  JOIN regions r ON b.u_region >= r.share_lo AND b.u_region < r.share_hi
  ASOF JOIN cum c ON c.region = r.region AND c.c >= b.u_slot
),
timed AS (
  SELECT *,
    CASE WHEN u_prio < 0.05 THEN 'P1' WHEN u_prio < 0.25 THEN 'P2' WHEN u_prio < 0.75 THEN 'P3' ELSE 'P4' END AS p,
    CASE WHEN created_at >= ${tsLit(now)} - INTERVAL 4 DAY THEN 2.5 ELSE 1.0 END AS slow
  FROM placed
),
durations AS (
  SELECT *,
    exp(ln(CASE p WHEN 'P1' THEN 1.5 WHEN 'P2' THEN 3.5 WHEN 'P3' THEN 9 ELSE 24 END) + 0.8 * z_res) * slow AS res_h,
    exp(ln(CASE p WHEN 'P1' THEN 0.2 WHEN 'P2' THEN 0.5 WHEN 'P3' THEN 2 ELSE 4 END) + 0.8 * z_fr) * slow AS fr_h
  FROM timed
),
cases AS (
  SELECT i, region, created_at, p, u_chan, u_team, u_agent, u_tier, u_status, u_defect, u_alias,
    CASE WHEN created_at + to_seconds(CAST(least(fr_h, res_h * 0.9) * 3600 AS BIGINT)) <= ${tsLit(now)}
         THEN created_at + to_seconds(CAST(least(fr_h, res_h * 0.9) * 3600 AS BIGINT)) END AS fr_at,
    CASE WHEN created_at + to_seconds(CAST(res_h * 3600 AS BIGINT)) <= ${tsLit(now)}
         THEN created_at + to_seconds(CAST(res_h * 3600 AS BIGINT)) END AS res_at
  FROM durations
  UNION ALL
  -- old cases still open: created 60 to 200 days ago
  SELECT ${nMain} + j AS i, CASE WHEN ${u(1, 'j')} < 0.45 THEN 'AMER' WHEN ${u(1, 'j')} < 0.8 THEN 'EMEA' ELSE 'APAC' END,
    ${tsLit(now)} - INTERVAL 60 DAY - to_seconds(CAST(${u(2, 'j')} * 140 * 86400 AS BIGINT)),
    CASE WHEN ${u(3, 'j')} < 0.1 THEN 'P2' WHEN ${u(3, 'j')} < 0.6 THEN 'P3' ELSE 'P4' END,
    ${u(9, 'j')}, ${u(10, 'j')}, ${u(11, 'j')}, ${u(12, 'j')}, 0.9 + 0.1 * ${u(13, 'j')}, 1.0, 1.0,
    ${tsLit(now)} - INTERVAL 60 DAY - to_seconds(CAST(${u(2, 'j')} * 140 * 86400 AS BIGINT)) + INTERVAL 3 HOUR, NULL
  FROM range(${nOld}) t(j)
),
shaped AS (
  SELECT i, u_defect AS d,
    'CS-' || lpad(CAST(1000000 + i AS VARCHAR), 8, '0') AS case_id,
    created_at, fr_at, res_at,
    CASE WHEN res_at IS NOT NULL THEN (CASE WHEN u_status < 0.6 THEN 'solved' WHEN u_status < 0.9 THEN 'closed' ELSE 'resolved' END)
         ELSE (CASE WHEN u_status < 0.35 THEN 'open' WHEN u_status < 0.55 THEN 'pending' WHEN u_status < 0.7 THEN 'in_progress'
                    WHEN u_status < 0.8 THEN 'awaiting_customer' WHEN u_status < 0.9 THEN 'new' ELSE 'on_hold' END) END AS status,
    CASE WHEN u_alias < 0.97 THEN p
         WHEN p = 'P1' THEN (CASE WHEN u_alias < 0.985 THEN 'urgent' ELSE '1 - Critical' END)
         WHEN p = 'P2' THEN (CASE WHEN u_alias < 0.985 THEN 'High' ELSE '2 - High' END)
         WHEN p = 'P3' THEN (CASE WHEN u_alias < 0.985 THEN 'normal' ELSE '3 - Moderate' END)
         ELSE (CASE WHEN u_alias < 0.985 THEN 'low' ELSE '4 - Low' END) END AS priority,
    region,
    CASE WHEN u_chan < 0.45 THEN 'email' WHEN u_chan < 0.7 THEN 'chat' WHEN u_chan < 0.85 THEN 'phone' ELSE 'web' END AS channel,
    CASE WHEN u_team < 0.35 THEN 'technical' WHEN u_team < 0.6 THEN 'billing' WHEN u_team < 0.8 THEN 'onboarding' ELSE 'enterprise' END AS team,
    'agent_' || lpad(CAST(CAST(floor(u_agent * 150) AS INTEGER) + 1 AS VARCHAR), 3, '0') AS assignee,
    CASE WHEN u_tier < 0.15 THEN 'enterprise' WHEN u_tier < 0.5 THEN 'pro' ELSE 'free' END AS customer_tier,
    coalesce(res_at, fr_at, created_at) + INTERVAL 5 MINUTE AS updated_at
  FROM cases
),
-- defects, about 0.2% of rows each, chosen by u_defect bands
rows AS (
  SELECT i, 0 AS v,
    CASE WHEN d < 0.002 THEN NULL ELSE case_id END AS case_id,
    CASE WHEN d >= 0.002 AND d < 0.003 THEN NULL
         WHEN d >= 0.003 AND d < 0.004 THEN ${bad(`'not a date'`)}
         WHEN d >= 0.004 AND d < 0.0045 THEN ${bad(`strftime(created_at, '%d/%m/%Y %H:%M')`)}
         ELSE ${iso('created_at')} END AS created_at,
    CASE WHEN d >= 0.006 AND d < 0.008 AND res_at IS NOT NULL THEN ${iso('created_at - INTERVAL 2 HOUR')}
         WHEN d >= 0.012 AND d < 0.013 THEN ${bad(`'2026-13-45T99:00:00Z'`)}
         ELSE ${iso('fr_at')} END AS first_response_at,
    CASE WHEN d >= 0.004 AND d < 0.006 AND res_at IS NOT NULL THEN ${iso('created_at - INTERVAL 1 HOUR')}
         ELSE ${iso('res_at')} END AS resolved_at,
    CASE WHEN d >= 0.008 AND d < 0.010 AND res_at IS NULL THEN 'closed'
         WHEN d >= 0.013 AND d < 0.014 THEN NULL ELSE status END AS status,
    CASE WHEN d >= 0.010 AND d < 0.012 THEN (CASE WHEN d < 0.011 THEN 'P5' ELSE 'ASAP!!' END)
         WHEN d >= 0.014 AND d < 0.015 THEN '' ELSE priority END AS priority,
    region, channel, team, assignee, customer_tier, ${iso('updated_at')} AS updated_at
  FROM shaped
  UNION ALL
  -- duplicates: an older version of the case (earlier updated_at, still open), ~0.5%
  SELECT i, 1 AS v, case_id, ${iso('created_at')}, ${iso('fr_at')}, NULL, 'open', priority, region, channel, team, assignee,
    customer_tier, ${iso('updated_at - INTERVAL 1 DAY')}
  FROM shaped WHERE d >= 0.95 AND d < 0.955
)
SELECT case_id, created_at, first_response_at, resolved_at, status, priority, region, channel, team, assignee,
       customer_tier, updated_at
FROM rows ORDER BY i, v DESC`;
}

/**
 * SQL for the status history of table `demo_cases` (typed): case_id, status, changed_at,
 * in time order. Deterministic for the seed; the duplicates' rows collapse to one case.
 */
export function demoHistorySql(o: DemoOptions): string {
  const now = o.now ?? new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const seed = Math.floor(o.seed);
  const u = (k: number) => `((hash(case_id, ${seed}, ${k}) % 1000000007) / 1000000007.0)`;
  return `
WITH demo_case AS (
  SELECT case_id, min(created_at) AS created_at, max(resolved_at) AS resolved_at, max(status) AS status
  FROM demo_cases WHERE case_id IS NOT NULL AND created_at IS NOT NULL AND created_at <= ${tsLit(now)}
  GROUP BY case_id
),
lives AS (
  SELECT *, epoch_us(coalesce(resolved_at, ${tsLit(now)})) - epoch_us(created_at) AS life_us,
    ${u(1)} AS u_wait, ${u(2)} AS u_from, ${u(3)} AS u_len, ${u(4)} AS u_kind
  FROM demo_case
),
changes AS (
  SELECT case_id, 'new' AS status, created_at AS changed_at, 0 AS k FROM lives
  UNION ALL
  SELECT case_id, CASE WHEN u_kind < 0.6 THEN 'pending' ELSE 'awaiting_customer' END,
    created_at + to_microseconds(CAST(life_us * (0.1 + 0.3 * u_from) AS BIGINT)), 1
  FROM lives WHERE u_wait < 0.5 AND life_us > 0
  UNION ALL
  SELECT case_id, 'open', created_at + to_microseconds(CAST(life_us * (0.45 + 0.25 * u_len) AS BIGINT)), 2
  FROM lives WHERE u_wait < 0.5 AND life_us > 0
  UNION ALL
  SELECT case_id, status, created_at + to_microseconds(CAST(life_us * 0.85 AS BIGINT)), 3
  FROM lives WHERE resolved_at IS NULL AND status IN ('pending', 'awaiting_customer', 'on_hold')
  UNION ALL
  SELECT case_id, 'solved', resolved_at, 4 FROM lives WHERE resolved_at IS NOT NULL AND resolved_at >= created_at
)
SELECT case_id, status, changed_at FROM changes ORDER BY changed_at, case_id, k`;
}

/** Demo rows in a fresh in-memory engine, as table `demo_cases`. */
async function generate(conn: DuckDBConnection, o: DemoOptions, format: 'typed' | 'text'): Promise<number> {
  await conn.run(`CREATE OR REPLACE TABLE demo_cases AS ${demoSql(o, format)}`);
  const [{ n }] = await query<{ n: number }>(conn, 'SELECT count(*) AS n FROM demo_cases');
  return n;
}

/**
 * (Re)creates the demo database file with table support_cases. The file is built aside
 * and renamed into place, so a reader never sees a half-filled table.
 */
export async function seedDemo(o: DemoOptions & { dbPath: string }): Promise<{ rows: number }> {
  mkdirSync(dirname(o.dbPath), { recursive: true });
  const tmp = `${o.dbPath}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const e = await openMemoryEngine();
  let rows = 0;
  try {
    rows = await generate(e.conn, o, 'typed');
    await e.conn.run(`ATTACH ${lit(tmp)} AS out`);
    await e.conn.run('CREATE TABLE out.support_cases AS SELECT * FROM demo_cases');
    await e.conn.run(`CREATE TABLE out.case_status_history AS ${demoHistorySql(o)}`);
    await e.conn.run(`CREATE TABLE out.demo_meta AS SELECT ${tsLit(o.now ?? new Date())} AS seeded_at, ${Math.floor(o.cases)}::BIGINT AS cases, ${Math.floor(o.seed)}::BIGINT AS seed`);
    await e.conn.run('DETACH out');
  } finally {
    e.close();
  }
  if (existsSync(o.dbPath)) {
    // Keep what else the file holds (run history, alert state): swap only the table.
    await withStore(o.dbPath, async (c) => {
      await c.run(`ATTACH ${lit(tmp)} AS seed (READ_ONLY)`);
      await c.run('CREATE OR REPLACE TABLE support_cases AS SELECT * FROM seed.support_cases');
      await c.run('CREATE OR REPLACE TABLE case_status_history AS SELECT * FROM seed.case_status_history');
      await c.run('CREATE OR REPLACE TABLE demo_meta AS SELECT * FROM seed.demo_meta');
      await c.run('DETACH seed');
    });
    rmSync(tmp, { force: true });
  } else {
    renameSync(tmp, o.dbPath);
  }
  rmSync(`${tmp}.wal`, { force: true });
  return { rows };
}

/** Writes demo rows as a CSV export (benchmarks, fixtures). */
export async function writeDemoCsv(o: DemoOptions & { path: string }): Promise<{ rows: number }> {
  mkdirSync(dirname(o.path), { recursive: true });
  const e = await openMemoryEngine();
  try {
    const rows = await generate(e.conn, o, 'text');
    await e.conn.run(`COPY demo_cases TO ${lit(o.path)} (HEADER, DELIMITER ',')`);
    return { rows };
  } finally {
    e.close();
  }
}

/**
 * Writes the status history of the demo rows of the same options as a CSV export
 * (case_id, status, changed_at ISO 8601 UTC; benchmarks).
 */
export async function writeDemoHistoryCsv(o: DemoOptions & { path: string }): Promise<{ rows: number }> {
  mkdirSync(dirname(o.path), { recursive: true });
  const e = await openMemoryEngine();
  try {
    await generate(e.conn, o, 'typed');
    await e.conn.run(`CREATE TABLE demo_history AS ${demoHistorySql(o)}`);
    const [{ n }] = await query<{ n: number }>(e.conn, 'SELECT count(*) AS n FROM demo_history');
    await e.conn.run(`COPY (SELECT case_id, status, strftime(changed_at, '%Y-%m-%dT%H:%M:%SZ') AS changed_at FROM demo_history) TO ${lit(o.path)} (HEADER, DELIMITER ',')`);
    return { rows: Number(n) };
  } finally {
    e.close();
  }
}

/** Writes the demo policy file (config/demoPolicy.ts) unless the file exists (a user may have edited it). */
export function writeDemoPolicy(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, DEMO_POLICY_YAML);
  return true;
}

export async function demoTableExists(dbPath: string): Promise<boolean> {
  return withStore(dbPath, async (c) => {
    const r = await query<{ n: number }>(c, `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'support_cases'`);
    return r[0].n > 0;
  }, { readOnly: true });
}

/** When the demo data was generated (null: unknown or no demo data). */
export async function demoSeededAt(dbPath: string): Promise<Date | null> {
  return withStore(dbPath, async (c) => {
    const t = await query<{ n: number }>(c, `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name IN ('support_cases', 'demo_meta')`);
    if (t[0].n < 2) return null;
    const r = await query<{ seeded_at: string }>(c, 'SELECT max(seeded_at) AS seeded_at FROM demo_meta');
    return r[0]?.seeded_at ? new Date(r[0].seeded_at) : null;
  }, { readOnly: true });
}
