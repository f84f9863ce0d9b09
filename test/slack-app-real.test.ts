/**
 * The Slack app on the real pipeline: a small seeded demo DuckDB file, the real Bolt app
 * over HTTP, the fake Slack Web API. The CSV a slash command uploads equals what the
 * pipeline computes for that slice on its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type KpiApp } from '../src/bot/app';
import { runPipeline } from '../src/pipeline/run';
import { seedDemo } from '../src/sources/demo/seed';
import { renderCsv } from '../src/render/files/csv';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { BOT_TOKEN, postSlash, slashBody, testSettings } from './slack-app.helpers';

describe('Slack app on the real pipeline (demo DuckDB)', () => {
  let dir: string;
  let fake: FakeSlack;
  let kapp: KpiApp;
  let url: string;
  let base: string;
  const asOf = '2026-11-23T09:00:00Z';
  let settings: ReturnType<typeof testSettings>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kpi-slack-real-'));
    const dbPath = join(dir, 'kpi.duckdb');
    await seedDemo({ dbPath, cases: 3000, seed: 7, now: new Date(asOf) });
    fake = await startFakeSlack({ token: BOT_TOKEN });
    settings = testSettings({
      SLACK_API_URL: fake.url, KPI_SOURCE: 'demo', KPI_DB_PATH: dbPath, KPI_STATE_PATH: dbPath, KPI_OUTPUT_DIR: join(dir, 'out'),
      KPI_AS_OF: asOf, KPI_DEMO_CASES: '3000', KPI_DEMO_SEED: '7',
    });
    kapp = createApp(settings, { retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 }, respondOptions: { baseDelayMs: 10 } });
    const { port } = await kapp.start(0);
    base = `http://127.0.0.1:${port}`;
    url = `${base}/slack/events`;
  });
  afterAll(async () => {
    await kapp?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ask(text: string) {
    const responseUrl = fake.responseUrl();
    const res = await postSlash(url, slashBody({ text, response_url: responseUrl }));
    expect(res.status).toBe(200);
    for (let i = 0; i < 100 && kapp.inflight.size; i++) await Promise.allSettled([...kapp.inflight]);
    const id = responseUrl.split('/').pop();
    return fake.responseUrlPosts.filter((p) => p.id === id).map((p) => p.body);
  }

  test('summary and a filtered sla slice match the pipeline; status shows the run', async () => {
    const posts = await ask('summary');
    expect(posts.at(-1)!.text).toContain('Daily ops summary');
    const filtered = await ask('sla priority=P1 days=7');
    expect(JSON.stringify(filtered.at(-1)!.blocks)).toContain('SLA compliance — P1 · last 7 days');

    // The same slice computed directly by the pipeline.
    const direct = await runPipeline({ settings, outDir: null, recordHistory: false, keepData: true, trigger: 'test' });
    try {
      const full = direct.report;
      const p1 = await direct.data!.compute({ priority: 'P1' }, { windowDays: 7 });
      const uploads = fake.uploads.filter((u) => u.completed);
      expect(uploads.map((u) => u.filename)).toEqual(['daily_ops_summary_2026-11-23_30d.csv', 'sla_summary_2026-11-23_P1_7d.csv']);
      expect(uploads[0].content!.toString()).toBe(renderCsv(full, 'daily_ops_summary'));
      expect(uploads[1].content!.toString()).toBe(renderCsv(p1, 'sla_summary'));
      expect(p1.slaSummary.map((r) => r.priority)).toEqual(['P1', 'ALL']);
    } finally {
      direct.data?.close();
    }

    const status = await ask('status');
    const s = JSON.stringify(status.at(-1)!.blocks);
    expect(s).toContain('demo:');
    expect(s).toContain('as of 2026-11-23 09:00 UTC');
    const health = (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean; last_run: { as_of: string; ok: boolean } };
    expect(health).toMatchObject({ ok: true, last_run: { ok: true, as_of: asOf } });
  });
});
