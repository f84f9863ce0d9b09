/**
 * A manual `kpi run` while the bot is running: both use the same DuckDB file; the run must
 * succeed (no lost run, no stuck lock) and the bot's writes must all land.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { runCli } from './helpers/cli';
import { tmpDir } from './helpers/kpi';
import { seedDemo } from '../src/sources/demo/seed';
import { withStore } from '../src/db/stateStore';
import { query } from '../src/db/engine';

const ROOT = resolve(__dirname, '..');

test('kpi run succeeds while another process keeps writing to the same database', async () => {
  const cwd = tmpDir('kpi-2proc-');
  const db = join(cwd, 'data/kpi.duckdb');
  await seedDemo({ dbPath: db, cases: 2000, seed: 3 });
  const bot = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'test/fixtures/busyStore.ts'), db, '6000'], { cwd });
  let out = '';
  bot.stdout.on('data', (d) => { out += String(d); });
  const exited = new Promise<number>((res) => bot.on('exit', (code) => res(code ?? -1)));
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('bot did not start')), 20_000);
    bot.stdout.on('data', () => { if (out.includes('ready')) { clearTimeout(t); res(); } });
    bot.stderr.on('data', (d) => { clearTimeout(t); rej(new Error(`bot failed: ${String(d)}`)); });
  });

  // The source is chosen explicitly: with none configured, kpi run warns on stderr that it uses demo data.
  const runs = [runCli(['run', '--json'], cwd, { KPI_SOURCE: 'demo' }), runCli(['run', '--json'], cwd, { KPI_SOURCE: 'demo' })];
  for (const r of runs) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).ok).toBe(true);
  }
  expect(await exited).toBe(0);
  const writes = Number(/writes (\d+)/.exec(out)?.[1]);
  expect(writes).toBeGreaterThan(5);
  const [counts] = await withStore(db, (c) => query<{ runs: number; ticks: number }>(c,
    `SELECT (SELECT count(*) FROM run_history WHERE ok AND trigger = 'cli') AS runs, (SELECT count(*) FROM bot_ticks) AS ticks`));
  expect(counts).toEqual({ runs: 2, ticks: writes });
}, 60_000);
