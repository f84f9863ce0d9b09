/**
 * `npm run bench [-- --cases N[,M...]] [--runs R] [--source csv|duckdb]`: the pipeline benchmark.
 * Generates N demo cases as a CSV export and as a DuckDB file, builds dist/, then times
 * `kpi run` (bin/kpi.js, the installed command) end to end (wall clock measured from
 * outside, stage times and peak RSS reported by the run itself: `peakRssMb`, the process's
 * high-water mark, DuckDB's native memory included) for --source csv and --source duckdb, or
 * only the one --source names (and only its input is generated). Prints a table; the median
 * of R runs (default 3), after one untimed run that warms the page cache and the command's
 * code cache.
 *
 * Other benchmarks: `npm run bench -- snowflake|slack|alerts [args]` runs bench/<name>.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { seedDemo, writeDemoCsv } from '../src/sources/demo/seed';
import { ROOT, OUT, arg, AS_OF, median } from './lib';

interface Sample { wallMs: number; stages: Record<string, number>; rssMb: number; cases: number }

function runOnce(args: string[]): Sample {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/kpi.js'), 'run', ...args, '--as-of', AS_OF, '--out', join(OUT, 'output'), '--json'], {
    cwd: OUT, encoding: 'utf8', env: { ...process.env, KPI_LOG_DIR: join(OUT, 'logs'), KPI_DB_PATH: join(OUT, 'history.duckdb'), KPI_STATE_PATH: join(OUT, 'history.duckdb') },
  });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`kpi run failed: ${r.stderr || r.stdout}`);
  const j = JSON.parse(r.stdout);
  return { wallMs, stages: j.timingsMs, rssMb: j.peakRssMb, cases: j.summary.cases_in_window };
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
  const walls: Record<string, number> = {};
  for (const n of sizes) {
    const csv = join(OUT, `cases_${n}.csv`);
    const db = join(OUT, `cases_${n}.duckdb`);
    if (labels.includes('csv') && !existsSync(csv)) { process.stdout.write(`Generating ${n} cases as CSV ... `); const t = Date.now(); await writeDemoCsv({ path: csv, cases: n, seed: 1, now: new Date(AS_OF) }); console.log(`${Date.now() - t} ms`); }
    if (labels.includes('duckdb') && !existsSync(db)) { process.stdout.write(`Generating ${n} cases into DuckDB ... `); const t = Date.now(); await seedDemo({ dbPath: db, cases: n, seed: 1, now: new Date(AS_OF) }); console.log(`${Date.now() - t} ms`); }
    for (const label of labels) {
      const args = label === 'csv' ? ['--source', 'csv', '--csv', csv] : ['--source', 'duckdb', '--db', db];
      runOnce([...args]); // warm the page cache and the code cache
      const samples = Array.from({ length: runs }, () => runOnce([...args]));
      const s = samples.find((x) => x.wallMs === median(samples.map((y) => y.wallMs)))!;
      walls[`${label}:${n}`] = s.wallMs;
      rows.push([label, n.toLocaleString('en-US'), s.cases.toLocaleString('en-US'), Math.round(s.wallMs).toString(),
        Math.round(s.stages.extract + s.stages.normalise).toString(), Math.round(s.stages.kpis).toString(), Math.round(s.stages.write).toString(),
        Math.round(s.stages.history ?? 0).toString(), `${Math.max(...samples.map((x) => x.rssMb))}`]);
    }
  }
  const head = ['source', 'rows', 'cases in window', 'wall ms (median)', 'read+clean ms', 'kpis ms', 'write ms', 'history ms*', 'peak RSS MB'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(w[i])).join(' | ')} |`;
  console.log(`\n${line(head)}\n|${w.map((x) => '-'.repeat(x + 2)).join('|')}|\n${rows.map(line).join('\n')}`);
  if (sizes.length > 1) {
    for (const src of labels) {
      const a = walls[`${src}:${sizes[0]}`];
      const z = walls[`${src}:${sizes[sizes.length - 1]}`];
      console.log(`${src}: ${sizes[sizes.length - 1] / sizes[0]}x the rows took ${(z / a).toFixed(2)}x the time`);
    }
  }
  console.log(`CPU check after: ${calibrate()} ms`);
  console.log('* history: from opening the history store (while the KPIs run) to the row inserted; it overlaps kpis and write.');
  console.log(`\nnode ${process.version}, ${require('node:os').cpus().length} cores; runs=${runs}; as_of ${AS_OF}`);
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
