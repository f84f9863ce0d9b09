/**
 * `npm run bench [-- --cases N[,M...]] [--runs R] [--source csv|duckdb]`: the pipeline benchmark.
 * Generates N demo cases as a CSV export and as a DuckDB file, builds dist/, then times
 * `kpi run` (bin/kpi.js, the installed command) end to end (wall clock measured from
 * outside, stage times and peak RSS reported by the run itself: `peakRssMb`, the process's
 * high-water mark, DuckDB's native memory included) for --source csv and --source duckdb, or
 * only the one --source names (and only its input is generated), with the CPU time of each
 * run (user + system, all threads). Prints a table; the median of R runs (default 3), after
 * one untimed run that warms the page cache and the command's code cache. With several
 * sizes, the runs alternate between them and the ratio of the largest to the smallest is
 * the median of the rounds' ratios.
 *
 * Other benchmarks: `npm run bench -- snowflake|slack|alerts [args]` runs bench/<name>.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedDemo, writeDemoCsv } from '../src/sources/demo/seed';
import { ROOT, OUT, arg, AS_OF, median } from './lib';

interface Sample { wallMs: number; cpuMs: number; stages: Record<string, number>; rssMb: number; cases: number }

/**
 * One `kpi run`, through bash so that `times` reports the CPU time (user + system, all
 * threads) it used: on a loaded machine CPU time varies much less than wall time.
 */
function runOnce(args: string[]): Sample {
  const t = process.hrtime.bigint();
  const json = join(OUT, 'run.json');
  const cmd = [process.execPath, join(ROOT, 'bin/kpi.js'), 'run', ...args, '--as-of', AS_OF, '--out', join(OUT, 'output'), '--json']
    .map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${cmd} > '${json}'; s=$?; times; exit $s`], {
    cwd: OUT, encoding: 'utf8', env: { ...process.env, KPI_LOG_DIR: join(OUT, 'logs'), KPI_DB_PATH: join(OUT, 'history.duckdb'), KPI_STATE_PATH: join(OUT, 'history.duckdb') },
  });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`kpi run failed: ${r.stderr || readFileSync(json, 'utf8')}`);
  // `times` prints the shell's own user/system time, then its children's: `0m1.234s 0m0.123s`.
  const secs = [...(r.stdout.trim().split('\n').pop() ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const j = JSON.parse(readFileSync(json, 'utf8'));
  return { wallMs, cpuMs: (secs[0] + secs[1]) * 1000, stages: j.timingsMs, rssMb: j.peakRssMb, cases: j.summary.cases_in_window };
}

/** Wall time of a fixed CPU-bound loop in a fresh process: how fast the machine is right now. */
function calibrate(): number {
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', 'let x = 0; for (let i = 0; i < 1e8; i++) x += i;']);
  return Math.round(Number(process.hrtime.bigint() - t) / 1e6);
}

async function main(): Promise<void> {
  const sub = process.argv[2];
  if (sub && !sub.startsWith('--')) {
    const script = join(ROOT, 'bench', `${sub}.ts`);
    if (!existsSync(script)) throw new Error(`no benchmark named ${sub}`);
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), script, ...process.argv.slice(3)], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  console.log(`CPU check: a 100M-iteration loop takes ${calibrate()} ms now (this VM's CPU speed varies by a third over minutes; compare runs with it)`);
  const sizes = arg('cases', '1000000').split(',').map((s) => Number(s.replace(/_/g, '')));
  const runs = Number(arg('runs', '3'));
  const only = arg('source', '');
  if (only && only !== 'csv' && only !== 'duckdb') throw new Error(`--source must be csv or duckdb, got ${only}`);
  const labels = (['csv', 'duckdb'] as const).filter((l) => !only || l === only);
  mkdirSync(OUT, { recursive: true });
  console.log('Building dist/ ...');
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) throw new Error('build failed');
  const rows: string[][] = [];
  const inputs = (n: number) => ({ csv: join(OUT, `cases_${n}.csv`), db: join(OUT, `cases_${n}.duckdb`) });
  for (const n of sizes) {
    const { csv, db } = inputs(n);
    if (labels.includes('csv') && !existsSync(csv)) { process.stdout.write(`Generating ${n} cases as CSV ... `); const t = Date.now(); await writeDemoCsv({ path: csv, cases: n, seed: 1, now: new Date(AS_OF) }); console.log(`${Date.now() - t} ms`); }
    if (labels.includes('duckdb') && !existsSync(db)) { process.stdout.write(`Generating ${n} cases into DuckDB ... `); const t = Date.now(); await seedDemo({ dbPath: db, cases: n, seed: 1, now: new Date(AS_OF) }); console.log(`${Date.now() - t} ms`); }
  }
  // The sizes alternate run by run (one round: each size once), so that the ratio between
  // sizes is measured at the same machine speed; the ratio printed is the median of the
  // rounds' ratios.
  const ratios: string[] = [];
  for (const label of labels) {
    const argsOf = (n: number) => (label === 'csv' ? ['--source', 'csv', '--csv', inputs(n).csv] : ['--source', 'duckdb', '--db', inputs(n).db]);
    for (const n of sizes) runOnce(argsOf(n)); // warm the page cache and the code cache
    const rounds = Array.from({ length: runs }, () => sizes.map((n) => runOnce(argsOf(n))));
    sizes.forEach((n, k) => {
      const samples = rounds.map((r) => r[k]);
      const s = samples.find((x) => x.wallMs === median(samples.map((y) => y.wallMs))) ?? samples[0];
      rows.push([label, n.toLocaleString('en-US'), s.cases.toLocaleString('en-US'), Math.round(s.wallMs).toString(), Math.round(median(samples.map((x) => x.cpuMs))).toString(),
        Math.round(s.stages.extract + s.stages.normalise).toString(), Math.round(s.stages.kpis).toString(), Math.round(s.stages.write).toString(),
        Math.round(s.stages.history ?? 0).toString(), `${Math.max(...samples.map((x) => x.rssMb))}`]);
    });
    if (sizes.length > 1) {
      const last = sizes.length - 1;
      const wall = median(rounds.map((r) => r[last].wallMs / r[0].wallMs));
      const cpu = median(rounds.map((r) => r[last].cpuMs / r[0].cpuMs));
      ratios.push(`${label}: ${sizes[last] / sizes[0]}x the rows took ${wall.toFixed(2)}x the time (CPU time ${cpu.toFixed(2)}x); median of ${runs} alternating rounds`);
    }
  }
  const head = ['source', 'rows', 'cases in window', 'wall ms (median)', 'CPU ms (median)', 'read+clean ms', 'kpis ms', 'write ms', 'history ms*', 'peak RSS MB'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(w[i])).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${w.map((x) => '-'.repeat(x + 2)).join('|')}|\n${rows.map(line).join('\n')}`);
  for (const r of ratios) console.log(r);
  console.log(`CPU check after: ${calibrate()} ms`);
  console.log('* history: from opening the history store (while the KPIs run) to the row inserted; it overlaps kpis and write.');
  console.log(`\nnode ${process.version}, ${require('node:os').cpus().length} cores; runs=${runs}; as_of ${AS_OF}`);
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
