/**
 * Snowflake extract throughput: streams N rows (default 1,000,000) from the loopback fake
 * Snowflake through the real snowflake-sdk (key-pair login, result chunks like Snowflake's:
 * gzipped, growing about 1.9x per chunk up to a cap) into the run's in-memory DuckDB, and
 * prints rows/s and peak RSS.
 *
 *   npm run bench -- snowflake [rows] [--chunk-cap MB] [--ignore-session-chunk-size]
 *   (or npx tsx bench/snowflake.ts ...; BENCH_ROWS=... for rows)
 *
 * --chunk-cap (16..160, default 160, Snowflake's default) is the account's largest chunk.
 * The source asks its session for smaller chunks (CLIENT_RESULT_CHUNK_SIZE); with
 * --ignore-session-chunk-size the fake serves chunks up to the cap anyway, as Snowflake did
 * before its 2026_04 behaviour bundle, when the parameter did not bound uncompressed size.
 *
 * Targets: >= 100,000 rows/s and peak RSS < 500 MB whatever the row count (try 3000000). The fake runs in
 * a child process (it stands in for Snowflake's servers). A 100-row warm-up load runs first
 * (the driver's modules load once per process). Besides wall-clock rows/s, the main thread's
 * CPU time is reported: on a shared, loaded machine rows per CPU second is the stable figure.
 * Exit code 1 when a wall-clock target is missed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { openMemoryEngine, query } from '../src/db/engine';
import { silentLogger } from '../src/support/log';
import { createSnowflakeSource } from '../src/sources/snowflake';
import { startFakeSnowflake, type FakeTable } from '../test/fakes/snowflakeServer';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const ignoreSession = args.includes('--ignore-session-chunk-size');
  if (ignoreSession) args.splice(args.indexOf('--ignore-session-chunk-size'), 1);
  const chunkCapMb = Number(flag('--chunk-cap') ?? 160);
  if (!Number.isInteger(chunkCapMb) || chunkCapMb < 16 || chunkCapMb > 160) throw new Error(`--chunk-cap must be 16..160 (MB), got ${chunkCapMb}`);
  const rows = Number((args[0] ?? process.env.BENCH_ROWS ?? '1000000').replace(/_/g, ''));
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${args[0]}`);

  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = mkdtempSync(join(tmpdir(), 'kpi-sf-bench-'));
  const keyPath = join(dir, 'rsa_key.p8');
  writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

  const asOf = new Date('2026-11-23T09:00:00Z');
  // The fake Snowflake runs in a child process: it stands in for Snowflake's servers, so
  // neither its CPU nor its memory is billed to the extract.
  const child = fork(__filename, [], {
    env: { ...process.env, BENCH_FAKE: JSON.stringify({ rows, chunkCapMb, ignoreSession, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const fakeUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fake Snowflake exited (${code})`)));
  });

  // The fake must not outlive a failed run (it would keep this process alive).
  process.once('exit', () => child.kill());
  const settingsEnv = {
    KPI_SOURCE: 'snowflake',
    KPI_SOURCE_TZ: 'America/New_York',
    SNOWFLAKE_ACCOUNT: 'BENCHORG-KPI',
    SNOWFLAKE_USER: 'KPI_SVC',
    SNOWFLAKE_DATABASE: 'KPI_DB',
    SNOWFLAKE_SCHEMA: 'SUPPORT',
    SNOWFLAKE_PRIVATE_KEY_PATH: keyPath,
    SNOWFLAKE_ACCESS_URL: fakeUrl,
    SNOWFLAKE_QUERY_TIMEOUT_MS: '3600000',
  };
  const settings = loadSettings(settingsEnv);

  // Warm-up: a 100-row load first, so the figures are the streaming rate, not the one-off
  // loading of the driver's modules (~0.5 s per process, reported separately).
  const warmStarted = performance.now();
  {
    const warmEngine = await openMemoryEngine();
    const warmSettings = loadSettings({ ...settingsEnv, SNOWFLAKE_TABLE: 'WARMUP' });
    const warm = await createSnowflakeSource(warmSettings).load({ conn: warmEngine.conn, settings: warmSettings, scope: { asOf, windowStart: new Date(asOf.getTime() - 30 * 86400_000) }, log: silentLogger() });
    await warm.close();
    warmEngine.close();
  }
  const warmSeconds = (performance.now() - warmStarted) / 1000;

  let peak = process.memoryUsage().rss;
  let peakHeap = 0;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapTotal);
    peakExternal = Math.max(peakExternal, m.external);
  }, 25);
  const engine = await openMemoryEngine();
  const cpu0 = mainThreadCpuSeconds();
  const elu0 = performance.eventLoopUtilization();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const loaded = await createSnowflakeSource(settings).load({
    conn: engine.conn,
    settings,
    scope: { asOf, windowStart: new Date(asOf.getTime() - 30 * 86400_000) },
    log: silentLogger(),
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = mainThreadCpuSeconds() - cpu0;
  const elu = performance.eventLoopUtilization(elu0);
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(sampler);
  const [{ n }] = await query<{ n: number }>(engine.conn, `SELECT count(*) AS n FROM ${loaded.relation}`);
  if (process.env.BENCH_DEBUG) {
    const mu = process.memoryUsage();
    console.log('memory', Object.fromEntries(Object.entries(mu).map(([k, v]) => [k, `${Math.round(v / 1048576)} MB`])));
    console.log(await query(engine.conn, 'SELECT tag, memory_usage_bytes // 1048576 AS mb FROM duckdb_memory() WHERE memory_usage_bytes > 0'));
  }
  await loaded.close();
  engine.close();
  rmSync(dir, { recursive: true, force: true });

  const maxRssMb = process.resourceUsage().maxRSS / 1024; // kernel's peak, includes everything
  const rate = rows / seconds;
  const peakMb = Math.max(peak / 1024 / 1024, maxRssMb);
  const chunkMb = await new Promise<number[]>((resolve) => {
    child.once('message', (m) => resolve((m as { chunkBytes: number[] }).chunkBytes.map((b) => b / 1048576)));
    child.send('chunks');
  });
  child.kill();
  console.log(`chunk cap ${chunkCapMb} MB${ignoreSession ? ' (session CLIENT_RESULT_CHUNK_SIZE ignored)' : ''}: ${chunkMb.length} chunks, largest ${Math.max(0, ...chunkMb).toFixed(1)} MB uncompressed`);
  console.log(`snowflake extract: ${rows.toLocaleString('en-US')} rows in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} rows/s; loaded ${n.toLocaleString('en-US')}; peak RSS ${peakMb.toFixed(0)} MB (${Math.round(rssBefore / 1048576)} MB before the load)`);
  console.log(`peak JS heap ${Math.round(peakHeap / 1048576)} MB, peak external (buffers, DuckDB chunks) ${Math.round(peakExternal / 1048576)} MB`);
  console.log(`warm-up load (driver modules loaded, 100 rows): ${warmSeconds.toFixed(2)} s`);
  console.log(
    `main thread CPU ${cpu.toFixed(2)} s = ${Math.round(rows / cpu).toLocaleString('en-US')} rows per CPU second (event loop busy ${(elu.active / 1000).toFixed(2)} s); ` +
      `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs`,
  );
  const ok = n === rows && rate >= 100_000 && peakMb < 500;
  console.log(ok ? 'targets met (>= 100,000 rows/s, peak RSS < 500 MB)' : 'TARGET MISSED (>= 100,000 rows/s, peak RSS < 500 MB)');
  process.exitCode = ok ? 0 : 1;
}


/** CPU seconds (user + system) of this process's main thread, from /proc (Linux); NaN elsewhere. */
function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** The bench's table: `rows` deterministic cases, generated chunk by chunk on request. */
function benchTable(rows: number): FakeTable {
  const base = Date.parse('2026-10-24T09:00:00Z') / 1000;
  const statuses = ['open', 'pending', 'solved', 'closed', 'new'];
  const priorities = ['P1', 'P2', 'P3', 'P4', 'high'];
  const regions = ['AMER', 'EMEA', 'APAC'];
  const channels = ['email', 'chat', 'phone', 'web'];
  // One row per index, deterministic. Timestamps as epoch milliseconds (the fake accepts
  // them as is: NTZ = wall clock read as UTC), so the fake spends little per row.
  const row = (i: number): (string | null)[] => {
    const created = base + ((i * 7919) % (29 * 86400));
    const resolved = i % 3 === 0 ? null : created + 3600 + (i % 50) * 1800;
    return [
      String(100000 + i),
      `${created}000`,
      `${created + 900}000`,
      resolved === null ? null : `${resolved}000`,
      statuses[i % statuses.length],
      priorities[i % priorities.length],
      regions[i % regions.length],
      channels[i % channels.length],
      `team-${i % 17}`,
      `agent-${i % 211}`,
      i % 2 ? 'enterprise' : 'pro',
      `${(resolved ?? created) + 60}000`,
    ];
  };
  return {
    columns: [
      { name: 'CASE_ID', type: 'fixed' },
      { name: 'CREATED_AT', type: 'timestamp_ntz' },
      { name: 'FIRST_RESPONSE_AT', type: 'timestamp_ltz' },
      { name: 'RESOLVED_AT', type: 'timestamp_tz' },
      { name: 'STATUS', type: 'text' },
      { name: 'PRIORITY', type: 'text' },
      { name: 'REGION', type: 'text' },
      { name: 'CHANNEL', type: 'text' },
      { name: 'TEAM', type: 'text' },
      { name: 'ASSIGNEE', type: 'text' },
      { name: 'CUSTOMER_TIER', type: 'text' },
      { name: 'UPDATED_AT', type: 'timestamp_tz' },
    ],
    rowCount: rows,
    row,
  };
}

async function serveFake(): Promise<void> {
  const { rows, publicKeyPem, chunkCapMb, ignoreSession } = JSON.parse(process.env.BENCH_FAKE!) as { rows: number; publicKeyPem: string; chunkCapMb: number; ignoreSession: boolean };
  const fake = await startFakeSnowflake({
    account: 'BENCHORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem }],
    tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': benchTable(rows), 'KPI_DB.SUPPORT.WARMUP': benchTable(100) },
    chunkCapMb,
    ignoreSessionChunkSize: ignoreSession,
  });
  process.send!({ url: fake.url });
  process.on('message', () => process.send!({ chunkBytes: fake.chunkBytes }));
  process.on('disconnect', () => void fake.close().then(() => process.exit(0)));
}

if (!process.env.BENCH_FAKE) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  void serveFake();
}
