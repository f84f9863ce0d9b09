/**
 * `npx tsx bench/policyClocks.ts [--cases N] [--runs R] [--profile]`: the SLA policy clocks
 * (src/kpi/sql/clocks/) against the plain 24x7 computation, side by side in one process on
 * one in-memory DuckDB. N cases (default 1,000,000) on two office calendars in different
 * zones (split shifts and holidays in Berlin, office hours in New York) with about 3 status
 * changes per case, a third of them pausing. Each run times building the per-case
 * clocks table both ways (alternating, median of R runs, default 3); prints the ratio and
 * the process's peak RSS (DuckDB's memory included).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parseSlaPolicyFile } from '../src/config/slaPolicyFile';
import { appendBusinessSegments, businessSegmentRows, caseClockFragments } from '../src/kpi/policyClocks';

const AS_OF = '2026-11-23 12:00:00';
const POLICIES = `
version: 1
calendars:
  emea-office:
    timezone: Europe/Berlin
    hours: { mon-thu: "08:00-12:00, 13:00-18:00", fri: "08:00-16:00" }
    holidays: [2026-10-03, 2026-12-24, 2026-12-25, 2026-12-26]
  amer-office:
    timezone: America/New_York
    hours: { mon-fri: "09:00-17:00" }
    holidays: [2026-09-07, 2026-11-26, 2026-12-25]
risk_stages: [50, 75, 90]
policies:
  - name: emea
    when: { region: [EMEA] }
    calendar: emea-office
    pause_on: [pending, "waiting*"]
    targets:
      P1: { first_response: 1h, resolution: 8h }
      P2: { first_response: 2h, resolution: 16h }
      P3: { first_response: 8h, resolution: 40h }
      P4: { first_response: 16h, resolution: 80h }
  - name: amer
    calendar: amer-office
    pause_on: [pending, on_hold]
    targets:
      P1: { first_response: 1h, resolution: 8h }
      P2: { first_response: 2h, resolution: 16h }
      P3: { first_response: 8h, resolution: 40h }
      P4: { first_response: 16h, resolution: 80h }
`;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const sqlFile = (name: string, fragments: Record<string, string> = {}) =>
  readFileSync(join(__dirname, '../src/kpi/sql/clocks', `${name}.sql`), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, k: string) => fragments[k]);

/** Deterministic pseudo-random in [0, 1) from an expression (hash of the row's numbers). */
const u = (expr: string) => `((hash(${expr}) % 1000003) / 1000003.0)`;

/** Cases and history generated in SQL: created over 120 days before as_of, 60% resolved. */
const GENERATE_SQL = (n: number) => `
CREATE OR REPLACE TABLE clock_cases AS
WITH g AS (
  SELECT i,
    TIMESTAMP '${AS_OF}' - to_microseconds(CAST(${u('i, 1')} * 120 * 86400e6 AS BIGINT)) AS created_at,
    ${u('i, 2')} AS u_res, ${u('i, 3')} AS u_fr, ${u('i, 4')} AS u_prio, ${u('i, 5')} AS u_region
  FROM range(${n}) t(i)
), t AS (
  SELECT *, CASE WHEN u_prio < 0.1 THEN 1 WHEN u_prio < 0.35 THEN 2 WHEN u_prio < 0.8 THEN 3 ELSE 4 END AS prio,
    created_at + to_microseconds(CAST(u_res * 10 * 86400e6 AS BIGINT)) AS resolved_guess,
    created_at + to_microseconds(CAST(u_fr * 2 * 86400e6 AS BIGINT)) AS fr_guess
  FROM g
)
SELECT 'C' || lpad(CAST(i AS VARCHAR), 8, '0') AS case_id,
  CASE WHEN u_region < 0.5 THEN 'emea' ELSE 'amer' END AS policy,
  CASE WHEN u_region < 0.5 THEN 'emea-office' ELSE 'amer-office' END AS calendar,
  created_at,
  CASE WHEN u_res < 0.6 AND resolved_guess <= TIMESTAMP '${AS_OF}' THEN resolved_guess ELSE TIMESTAMP '${AS_OF}' END AS end_at,
  NOT (u_res < 0.6 AND resolved_guess <= TIMESTAMP '${AS_OF}') AS is_open,
  CASE WHEN u_fr < 0.8 AND fr_guess <= TIMESTAMP '${AS_OF}' THEN fr_guess END AS first_response_at,
  CAST([28800, 57600, 144000, 288000][prio] AS DOUBLE) AS resolution_target_s,
  CAST([3600, 7200, 28800, 57600][prio] AS DOUBLE) AS response_target_s
FROM t;
CREATE OR REPLACE TABLE status_history AS
SELECT c.case_id,
  ['open', 'pending', 'in_progress', 'waiting_on_customer', 'on_hold', 'open'][1 + CAST(floor(${u('k, c.case_id, 7')} * 6) AS INTEGER)] AS status,
  c.created_at + to_microseconds(CAST(${u('k, c.case_id, 8')} * 6 * 86400e6 AS BIGINT)) AS changed_at,
  CAST(row_number() OVER () AS BIGINT) AS seq
FROM clock_cases c, range(6) r(k)
WHERE k < floor(${u('c.case_id, 9')} * 7);`;

/** The no-policy computation: calendar-hour clocks, no history (as the pipeline does without a policy file). */
const PLAIN_SQL = `
CREATE OR REPLACE TEMP TABLE case_clocks AS
WITH k AS (
  SELECT case_id, is_open, created_at,
    epoch_us(end_at) - epoch_us(created_at) AS clock_us,
    coalesce(first_response_at, CASE WHEN NOT is_open THEN end_at END) AS response_at,
    CAST(resolution_target_s * 1e6 AS BIGINT) AS target_us, CAST(response_target_s * 1e6 AS BIGINT) AS response_target_us,
    end_at
  FROM clock_cases
)
SELECT case_id,
  CASE WHEN end_at >= created_at THEN clock_us / 1e6 END AS resolution_clock_s,
  clock_us * 100.0 / target_us AS sla_elapsed_pct,
  created_at + to_microseconds(target_us) AS due_at,
  CASE WHEN end_at < created_at THEN NULL WHEN clock_us > target_us THEN 'breached' WHEN is_open THEN 'pending' ELSE 'met' END AS outcome,
  CASE WHEN response_at IS NULL THEN (CASE WHEN clock_us > response_target_us THEN 'breached' ELSE 'pending' END)
    WHEN response_at < created_at THEN NULL
    WHEN epoch_us(response_at) - epoch_us(created_at) > response_target_us THEN 'breached' ELSE 'met' END AS response_outcome
FROM k`;

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function timed(conn: DuckDBConnection, sql: string): Promise<number> {
  const t = process.hrtime.bigint();
  await conn.run(sql);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const n = Number(arg('cases', '1000000').replace(/_/g, ''));
  const runs = Number(arg('runs', '3'));
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  const set = parseSlaPolicyFile(POLICIES, 'bench-policies.yml', () => '');
  let t = process.hrtime.bigint();
  await conn.run(GENERATE_SQL(n));
  const counts = (await conn.runAndReadAll(`SELECT (SELECT count(*) FROM clock_cases) AS cases, (SELECT count(*) FROM status_history) AS history`)).getRowObjectsJS()[0];
  console.log(`generated ${counts.cases} cases, ${counts.history} history rows in ${Math.round(Number(process.hrtime.bigint() - t) / 1e6)} ms; peak RSS ${peakRssMb()} MB`);

  const oldest = (await conn.runAndReadAll(`SELECT CAST(epoch_ms(min(created_at)) AS DOUBLE) AS m FROM clock_cases`)).getRowObjectsJS()[0].m as number;
  const plain: number[] = [];
  const policy: number[] = [];
  let segmentsMs = 0;
  for (let r = 0; r < runs; r++) {
    plain.push(await timed(conn, PLAIN_SQL));
    const rssPlain = peakRssMb();
    // The policy run: segments built in TS and appended, then the clock SQL.
    t = process.hrtime.bigint();
    await conn.run(sqlFile('business_segments'));
    const rows = businessSegmentRows(set, oldest, Date.parse(`${AS_OF.replace(' ', 'T')}Z`));
    await appendBusinessSegments(conn, rows);
    segmentsMs = Number(process.hrtime.bigint() - t) / 1e6;
    const clocksMs = await timed(conn, sqlFile('case_clocks', caseClockFragments(set)));
    policy.push(segmentsMs + clocksMs);
    console.log(`run ${r + 1}: plain ${plain[r].toFixed(0)} ms (peak RSS ${rssPlain} MB); policy ${policy[r].toFixed(0)} ms = segments ${segmentsMs.toFixed(0)} (${rows.length} rows) + clocks ${clocksMs.toFixed(0)} (peak RSS ${peakRssMb()} MB)`);
  }
  if (process.argv.includes('--profile')) {
    // Operator times of one run of the clock SQL, largest first.
    await conn.run(`PRAGMA enable_profiling = 'json'; PRAGMA profiling_output = '${join(require('node:os').tmpdir(), 'policy-clocks-profile.json')}'`);
    await conn.run(sqlFile('case_clocks', caseClockFragments(set)));
    await conn.run(`PRAGMA disable_profiling`);
    type Op = { operator_type?: string; operator_name?: string; operator_timing?: number; operator_cardinality?: number; extra_info?: Record<string, unknown>; children?: Op[] };
    const prof = JSON.parse(readFileSync(join(require('node:os').tmpdir(), 'policy-clocks-profile.json'), 'utf8')) as Op;
    const ops: Op[] = [];
    const walk = (o: Op) => { ops.push(o); (o.children ?? []).forEach(walk); };
    walk(prof);
    for (const o of ops.filter((x) => (x.operator_timing ?? 0) > 0.005).sort((a, b) => (b.operator_timing ?? 0) - (a.operator_timing ?? 0))) {
      console.log(`${(o.operator_timing! * 1000).toFixed(0).padStart(6)} ms  ${String(o.operator_type ?? o.operator_name).padEnd(20)} rows ${o.operator_cardinality}  ${JSON.stringify(o.extra_info ?? {}).slice(0, 160)}`);
    }
  }
  const p = median(plain);
  const q = median(policy);
  console.log(`median: plain ${p.toFixed(0)} ms, policy ${q.toFixed(0)} ms, ratio ${(q / p).toFixed(2)}x, added ${(q - p).toFixed(0)} ms; peak RSS ${peakRssMb()} MB`);
  conn.closeSync();
  instance.closeSync();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
