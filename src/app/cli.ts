/**
 * `kpi`: the command line. `kpi run` runs the pipeline once; `kpi seed-demo` (re)creates
 * the demo data; `kpi serve` starts the Slack app and its schedules.
 */
import './prestart';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, defaultEnv, loadSettings, parseAsOf, secretValues, SOURCES, type Settings, type SourceKind } from '../config/settings';
import { createLogger, registerSecrets } from '../support/log';
import { runPipeline } from '../pipeline/run';
import { CaseNotFoundError, explainFromSource } from '../pipeline/explain';
import { SettingError } from '../config/slaPolicyFile';
import { renderExplainText } from '../render/text/explain';
import { seedDemo } from '../sources/demo/seed';
import { errorText } from '../support/errors';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
  return n;
};

function settingsWith(overrides: Record<string, string | undefined>): Settings {
  const env: Record<string, string | undefined> = { ...defaultEnv() };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = v;
  const s = loadSettings(env);
  registerSecrets(secretValues(s));
  return s;
}

/** Prints one line and exits non-zero: the CLI's answer to any failure. */
function fail(e: unknown): never {
  const msg = errorText(e);
  process.stderr.write(`kpi: ${msg.split('\n')[0]}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
}

const STAGES = ['extract', 'normalise', 'data_quality', 'kpis', 'write', 'history'];

/** The project's package.json: next to dist/ for the bundle, two folders up from src/app/. */
function packageJsonPath(): string {
  const bundled = join(__dirname, '..', 'package.json');
  return existsSync(bundled) ? bundled : join(__dirname, '..', '..', 'package.json');
}

export function buildCli(): Command {
  const { version } = JSON.parse(readFileSync(packageJsonPath(), 'utf8')) as { version: string };
  const program = new Command('kpi')
    .version(version)
    .description('Global support KPIs: SLA, backlog, volume, risk, spikes and data quality, as CSV reports and Slack messages.')
    .showHelpAfterError();

  program.command('run')
    .description('Run the pipeline once: write the reports to --out, append to logs/, print a summary')
    .addOption(new Option('--source <kind>', 'where cases come from').choices([...SOURCES]))
    .option('--csv <file>', 'CSV export to read (with --source csv)')
    .option('--db <file>', 'DuckDB file (demo and duckdb sources; also run history)')
    .option('--as-of <iso>', 'the instant the run describes, e.g. 2026-11-23T09:00:00Z (default: now)')
    .option('--window-days <n>', 'days in the window', positiveInt('--window-days'))
    .option('--tz <zone>', 'report time zone for calendar days, e.g. Europe/Berlin')
    .option('--out <dir>', 'output folder')
    .option('--json', 'print one JSON object (summary, warnings, timings) instead of text')
    .action(async (o: { source?: SourceKind; csv?: string; db?: string; asOf?: string; windowDays?: number; tz?: string; out?: string; json?: boolean }) => {
      try {
        const settings = settingsWith({
          KPI_SOURCE: o.source ?? (o.csv ? 'csv' : undefined),
          KPI_CSV_PATH: o.csv,
          KPI_DB_PATH: o.db,
          KPI_WINDOW_DAYS: o.windowDays?.toString(),
          KPI_TZ: o.tz,
          KPI_OUTPUT_DIR: o.out,
        });
        const asOf = o.asOf ? parseAsOf(o.asOf) : undefined;
        const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL });
        const tty = !o.json && process.stderr.isTTY;
        let i = 0;
        const onStage = tty ? (st: string) => { i = Math.max(i, STAGES.indexOf(st) + 1); process.stderr.write(`\r\x1b[K[${i}/${STAGES.length}] ${st}...`); } : undefined;
        const result = await runPipeline({ settings, log, asOf, trigger: 'cli', onStage }).finally(() => { if (tty) process.stderr.write('\r\x1b[K'); });
        const r = result.report;
        if (o.json) {
          process.stdout.write(`${JSON.stringify({
            ok: true, runId: r.meta.runId, source: r.meta.source, asOf: r.meta.asOf, asOfDate: r.meta.asOfDate,
            windowDays: r.meta.windowDays, reportTz: r.meta.reportTz, rowsRead: r.meta.rowsRead,
            summary: r.dailyOps, dataQuality: r.dataQuality, warnings: r.warnings,
            timingsMs: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, Math.round(v * 10) / 10])),
            peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
            files: result.files,
          })}\n`);
        } else {
          const d = r.dailyOps;
          process.stdout.write(
            `KPI run for ${d.as_of_date} (as of ${d.as_of}, ${r.meta.source})\n` +
            `  ${d.cases_in_window} cases in window, ${d.open_backlog} open, ${d.at_risk_cases} at risk, ${d.breached_open_cases} breached\n` +
            `  SLA compliance ${d.sla_compliance_pct ?? 'n/a'}%, first response ${d.first_response_compliance_pct ?? 'n/a'}%, data quality ${d.data_quality_score}\n` +
            `  backlog growth ${d.backlog_growth_pct ?? 'n/a'}%${d.backlog_spike ? ' (SPIKE)' : ''}\n` +
            (r.warnings.length ? `  ${r.warnings.length} warning(s):\n${r.warnings.map((w) => `    - ${w}`).join('\n')}\n` : '') +
            `  ${result.files.length} files written to ${settings.KPI_OUTPUT_DIR}/ in ${Math.round(r.timings.total)} ms\n`,
          );
        }
      } catch (e) {
        if (o.json) process.stdout.write(`${JSON.stringify({ ok: false, error: errorText(e) })}\n`);
        fail(e);
      }
    });

  program.command('explain')
    .description('Explain one case\'s SLA clocks: the policy and why, the calendar, every running and paused stretch, targets, due, outcome and stage')
    .argument('[case_id]', 'the case to explain')
    .addOption(new Option('--source <kind>', 'where cases come from').choices([...SOURCES]))
    .option('--csv <file>', 'CSV export to read (with --source csv)')
    .option('--db <file>', 'DuckDB file (demo and duckdb sources)')
    .option('--as-of <iso>', 'the instant to explain at, e.g. 2026-11-23T09:00:00Z (default: now)')
    .option('--window-days <n>', 'days in the window', positiveInt('--window-days'))
    .option('--policy-file <file>', 'SLA policy file (default: KPI_SLA_POLICY_FILE; none: the built-in default policy)')
    .option('--history <file>', 'status history CSV: case_id, status, changed_at (default: KPI_HISTORY_CSV)')
    .option('--json', 'print the explanation as JSON')
    .action(async (caseId: string | undefined, o: { source?: SourceKind; csv?: string; db?: string; asOf?: string; windowDays?: number; policyFile?: string; history?: string; json?: boolean }) => {
      try {
        if (!caseId?.trim()) throw new ConfigError('kpi explain needs a case id, e.g. kpi explain C-1001');
        const env = defaultEnv();
        const settings = settingsWith({
          KPI_SOURCE: o.source ?? (o.csv ? 'csv' : undefined),
          KPI_CSV_PATH: o.csv,
          KPI_DB_PATH: o.db,
          KPI_WINDOW_DAYS: o.windowDays?.toString(),
        });
        const asOf = o.asOf ? parseAsOf(o.asOf) : undefined;
        const e = await explainFromSource({
          settings, caseId, asOf,
          policyFile: o.policyFile ?? (env.KPI_SLA_POLICY_FILE || null),
          historyCsv: o.history ?? (env.KPI_HISTORY_CSV || null),
        });
        process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : renderExplainText(e));
      } catch (e) {
        if (e instanceof CaseNotFoundError) {
          process.stderr.write(`kpi: ${e.message}\n`);
          process.exit(1);
        }
        if (e instanceof SettingError) {
          process.stderr.write(`kpi: ${e.message}\n`);
          process.exit(2);
        }
        fail(e);
      }
    });

  program.command('seed-demo')
    .description('(Re)generate the demo data in the embedded database')
    .option('--cases <n>', 'number of cases', positiveInt('--cases'))
    .option('--db <file>', 'DuckDB file')
    .option('--seed <s>', 'random seed (same seed, same data for the same hour)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('--seed must be a whole number >= 0');
      return n;
    })
    .action(async (o: { cases?: number; db?: string; seed?: number }) => {
      try {
        const settings = settingsWith({ KPI_DB_PATH: o.db });
        const t = performance.now();
        const { rows } = await seedDemo({ dbPath: settings.KPI_DB_PATH, cases: o.cases ?? settings.KPI_DEMO_CASES, seed: o.seed ?? settings.KPI_DEMO_SEED });
        process.stdout.write(`Seeded ${rows} demo rows into ${settings.KPI_DB_PATH} (table support_cases) in ${Math.round(performance.now() - t)} ms\n`);
      } catch (e) {
        fail(e);
      }
    });

  program.command('serve')
    .description('Start the Slack app (HTTP or Socket Mode) with the digest and alert schedules')
    .option('--port <n>', 'HTTP port (default PORT or 3000)', positiveInt('--port'))
    .action(async (o: { port?: number }) => {
      try {
        const settings = settingsWith({ PORT: o.port?.toString() });
        const { serve } = require('./serve') as typeof import('./serve');
        const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL, stderr: true });
        const handle = await serve(settings, { log });
        const stop = () => { void handle.stop().finally(() => process.exit(0)); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (e) {
        fail(e);
      }
    });

  return program;
}

/** Runs the command line (src/bin.ts, the `kpi` bin's entry, calls this). */
export function main(argv: string[] = process.argv): void {
  buildCli().parseAsync(argv).catch(fail);
}
