/**
 * `npm run bench -- digest [--cases N] [--runs R]`: the daily digest job end to end
 * (pipeline on the embedded database, chart, Block Kit post, uploads of the chart and the
 * seven CSVs into the thread) against the loopback fake Slack. Target: within 5 s at
 * 1,000,000 cases.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { silentLogger } from '../src/support/log';
import { runPipeline } from '../src/pipeline/run';
import { seedDemo } from '../src/sources/demo/seed';
import { createSlackClient } from '../src/slack-api/client';
import { createDigestJob } from '../src/jobs/digest';
import { startFakeSlack } from '../test/fakes/slackServer';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};

async function main(): Promise<void> {
  const cases = Number(arg('cases', '1000000'));
  const runs = Number(arg('runs', '3'));
  const out = resolve(__dirname, 'out');
  mkdirSync(out, { recursive: true });
  const source = join(out, `cases_${cases}.duckdb`);
  const asOf = new Date('2026-11-23T12:00:00Z');
  if (!existsSync(source)) await seedDemo({ dbPath: source, cases, seed: 1, now: asOf });
  const fake = await startFakeSlack();
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'kpi-digest-bench-'));
      const db = join(dir, 'kpi.duckdb');
      copyFileSync(source, db);
      const settings = loadSettings({
        KPI_SOURCE: 'duckdb', KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_OUTPUT_DIR: join(dir, 'output'), KPI_AS_OF: asOf.toISOString(),
        SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: fake.url, KPI_DIGEST_CHANNEL: `C0BENCH${i}`, KPI_LOG_LEVEL: 'silent',
      });
      const log = silentLogger();
      const job = createDigestJob({ settings, log, run: runPipeline, slack: createSlackClient(settings, log), clock: () => asOf, maxRetries: 0 });
      const t = performance.now();
      const outcome = await job.runOnce('schedule');
      const ms = performance.now() - t;
      job.stop();
      if (outcome.status !== 'sent') throw new Error(`digest not sent: ${JSON.stringify(outcome)}`);
      times.push(ms);
      console.log(`run ${i + 1}: ${Math.round(ms)} ms; message + ${outcome.files.length} files in its thread`);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await fake.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`\ndigest job end to end at ${cases.toLocaleString('en-US')} cases: median ${Math.round(median)} ms, max ${Math.round(sorted[sorted.length - 1])} ms`);
  console.log(median <= 5000 ? 'OK: within 5 s' : 'TARGET MISSED (5 s)');
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
