/**
 * `kpi`: the command line. `kpi run` runs the pipeline once; `kpi seed-demo` (re)creates
 * the demo data; `kpi serve` starts the Slack app and its schedules; `kpi digest` and
 * `kpi alerts` post once, now, sharing the bot's state (no double posts); `kpi doctor`
 * checks the setup. Exit codes: 0 ok, 1 failed, 2 a setting or usage error.
 */
import './prestart';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, defaultEnv, demoPolicyPath, loadSettings, parseAsOf, secretValues, SOURCES, type Settings, type SourceKind } from '../config/settings';
import { createLogger, registerSecrets } from '../support/log';
import { runPipeline } from '../pipeline/run';
import { seedDemo, writeDemoPolicy } from '../sources/demo/seed';
import { errorText, printable } from '../support/errors';
import { formatCount as n } from '../support/numbers';
import { DEMO_NOTICE } from '../render/demo';
import { failureText, failureJson } from './failure';
import { CaseNotFoundError, explainFromSource } from '../pipeline/explain';
import { SettingError } from '../config/slaPolicyFile';
import { renderExplainText } from '../render/text/explain';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1`);
  return n;
};

/** True when neither the environment, .env nor an option chose a source: the run falls back to demo data. */
function sourceChosen(overrides: Record<string, string | undefined>): boolean {
  return Boolean(overrides.KPI_SOURCE || defaultEnv().KPI_SOURCE);
}

function settingsWith(overrides: Record<string, string | undefined>): Settings {
  const env: Record<string, string | undefined> = { ...defaultEnv() };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = v;
  const s = loadSettings(env);
  registerSecrets(secretValues(s));
  return s;
}

/** Prints the failure (one line, its cause indented below) and exits non-zero. */
function fail(e: unknown): never {
  process.stderr.write(failureText(e));
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
    // Usage errors (an unknown option, a bad value) are answered in main(): one line, exit 2.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  program.command('run')
    .description('Run the pipeline once: write the reports to --out, append to logs/, print a summary')
    .addOption(new Option('--source <kind>', 'where cases come from').choices([...SOURCES]))
    .option('--csv <file>', 'CSV export to read (with --source csv)')
    .option('--history <file>', 'status history CSV (case_id, status, changed_at) for SLA pauses (with --source csv)')
    .option('--db <file>', 'DuckDB file to read (demo and duckdb sources; attached read-only)')
    .option('--state <file>', 'the project\'s state file: run history, digest log, alert state (default KPI_STATE_PATH)')
    .option('--as-of <iso>', 'the instant the run describes, e.g. 2026-11-23T09:00:00Z (default: now)')
    .option('--window-days <n>', 'days in the window', positiveInt('--window-days'))
    .option('--tz <zone>', 'report time zone for calendar days, e.g. Europe/Berlin')
    .option('--out <dir>', 'output folder')
    .option('--json', 'print one JSON object (summary, warnings, timings) instead of text')
    .option('--full-refresh', 'with KPI_INCREMENTAL=true: rebuild the Snowflake replica with a full load')
    .addOption(new Option('--compute <where>', 'where the KPIs are computed: local (DuckDB) or warehouse (inside Snowflake; --source snowflake)').choices(['local', 'warehouse']))
    .action(async (o: { source?: SourceKind; csv?: string; history?: string; db?: string; state?: string; asOf?: string; windowDays?: number; tz?: string; out?: string; json?: boolean; fullRefresh?: boolean; compute?: string }) => {
      try {
        const overrides = {
          KPI_SOURCE: o.source ?? (o.csv ? 'csv' : undefined),
          KPI_CSV_PATH: o.csv,
          KPI_HISTORY_CSV: o.history,
          KPI_DB_PATH: o.db,
          KPI_STATE_PATH: o.state,
          KPI_WINDOW_DAYS: o.windowDays?.toString(),
          KPI_TZ: o.tz,
          KPI_OUTPUT_DIR: o.out,
          KPI_FULL_REFRESH: o.fullRefresh ? 'true' : undefined,
          KPI_COMPUTE: o.compute,
        };
        const settings = settingsWith(overrides);
        // Settings and arguments are checked first: a usage error is one line on stderr.
        const asOf = o.asOf ? parseAsOf(o.asOf) : undefined;
        if (!sourceChosen(overrides)) {
          process.stderr.write('kpi: no source is configured (KPI_SOURCE, --source or --csv): using generated demo data, not your support cases. See .env.example.\n');
        }
        const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL });
        const tty = !o.json && process.stderr.isTTY;
        let i = 0;
        const onStage = tty ? (st: string) => { i = Math.max(i, STAGES.indexOf(st) + 1); process.stderr.write(`\r\x1b[K[${i}/${STAGES.length}] ${st}...`); } : undefined;
        const result = await runPipeline({ settings, log, asOf, trigger: 'cli', onStage }).finally(() => { if (tty) process.stderr.write('\r\x1b[K'); });
        const r = result.report;
        if (o.json) {
          process.stdout.write(`${JSON.stringify({
            ok: true, demo: Boolean(r.meta.demo), runId: r.meta.runId, source: r.meta.source, asOf: r.meta.asOf, asOfDate: r.meta.asOfDate,
            windowDays: r.meta.windowDays, reportTz: r.meta.reportTz, rowsRead: r.meta.rowsRead,
            summary: r.dailyOps, dataQuality: r.dataQuality, warnings: r.warnings,
            rejectedLines: result.rejects?.length ?? 0, rejects: result.rejects ?? [],
            timingsMs: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, Math.round(v * 10) / 10])),
            peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
            files: result.files,
          })}\n`);
        } else {
          const d = r.dailyOps;
          process.stdout.write(
            (r.meta.demo ? `${DEMO_NOTICE}\n` : '') +
            `KPI run for ${d.as_of_date} (as of ${d.as_of}, ${printable(r.meta.source, 300)})\n` +
            `  ${n(d.cases_in_window)} cases in window, ${n(d.open_backlog)} open, ${n(d.at_risk_cases)} at risk, ${n(d.breached_open_cases)} breached\n` +
            `  SLA compliance ${d.sla_compliance_pct ?? 'n/a'}%, first response ${d.first_response_compliance_pct ?? 'n/a'}%, data quality ${d.data_quality_score}\n` +
            `  backlog growth ${d.backlog_growth_pct ?? 'n/a'}%${d.backlog_spike ? ' (SPIKE)' : ''}\n` +
            (result.rejects?.length ? `  ${n(result.rejects.length)} input line(s) rejected and not counted (KPI_CSV_ON_ERROR=skip)\n` : '') +
            (r.warnings.length ? `  ${n(r.warnings.length)} warning(s):\n${r.warnings.map((w) => `    - ${printable(w, 500)}`).join('\n')}\n` : '') +
            `  ${result.files.length} files written to ${printable(settings.KPI_OUTPUT_DIR, 300)}/ in ${Math.round(r.timings.total)} ms\n`,
          );
        }
      } catch (e) {
        if (o.json) process.stdout.write(`${JSON.stringify(failureJson(e))}\n`);
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
        process.stdout.write(`Seeded ${rows} demo rows into ${settings.KPI_DB_PATH} (tables support_cases, case_status_history) in ${Math.round(performance.now() - t)} ms\n`);
        const policy = demoPolicyPath(settings.KPI_DB_PATH);
        process.stdout.write(writeDemoPolicy(policy)
          ? `Wrote the demo SLA policy file ${policy} (the demo source uses it unless KPI_SLA_POLICY_FILE is set)\n`
          : `Kept the SLA policy file ${policy} (delete it to get the demo's again)\n`);
      } catch (e) {
        fail(e);
      }
    });

  program.command('policy')
    .description('SLA policy files')
    .command('check [file]')
    .description('Read an SLA policy file as a run would and print what it understood; exit 2 on a mistake (default: KPI_SLA_POLICY_FILE, or the demo\'s)')
    .action((file: string | undefined) => {
      try {
        const { loadSlaPolicyFile, SettingError } = require('../config/slaPolicyFile') as typeof import('../config/slaPolicyFile');
        const { describePolicySet } = require('./policyCheck') as typeof import('./policyCheck');
        const env = defaultEnv();
        const path = file ?? env.KPI_SLA_POLICY_FILE ?? ((env.KPI_SOURCE ?? 'demo') === 'demo' ? demoPolicyPath(env.KPI_DB_PATH || 'data/kpi.duckdb') : undefined);
        if (!path) throw new ConfigError('kpi policy check: no file given and KPI_SLA_POLICY_FILE is not set');
        try {
          process.stdout.write(describePolicySet(loadSlaPolicyFile(path), new Date().toISOString().slice(0, 10)));
        } catch (e) {
          if (!(e instanceof SettingError)) throw e;
          for (const p of e.problems) process.stderr.write(`kpi: ${p}\n`);
          process.exit(2);
        }
      } catch (e) {
        fail(e);
      }
    });

  program.command('digest')
    .description('Post the daily digest once, now (the bot\'s digest job: once per day and channel, shared with the bot)')
    .option('--channel <id>', 'channel ID to post to (default KPI_DIGEST_CHANNEL)')
    .option('--dry-run', 'print the Block Kit JSON that would be posted; post nothing, claim nothing')
    .action(async (o: { channel?: string; dryRun?: boolean }) => {
      try {
        const settings = settingsWith({});
        const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL });
        const { digestCommand } = require('./oneShot') as typeof import('./oneShot');
        process.exitCode = await digestCommand(settings, log, { channel: o.channel, dryRun: o.dryRun });
      } catch (e) {
        fail(e);
      }
    });

  program.command('alerts')
    .description('Run one on-call alert sweep now (the bot\'s sweep: shares its alert state, never posts twice)')
    .option('--dry-run', 'print the Block Kit JSON of the messages it would send; post nothing, claim nothing')
    .action(async (o: { dryRun?: boolean }) => {
      try {
        const settings = settingsWith({});
        const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL });
        const { alertsCommand } = require('./oneShot') as typeof import('./oneShot');
        process.exitCode = await alertsCommand(settings, log, { dryRun: o.dryRun });
      } catch (e) {
        fail(e);
      }
    });

  program.command('doctor')
    .description('Check the setup, one line per check with the fix: settings, state file, source, Slack, chart fonts, Snowflake')
    .action(async () => {
      let settings: Settings;
      try {
        settings = settingsWith({});
      } catch (e) {
        process.stdout.write(`FAIL settings: ${errorText(e).split('\n')[0]} -> fix: correct that variable in the environment or .env (see .env.example)\n`);
        process.exitCode = 2;
        return;
      }
      try {
        process.stdout.write(`ok   settings: valid (source ${settings.KPI_SOURCE}, state file ${settings.KPI_STATE_PATH})\n`);
        const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL });
        const { runDoctor, formatCheck } = require('./doctor') as typeof import('./doctor');
        const results = await runDoctor(settings, log);
        for (const r of results) process.stdout.write(`${formatCheck(r)}\n`);
        const failed = results.filter((r) => !r.ok).length;
        process.stdout.write(failed ? `${failed} of ${results.length + 1} checks failed.\n` : `All ${results.length + 1} checks passed.\n`);
        process.exitCode = failed ? 1 : 0;
      } catch (e) {
        fail(e);
      }
    });

  program.command('serve')
    .description('Start the Slack app (HTTP or Socket Mode) with the digest and alert schedules')
    .option('--port <n>', 'HTTP port (default PORT or 3000)', positiveInt('--port'))
    .option('--state <file>', 'the project\'s state file: run history, digest log, alert state (default KPI_STATE_PATH)')
    .action(async (o: { port?: number; state?: string }) => {
      try {
        const settings = settingsWith({ PORT: o.port?.toString(), KPI_STATE_PATH: o.state });
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
  buildCli().parseAsync(argv).catch((e: unknown) => {
    if (e instanceof CommanderError) usageError(e, argv);
    fail(e);
  });
}

/**
 * A usage error from commander (unknown option or command, a bad or missing value): one line
 * and exit 2, like a bad setting; with --json also one JSON error object on stdout. Help and
 * --version exit as commander says.
 */
function usageError(e: CommanderError, argv: string[]): never {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' || e.exitCode === 0) process.exit(e.exitCode);
  const err = new ConfigError(`${e.message.replace(/^error:\s*/i, '').split('\n')[0]} (see kpi --help)`);
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(failureJson(err))}\n`);
  fail(err);
}
