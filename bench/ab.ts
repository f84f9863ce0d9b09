/**
 * `npm run bench -- ab --base DIR [--cases N] [--runs R] [--source csv|duckdb] [--env K=V,...] [--base-env K=V,...]`
 *
 * Paired comparison: `kpi run` of this checkout against `kpi run` of another checkout (DIR,
 * e.g. a git worktree of an older commit, built with `npm run build`), alternating run by
 * run on the same input, so that the machine's drifting speed hits both alike. Prints the
 * median wall time of each side and the median of the per-pair ratios (new / base). With
 * --base . it compares this checkout with itself under two settings (--env vs --base-env):
 * a feature's cost, with vs without.
 *
 * SLA policies (contract 6): bench/out/sla_policy.yml (the demo policy file: two office
 * calendars with holidays and pauses, enterprise 24x7) and bench/out/history_<N>.csv (the
 * demo status history of the same cases, about three changes a case) are written when
 * missing, and `{policy}` / `{history}` in --env and --base-env stand for their paths:
 *   npm run bench -- ab --base . --env KPI_SLA_POLICY_FILE={policy},KPI_HISTORY_CSV={history} --runs 5
 * (The DuckDB file of --source duckdb holds the history as table case_status_history.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { seedDemo, writeDemoCsv, writeDemoHistoryCsv, writeDemoPolicy } from '../src/sources/demo/seed';
import { ROOT, OUT, arg, AS_OF, median } from './lib';

const envList = (s: string): Record<string, string> =>
  Object.fromEntries(s.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

/**
 * One `kpi run`, through bash so that `times` reports the CPU time (user + system, all
 * threads) the run used: on a loaded machine CPU time varies much less than wall time.
 */
function runOnce(root: string, args: string[], env: Record<string, string>, tag: string): { wallMs: number; cpuMs: number; rssMb: number } {
  const t = process.hrtime.bigint();
  const cmd = [process.execPath, join(root, 'bin/kpi.js'), 'run', ...args, '--as-of', AS_OF, '--out', join(OUT, `ab-${tag}`), '--json']
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${cmd} > ${join(OUT, `ab-${tag}.json`)}; s=$?; times; exit $s`], {
    cwd: OUT, encoding: 'utf8',
    env: { ...process.env, KPI_LOG_DIR: join(OUT, 'logs'), KPI_DB_PATH: join(OUT, `ab-history-${tag}.duckdb`), KPI_STATE_PATH: join(OUT, `ab-state-${tag}.duckdb`), ...env },
  });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`kpi run (${root}) failed: ${r.stderr}`);
  // `times` prints the shell's own user/system time, then its children's: `0m1.234s 0m0.123s`.
  const children = r.stdout.trim().split('\n').pop() ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const json = JSON.parse(readFileSync(join(OUT, `ab-${tag}.json`), 'utf8'));
  return { wallMs, cpuMs: (secs[0] + secs[1]) * 1000, rssMb: json.peakRssMb };
}

async function main(): Promise<void> {
  const base = resolve(arg('base', ''));
  if (!existsSync(join(base, 'dist/kpi.bundle.js'))) throw new Error(`--base ${base}: no dist/kpi.bundle.js there (run npm run build in it)`);
  const n = Number(arg('cases', '1000000'));
  const runs = Number(arg('runs', '7'));
  const source = arg('source', 'csv');
  mkdirSync(OUT, { recursive: true });
  const csv = join(OUT, `cases_${n}.csv`);
  const db = join(OUT, `cases_${n}.duckdb`);
  if (source === 'csv' && !existsSync(csv)) await writeDemoCsv({ path: csv, cases: n, seed: 1, now: new Date(AS_OF) });
  if (source === 'duckdb' && !existsSync(db)) await seedDemo({ dbPath: db, cases: n, seed: 1, now: new Date(AS_OF) });
  const policy = join(OUT, 'sla_policy.yml');
  const history = join(OUT, `history_${n}.csv`);
  writeDemoPolicy(policy);
  if (source === 'csv' && !existsSync(history)) await writeDemoHistoryCsv({ path: history, cases: n, seed: 1, now: new Date(AS_OF) });
  const fill = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('{policy}', policy).replace('{history}', history)]));
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) throw new Error('build failed');
  const args = source === 'csv' ? ['--source', 'csv', '--csv', csv] : ['--source', 'duckdb', '--db', db];
  const sides = [
    { name: 'base', root: base, env: fill(envList(arg('base-env', ''))) },
    { name: 'new', root: ROOT, env: fill(envList(arg('env', ''))) },
  ];
  for (const s of sides) runOnce(s.root, args, s.env, s.name); // warm the page cache and code caches
  const wall: Record<string, number[]> = { base: [], new: [] };
  const cpu: Record<string, number[]> = { base: [], new: [] };
  const rss: Record<string, number[]> = { base: [], new: [] };
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? [...sides].reverse() : sides;
    const got: Record<string, { wallMs: number; cpuMs: number }> = {};
    for (const s of order) {
      const r = runOnce(s.root, args, s.env, s.name);
      wall[s.name].push(r.wallMs); cpu[s.name].push(r.cpuMs); rss[s.name].push(r.rssMb); got[s.name] = r;
    }
    ratios.push(got.new.wallMs / got.base.wallMs);
    cpuRatios.push(got.new.cpuMs / got.base.cpuMs);
    process.stdout.write(`pair ${i + 1}: wall base ${Math.round(got.base.wallMs)} ms, new ${Math.round(got.new.wallMs)} ms (ratio ${(got.new.wallMs / got.base.wallMs).toFixed(3)}); CPU base ${Math.round(got.base.cpuMs)} ms, new ${Math.round(got.new.cpuMs)} ms (ratio ${(got.new.cpuMs / got.base.cpuMs).toFixed(3)})\n`);
  }
  const line = (what: string, xs: Record<string, number[]>, rs: number[]) => `${what}: base median ${Math.round(median(xs.base))} ms, new median ${Math.round(median(xs.new))} ms; ratio of medians ${(median(xs.new) / median(xs.base)).toFixed(3)}, median of pair ratios ${median(rs).toFixed(3)}`;
  console.log(`${source}, ${n.toLocaleString('en-US')} cases, ${runs} pairs (peak RSS: base ${Math.round(median(rss.base))} MB, new ${Math.round(median(rss.new))} MB)`);
  console.log(line('wall', wall, ratios));
  console.log(line('CPU ', cpu, cpuRatios));
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
