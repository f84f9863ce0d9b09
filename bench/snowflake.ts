/**
 * Snowflake extract throughput: streams N rows (default 1,000,000) from the loopback fake
 * Snowflake through the real snowflake-sdk (key-pair login, result chunks like Snowflake's:
 * gzipped, growing about 1.9x per chunk up to a cap) into the run's in-memory DuckDB, and
 * prints rows/s and peak RSS.
 *
 *   npm run bench -- snowflake [rows] [--chunk-cap MB] [--ignore-session-chunk-size] [--pregenerated]
 *   (or npx tsx bench/snowflake.ts ...; BENCH_ROWS=... for rows)
 *
 * --chunk-cap (16..160, default 160, Snowflake's default) is the account's largest chunk.
 * The source asks its session for smaller chunks (CLIENT_RESULT_CHUNK_SIZE); with
 * --ignore-session-chunk-size the fake serves chunks up to the cap anyway, as Snowflake did
 * before its 2026_04 behaviour bundle, when the parameter did not bound uncompressed size.
 *
 * Targets: >= 100,000 rows/s and peak RSS < 500 MB whatever the row count (try 3000000). The fake runs in
 * a child process (it stands in for Snowflake's servers), but on the same machine: making
 * and gzipping the chunks takes CPU that Snowflake's servers would spend, and competes with
 * the extract for the cores. Its CPU time during the load is reported beside the extract's.
 * Like Snowflake, which has a result's chunks in storage before the client asks, the fake
 * makes them in order from the moment it answers the query (prepareAhead), not only when
 * each is asked for.
 * With --pregenerated the fake keeps the chunks it made in an untimed first load of the same
 * rows and serves them again in the timed one, so the wall-clock rate is the client's.
 * A 100-row warm-up load runs first (the driver's modules load once per process). Besides
 * wall-clock rows/s, the main thread's CPU time is reported: on a shared, loaded machine
 * rows per CPU second is the stable figure. Exit code 1 when a wall-clock target is missed.
 *
 *   npm run bench -- snowflake [rows] --incremental [--runs R] [--changed N]
 *
 * Incremental loads (KPI_INCREMENTAL=true): a full load builds the replica, then R pairs,
 * alternating: a full refresh, and a delta run after N rows (default 10,000) changed in the
 * fake (a new updated_at; KPI_INCREMENTAL_OVERLAP_MINUTES=0, so the previous round's changes,
 * just before the watermark, are not fetched again). Prints rows transferred and the load time of each, and the median
 * of the per-pair ratios delta / full (target: at most 1/3).
 */
import { generateKeyPairSync } from 'node:crypto';
import { fork, type ChildProcess } from 'node:child_process';
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
  const incremental = args.includes('--incremental');
  if (incremental) args.splice(args.indexOf('--incremental'), 1);
  const runs = Number(flag('--runs') ?? 3);
  const changed = Number(flag('--changed') ?? 10_000);
  const ignoreSession = args.includes('--ignore-session-chunk-size');
  if (ignoreSession) args.splice(args.indexOf('--ignore-session-chunk-size'), 1);
  const pregenerated = args.includes('--pregenerated');
  if (pregenerated) args.splice(args.indexOf('--pregenerated'), 1);
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
    env: { ...process.env, BENCH_FAKE: JSON.stringify({ rows, chunkCapMb, ignoreSession, changed, keepChunks: pregenerated, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }) },
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
  if (incremental) {
    await benchIncremental(settingsEnv, dir, asOf, rows, runs, changed, child);
    child.kill();
    rmSync(dir, { recursive: true, force: true });
    return;
  }

  if (pregenerated) {
    // The same load once, untimed: the fake makes and keeps every chunk.
    const primeStarted = performance.now();
    const primeEngine = await openMemoryEngine();
    const prime = await createSnowflakeSource(settings).load({ conn: primeEngine.conn, settings, scope: { asOf, windowStart: new Date(asOf.getTime() - 30 * 86400_000) }, log: silentLogger() });
    await prime.close();
    primeEngine.close();
    console.log(`pregenerated: the fake made the chunks in an untimed first load (${((performance.now() - primeStarted) / 1000).toFixed(2)} s)`);
  }
  const chunksBefore = (await ask(child, 'chunks')).chunkBytes.length;

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
  const fakeCpu0 = processCpuSeconds(child.pid!);
  const processCpu0 = process.cpuUsage();
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
  const fakeCpu = processCpuSeconds(child.pid!) - fakeCpu0;
  const processCpuUs = process.cpuUsage(processCpu0);
  const processCpu = (processCpuUs.user + processCpuUs.system) / 1e6;
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
  const chunkMb = (await ask(child, 'chunks')).chunkBytes.slice(chunksBefore).map((b) => b / 1048576);
  child.kill();
  console.log(`chunk cap ${chunkCapMb} MB${ignoreSession ? ' (session CLIENT_RESULT_CHUNK_SIZE ignored)' : ''}: ${chunkMb.length} chunks, largest ${Math.max(0, ...chunkMb).toFixed(1)} MB uncompressed`);
  console.log(`snowflake extract: ${rows.toLocaleString('en-US')} rows in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} rows/s; loaded ${n.toLocaleString('en-US')}; peak RSS ${peakMb.toFixed(0)} MB (${Math.round(rssBefore / 1048576)} MB before the load)`);
  console.log(`peak JS heap ${Math.round(peakHeap / 1048576)} MB, peak external (buffers, DuckDB chunks) ${Math.round(peakExternal / 1048576)} MB`);
  console.log(`warm-up load (driver modules loaded, 100 rows): ${warmSeconds.toFixed(2)} s`);
  console.log(
    `main thread CPU ${cpu.toFixed(2)} s = ${Math.round(rows / cpu).toLocaleString('en-US')} rows per CPU second (event loop busy ${(elu.active / 1000).toFixed(2)} s); ` +
      `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs`,
  );
  console.log(
    `CPU during the load: extract process ${processCpu.toFixed(2)} s (all threads), the fake${pregenerated ? ' (serving kept chunks)' : ''} ${fakeCpu.toFixed(2)} s = ` +
      `${Math.round((100 * fakeCpu) / (fakeCpu + processCpu))}% of both; ${Math.round(rows / processCpu).toLocaleString('en-US')} rows per extract-process CPU second`,
  );
  const ok = n === rows && rate >= 100_000 && peakMb < 500;
  console.log(ok ? 'targets met (>= 100,000 rows/s, peak RSS < 500 MB)' : 'TARGET MISSED (>= 100,000 rows/s, peak RSS < 500 MB)');
  process.exitCode = ok ? 0 : 1;
}


type FakeAnswer = { chunkBytes: number[]; lastResultRows: number };

/** Asks the fake's process something ('chunks', 'change'); its answer. */
function ask(child: ChildProcess, what: string): Promise<FakeAnswer> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as FakeAnswer));
    child.send(what);
  });
}

/** Full refresh and delta loads, alternating (see the header). */
async function benchIncremental(env: Record<string, string>, dir: string, asOf: Date, rows: number, runs: number, changed: number, child: ChildProcess): Promise<void> {
  const state = join(dir, 'state.duckdb');
  const scope = { asOf, windowStart: new Date(asOf.getTime() - 30 * 86400_000) };
  const load = async (extra: Record<string, string>) => {
    // No overlap: the previous round's changes (just before the watermark) are not fetched again.
    const s = loadSettings({ ...env, KPI_INCREMENTAL: 'true', KPI_INCREMENTAL_OVERLAP_MINUTES: '0', KPI_STATE_PATH: state, ...extra });
    const engine = await openMemoryEngine();
    const started = performance.now();
    const loaded = await createSnowflakeSource(s).load({ conn: engine.conn, settings: s, scope, log: silentLogger() });
    const seconds = (performance.now() - started) / 1000;
    const rowsRead = loaded.rowsRead ?? 0;
    await loaded.close();
    engine.close();
    return { seconds, rowsRead, transferred: (await ask(child, 'chunks')).lastResultRows };
  };
  const first = await load({});
  console.log(`incremental: first full load of ${rows.toLocaleString('en-US')} rows: ${first.seconds.toFixed(2)} s, ${first.transferred.toLocaleString('en-US')} rows transferred`);
  const ratios: number[] = [];
  for (let r = 0; r < runs; r++) {
    const full = await load({ KPI_FULL_REFRESH: 'true' });
    await ask(child, 'change');
    const delta = await load({});
    ratios.push(delta.seconds / full.seconds);
    console.log(`pair ${r + 1}: full refresh ${full.seconds.toFixed(2)} s (${full.transferred.toLocaleString('en-US')} rows transferred); ` +
      `delta after ${changed.toLocaleString('en-US')} changed rows ${delta.seconds.toFixed(2)} s (${delta.transferred.toLocaleString('en-US')} rows transferred, ${delta.rowsRead.toLocaleString('en-US')} in the replica); ratio ${(delta.seconds / full.seconds).toFixed(3)}`);
  }
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
  const ok = median <= 1 / 3;
  console.log(`median delta / full: ${median.toFixed(3)} ${ok ? '(target met: at most 1/3)' : '(TARGET MISSED: at most 1/3)'}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  process.exitCode = ok ? 0 : 1;
}

/** CPU seconds (user + system, all threads) of a process, from /proc (Linux); NaN elsewhere. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
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
function benchTable(rows: number, changes?: { round: number; changed: number }): FakeTable {
  const base = Date.parse('2026-10-24T09:00:00Z') / 1000;
  const statuses = ['open', 'pending', 'solved', 'closed', 'new'];
  const priorities = ['P1', 'P2', 'P3', 'P4', 'high'];
  const regions = ['AMER', 'EMEA', 'APAC'];
  const channels = ['email', 'chat', 'phone', 'web'];
  // After change round k, `changed` rows (spread over the table) have a newer updated_at.
  const stride = changes ? Math.max(1, Math.floor(rows / changes.changed)) : 1;
  const updatedAt = (i: number, last: number) => {
    if (!changes || changes.round === 0 || i % stride !== changes.round % stride) return last + 60;
    // A day apart per round, a second apart within one.
    return base + 40 * 86400 + changes.round * 86400 + Math.floor(i / stride);
  };
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
      `${updatedAt(i, resolved ?? created)}000`,
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
  const { rows, publicKeyPem, chunkCapMb, ignoreSession, changed, keepChunks } = JSON.parse(process.env.BENCH_FAKE!) as { rows: number; publicKeyPem: string; chunkCapMb: number; ignoreSession: boolean; changed: number; keepChunks: boolean };
  const changes = { round: 0, changed };
  const fake = await startFakeSnowflake({
    account: 'BENCHORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem }],
    tables: { 'KPI_DB.SUPPORT.SUPPORT_CASES': benchTable(rows, changes), 'KPI_DB.SUPPORT.WARMUP': benchTable(100) },
    chunkCapMb,
    ignoreSessionChunkSize: ignoreSession,
    keepChunks,
    prepareAhead: Number.MAX_SAFE_INTEGER,
  });
  process.send!({ url: fake.url });
  process.on('message', (m) => {
    if (m === 'change') changes.round++;
    process.send!({ chunkBytes: fake.chunkBytes, lastResultRows: fake.lastResultRows });
  });
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
