/**
 * Warehouse compute (KPI_COMPUTE=warehouse) on generated cases:
 *
 *   npm run bench -- warehouse [--cases N] [--runs R] [--check]
 *
 * N demo cases (default 1,000,000; the DuckDB file is generated once into bench/out/) are
 * copied into the fake Snowflake's warehouse database (execute mode: the statements run on
 * DuckDB through the dialect shim, in this process, standing in for the warehouse). Each
 * run (R, default 2; the first also loads the fake's database) prints the bytes received
 * from the fake (on the wire: gzip, as Snowflake sends results to a client that accepts it;
 * and the JSON before compression), the local work (the run's time minus the time spent waiting for the
 * warehouse's statements and the sign-in) and the warehouse time. Targets: under 1 MB
 * received, local work under 1 s. The fake runs in a child process, as the streaming bench's
 * does: it stands in for the warehouse, so neither its memory nor its garbage collection is
 * billed to the run. --check also runs local compute on the same file
 * (--source duckdb) and compares the report files.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { seedDemo } from '../src/sources/demo/seed';
import { startFakeSnowflake } from '../test/fakes/snowflakeServer';
import { demoWarehouseTable } from '../test/fakes/demoWarehouse';
import { AS_OF, OUT, arg } from './lib';

async function main(): Promise<void> {
  const cases = Number(arg('cases', '1000000').replace(/_/g, ''));
  const runs = Number(arg('runs', '2'));
  const check = process.argv.includes('--check');
  mkdirSync(OUT, { recursive: true });
  const dbPath = join(OUT, `cases_${cases}.duckdb`);
  if (!existsSync(dbPath)) {
    process.stdout.write(`Generating ${cases} cases into DuckDB ... `);
    const t = Date.now();
    await seedDemo({ dbPath, cases, seed: 1, now: new Date(AS_OF) });
    console.log(`${Date.now() - t} ms`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kpi-wh-bench-'));
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = join(dir, 'rsa_key.p8');
  writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const child = fork(__filename, [], {
    env: { ...process.env, BENCH_WH_FAKE: JSON.stringify({ dbPath, publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  process.once('exit', () => child.kill());
  process.stdout.write(`Loading ${cases} cases into the fake warehouse ... `);
  const fakeUrl = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => {
      const { url, loadMs } = m as { url: string; loadMs: number };
      console.log(`${loadMs} ms`);
      resolve(url);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fake Snowflake exited (${code})`)));
  });
  const counters = () => new Promise<{ resultBytes: number; resultBytesUncompressed: number }>((resolve) => {
    child.once('message', (m) => resolve(m as { resultBytes: number; resultBytesUncompressed: number }));
    child.send('counters');
  });
  const common = { KPI_STATE_PATH: join(dir, 'state.duckdb'), KPI_LOG_LEVEL: 'warn' };
  const settings = loadSettings({
    ...common, KPI_SOURCE: 'snowflake', KPI_COMPUTE: 'warehouse', KPI_DB_PATH: join(dir, 'state.duckdb'),
    SNOWFLAKE_ACCOUNT: 'BENCHORG-KPI', SNOWFLAKE_USER: 'KPI_SVC', SNOWFLAKE_DATABASE: 'BENCH_DB', SNOWFLAKE_SCHEMA: 'SUPPORT', SNOWFLAKE_TABLE: 'SUPPORT_CASES',
    SNOWFLAKE_PRIVATE_KEY_PATH: keyPath, SNOWFLAKE_ACCESS_URL: fakeUrl, SNOWFLAKE_RETRIES: '0', SNOWFLAKE_QUERY_TIMEOUT_MS: '3600000',
    // The fake answers a statement only when it is done (Snowflake answers "still running"
    // after about 45 s and the driver polls): a long statement needs a long request timeout.
    SNOWFLAKE_CONNECT_TIMEOUT_MS: '600000',
  });
  const whOut = join(dir, 'out-warehouse');
  try {
    for (let r = 1; r <= runs; r++) {
      const { resultBytes: before, resultBytesUncompressed: beforeRaw } = await counters();
      const t = performance.now();
      const { report } = await runPipeline({ settings, asOf: new Date(AS_OF), outDir: whOut, recordHistory: false, trigger: 'bench' });
      const wall = performance.now() - t;
      const warehouseMs = Object.entries(report.timings).filter(([k]) => k.startsWith('kpi.warehouse.')).reduce((a, [, v]) => a + v, 0);
      const signIn = report.timings.extract ?? 0;
      const after = await counters();
      const bytes = after.resultBytes - before;
      const raw = after.resultBytesUncompressed - beforeRaw;
      console.log(`run ${r}: ${cases} cases, ${report.dailyOps.cases_in_window} in the window, ${report.atRiskCases.length} at risk: ` +
        `received ${bytes} bytes (${(bytes / 1024 / 1024).toFixed(3)} MB on the wire, gzip; ${(raw / 1024 / 1024).toFixed(3)} MB of JSON), local work ${Math.round(wall - warehouseMs - signIn)} ms ` +
        `(of which SQL rendering and report assembly ${Math.round(report.timings['kpi.local'] ?? 0)} ms), warehouse ${Math.round(warehouseMs)} ms, sign-in ${Math.round(signIn)} ms, wall ${Math.round(wall)} ms`);
    }
    if (check) {
      const localOut = join(dir, 'out-local');
      // The demo file has a status history; warehouse compute reads none, so neither does this run.
      const local = loadSettings({ ...common, KPI_SOURCE: 'duckdb', KPI_DB_PATH: dbPath, KPI_HISTORY_TABLE: 'no_status_history' });
      await runPipeline({ settings: local, asOf: new Date(AS_OF), outDir: localOut, recordHistory: false, trigger: 'bench' });
      const differ = readdirSync(localOut).filter((f) => f.endsWith('.csv') && readFileSync(join(localOut, f), 'utf8') !== readFileSync(join(whOut, f), 'utf8'));
      console.log(differ.length ? `files that differ from local compute: ${differ.join(', ')}` : 'every CSV equals local compute\'s');
      if (differ.length) process.exitCode = 1;
    }
  } finally {
    child.kill();
  }
}

/** The child process: the fake Snowflake in execute mode, holding the cases of `dbPath`. */
async function serveFake(): Promise<void> {
  const { dbPath, publicKeyPem } = JSON.parse(process.env.BENCH_WH_FAKE!) as { dbPath: string; publicKeyPem: string };
  const key = 'BENCH_DB.SUPPORT.SUPPORT_CASES';
  const { table, setup } = await demoWarehouseTable(dbPath, key);
  const fake = await startFakeSnowflake({
    account: 'BENCHORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem }],
    tables: { [key]: table },
    execute: true,
    warehouseSetup: setup,
  });
  const t0 = Date.now();
  await fake.loadWarehouse();
  process.send!({ url: fake.url, loadMs: Date.now() - t0 });
  process.on('message', () => process.send!({ resultBytes: fake.resultBytes, resultBytesUncompressed: fake.resultBytesUncompressed }));
  process.on('disconnect', () => void fake.close().then(() => process.exit(0)));
}

if (process.env.BENCH_WH_FAKE) {
  serveFake().catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
