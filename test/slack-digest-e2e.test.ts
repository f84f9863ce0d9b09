/**
 * The digest job on the real pipeline: a seeded demo DuckDB file, the fake Slack Web API.
 * Two days of digests: the CSVs in the thread equal the files the pipeline wrote, the run
 * history is recorded, and the second day's digest shows changes vs the first.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { silentLogger } from '../src/support/log';
import { runPipeline } from '../src/pipeline/run';
import { seedDemo } from '../src/sources/demo/seed';
import { createSlackClient } from '../src/slack-api/client';
import { createDigestJob } from '../src/jobs/digest';
import { readDigestLog } from '../src/jobs/digestLog';
import { lastRun } from '../src/pipeline/runHistory';
import { REPORT_FILES } from '../src/render/files/csv';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { expectWithinLimits } from './fixtures/blockLimits';

const TOKEN = 'xoxb-e2e-digest-token';

describe('digest job on the real pipeline', () => {
  let dir: string;
  let fake: FakeSlack;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'digest-e2e-'));
    await seedDemo({ dbPath: join(dir, 'kpi.duckdb'), cases: 3000, seed: 7, now: new Date('2026-11-23T09:00:00Z') });
    fake = await startFakeSlack({ token: TOKEN });
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('two days of digests with CSVs equal to output/ and deltas from run history', async () => {
    const db = join(dir, 'kpi.duckdb');
    const out = join(dir, 'out');
    const settings = loadSettings({
      SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: fake.url, KPI_SOURCE: 'demo', KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_OUTPUT_DIR: out,
      KPI_DEMO_CASES: '3000', KPI_DEMO_SEED: '7', KPI_TZ: 'Europe/Berlin', KPI_DIGEST_CHANNEL: 'C0DIGEST01',
      KPI_DIGEST_CRON: '0 8 * * *',
    });
    const log = silentLogger();
    const slack = createSlackClient(settings, log, { retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20, factor: 1 } });
    let now = new Date('2026-11-22T07:00:00Z');
    const job = createDigestJob({ settings, log, run: runPipeline, slack, clock: () => now, maxRetries: 0 });

    const day1 = await job.runOnce('schedule');
    expect(day1).toMatchObject({ status: 'sent', date: '2026-11-22' });
    expect(await lastRun(db)).toMatchObject({ ok: true, trigger: 'schedule', as_of: '2026-11-22T07:00:00Z' });

    now = new Date('2026-11-23T07:00:00Z');
    const day2 = await job.runOnce('schedule');
    expect(day2).toMatchObject({ status: 'sent', date: '2026-11-23' });
    if (day2.status !== 'sent') return;

    const msgs = fake.messagesIn('C0DIGEST01').filter((m) => !m.thread_ts);
    expect(msgs).toHaveLength(2);
    expectWithinLimits(msgs[1].blocks!);
    const blocks = JSON.stringify(msgs[1].blocks);
    expect(blocks).toContain('Mon 23 Nov 2026 · DEMO DATA'); // the demo source says so in the header
    expect(blocks).toContain('vs the run of 2026-11-22 08:00');
    expect(blocks).toMatch(/[▲▼=]/);

    // the thread's CSVs are byte-identical to the files the pipeline wrote for day 2
    const ups = fake.uploadsIn('C0DIGEST01', day2.ts);
    // two charts (trend, SLA compliance per day) and the CSVs
    expect(ups).toHaveLength(2 + Object.keys(REPORT_FILES).length);
    expect(ups.filter((u) => u.filename.endsWith('.png')).map((u) => u.filename)).toEqual(['trend.png', 'sla_compliance.png']);
    for (const f of Object.keys(REPORT_FILES)) {
      const up = ups.find((u) => u.filename === `${f}.csv`)!;
      expect(up.content!.toString('utf8')).toBe(readFileSync(join(out, `${f}.csv`), 'utf8'));
    }
    expect((await readDigestLog(db)).map((r) => [r.digest_date, r.ts !== null])).toEqual([['2026-11-22', true], ['2026-11-23', true]]);

    // restart on day 2: nothing more is posted
    expect(await createDigestJob({ settings, log, run: runPipeline, slack, clock: () => now }).catchUpOnStart())
      .toMatchObject({ status: 'skipped', reason: 'already-sent' });
    expect(fake.messagesIn('C0DIGEST01').filter((m) => !m.thread_ts)).toHaveLength(2);
  });
});
