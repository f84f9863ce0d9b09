/** serve(): the app plus schedules in one process, listening, answering, stopping cleanly. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../src/app/serve';
import { silentLogger } from '../src/support/log';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { BOT_TOKEN, fakePipeline, postSlash, slashBody, testSettings } from './slack-app.helpers';

describe('serve()', () => {
  let fake: FakeSlack;
  let dir: string;
  beforeEach(async () => {
    fake = await startFakeSlack({ token: BOT_TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'kpi-serve-'));
  });
  afterEach(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('HTTP mode with digest and alert schedules: healthz shows next runs; a command is answered; stop() ends it', async () => {
    const pipe = fakePipeline();
    const settings = testSettings({
      SLACK_API_URL: fake.url, KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb'), KPI_OUTPUT_DIR: join(dir, 'out'),
      // A schedule that is not due today, so nothing is sent on start.
      KPI_DIGEST_CHANNEL: '#kpi-daily', KPI_DIGEST_CRON: '59 23 31 12 *', KPI_TZ: 'UTC',
      KPI_ALERT_CHANNEL: '#oncall', KPI_ALERT_CRON: '0 0 1 1 *',
    });
    const handle = await serve(settings, { log: silentLogger(), port: 0 }, {
      runPipeline: pipe.run, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 }, respondOptions: { baseDelayMs: 10 },
    });
    try {
      expect(handle.port).toBeGreaterThan(0);
      const h = (await (await fetch(`http://127.0.0.1:${handle.port}/healthz`)).json()) as { next_runs: { name: string; at: string }[]; next_run: string };
      expect(h.next_runs.map((n) => n.name)).toEqual(['digest', 'alerts']);
      expect(h.next_runs[0].at).toMatch(/-12-31T23:59:00Z$/);
      expect(h.next_run).toBe(h.next_runs.map((n) => n.at).sort()[0]);

      const res = await postSlash(`http://127.0.0.1:${handle.port}/slack/events`, slashBody({ text: 'status', response_url: fake.responseUrl('s') }));
      expect(res.status).toBe(200);
      await fake.waitFor('respond', 1, 5000);
      const body = JSON.stringify(fake.responseUrlPosts[0].body.blocks);
      expect(body).toContain('digest:');
      expect(body).toContain('alerts:');
      expect(fake.messages).toHaveLength(0); // no digest was due
    } finally {
      await handle.stop();
    }
    await expect(fetch(`http://127.0.0.1:${handle.port}/healthz`)).rejects.toThrow();
  });

  test("the digest's run answers the /kpi commands after it (no second run)", async () => {
    const pipe = fakePipeline();
    const settings = testSettings({
      SLACK_API_URL: fake.url, KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb'), KPI_OUTPUT_DIR: join(dir, 'out'),
      // Due every day at 00:00 UTC: the catch-up on start sends today's digest.
      KPI_DIGEST_CHANNEL: '#kpi-daily', KPI_DIGEST_CRON: '0 0 * * *', KPI_TZ: 'UTC', KPI_CACHE_MINUTES: '60',
    });
    const handle = await serve(settings, { log: silentLogger(), port: 0 }, {
      runPipeline: pipe.run, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 20 }, respondOptions: { baseDelayMs: 10 },
    });
    try {
      await fake.waitFor('chat.postMessage', 1, 10_000);
      expect(pipe.runs).toHaveLength(1);
      expect(pipe.runs[0]).toMatchObject({ trigger: 'schedule', keepData: true });
      await postSlash(`http://127.0.0.1:${handle.port}/slack/events`, slashBody({ text: 'sla priority=P1', response_url: fake.responseUrl('s') }));
      await fake.waitFor('respond', 1, 5000);
      expect(pipe.runs).toHaveLength(1); // answered from the digest's run
      expect(pipe.computes).toEqual([{ filter: { priority: 'P1' }, windowDays: undefined }]);
    } finally {
      await handle.stop();
    }
    expect(pipe.closed).toBe(1); // the adopted cases are released on stop
  });

  test('a bad bot token fails start with Slack\'s error, and nothing is left listening', async () => {
    const settings = testSettings({ SLACK_API_URL: fake.url, SLACK_BOT_TOKEN: 'xoxb-wrong-token', KPI_ALERTS_ENABLED: 'false' });
    await expect(serve(settings, { log: silentLogger(), port: 0 }, { runPipeline: fakePipeline().run, retryConfig: { retries: 0 } }))
      .rejects.toThrow(/could not start.*invalid_auth/);
  });
});
