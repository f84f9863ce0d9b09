/**
 * The real Bolt app in HTTP mode on a loopback port, pointed at the fake Slack Web API.
 * Slash commands are posted signed, as Slack does; the report source is a fake pipeline.
 */
import { createApp, type KpiApp } from '../src/bot/app';
import { ReportService } from '../src/pipeline/runCache';
import { renderCsv } from '../src/render/files/csv';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import {
  BOT_TOKEN, SIGNING_SECRET, fakePipeline, postSlash, sampleReport, sign, sliceOf, slashBody, testSettings, type FakePipeline,
} from './slack-app.helpers';

const FAST_RETRY = { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 50 };
const FAST_RESPOND = { baseDelayMs: 10, maxWaitMs: 2000, retries: 3 };

interface Harness {
  fake: FakeSlack;
  kapp: KpiApp;
  pipe: FakePipeline;
  url: string;
  base: string;
}

async function setup(env: Record<string, string> = {}, pipeDelay = 0): Promise<Harness> {
  const fake = await startFakeSlack({ token: BOT_TOKEN });
  const pipe = fakePipeline(pipeDelay);
  const settings = testSettings({ SLACK_API_URL: fake.url, KPI_ADMINS: 'U0ADMIN001', ...env });
  const kapp = createApp(settings, { runPipeline: pipe.run, retryConfig: FAST_RETRY, respondOptions: FAST_RESPOND });
  const { port } = await kapp.start(0);
  const base = `http://127.0.0.1:${port}`;
  return { fake, kapp, pipe, base, url: `${base}/slack/events` };
}

async function teardown(h: Harness | undefined): Promise<void> {
  if (!h) return;
  await h.kapp.stop();
  await h.fake.close();
}

/** Waits until every acknowledged command has finished its work. */
async function settle(kapp: KpiApp): Promise<void> {
  for (let i = 0; i < 100 && kapp.inflight.size > 0; i++) await Promise.allSettled([...kapp.inflight]);
}

async function slash(h: Harness, text: string, extra: Partial<Parameters<typeof slashBody>[0]> = {}) {
  const responseUrl = h.fake.responseUrl();
  const res = await postSlash(h.url, slashBody({ text, response_url: responseUrl, ...extra }));
  await settle(h.kapp);
  const id = responseUrl.split('/').pop()!;
  const posts = h.fake.responseUrlPosts.filter((p) => p.id === id).map((p) => p.body);
  return { res, posts, last: posts[posts.length - 1] };
}

function blockText(body: { blocks?: unknown[]; text?: string }): string {
  return JSON.stringify(body.blocks ?? []) + (body.text ?? '');
}

describe('Slack app over HTTP (signed slash commands)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setup();
  });
  afterAll(async () => {
    await teardown(h);
  });
  beforeEach(() => {
    h.fake.reset();
  });

  const cases: [string, string, Parameters<typeof renderCsv>[1], string][] = [
    ['summary', 'summary', 'daily_ops_summary', 'Daily ops summary'],
    ['sla', 'sla', 'sla_summary', 'SLA compliance'],
    ['backlog', 'backlog', 'backlog_summary', 'Backlog'],
    ['risk', 'risk', 'sla_at_risk_cases', 'SLA risk'],
    ['trend', 'trend', 'volume_trend', 'Volume trend'],
    ['quality', 'quality', 'data_quality_score', 'Data quality'],
  ];

  test.each(cases)('/kpi %s: ack, ephemeral summary, CSV in a DM with the asker', async (_n, text, file, title) => {
    const { res, posts, last } = await slash(h, text);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(last.response_type).toBe('ephemeral');
    expect(blockText(last)).toContain(title);
    expect(posts.every((p) => !/stack|Error:/.test(JSON.stringify(p)))).toBe(true);
    // The CSV went to the DM with the person who asked (opened once, then remembered).
    const open = h.fake.callsTo('conversations.open').filter((c) => c.ok);
    expect(open.length).toBeLessThanOrEqual(1);
    if (open.length) expect(open[0].body.users).toBe('U0ASKER001');
    const uploads = h.fake.uploads.filter((u) => u.completed);
    expect(uploads).toHaveLength(1);
    expect(uploads[0].channel_id).toBe(h.fake.channelId('DU0ASKER001'));
    expect(uploads[0].filename).toBe(`${file}_2026-11-23_30d.csv`);
    expect(uploads[0].content!.toString('utf8')).toBe(renderCsv(sampleReport('2026-11-23T09:00:00Z', 'run-1'), file));
    expect(blockText(last)).toContain(`${file}_2026-11-23_30d.csv`);
  });

  test('one run serves every answer while fresh (no re-run per command); the DM is opened once per person', async () => {
    await slash(h, 'summary');
    expect(h.fake.callsTo('conversations.open')).toHaveLength(0); // remembered since the first answer
    expect(h.fake.uploads.filter((u) => u.completed)).toHaveLength(1);
    await slash(h, 'summary', { user_id: 'U0OTHER001' });
    expect(h.fake.callsTo('conversations.open').map((c) => c.body.users)).toEqual(['U0OTHER001']);
    expect(h.pipe.runs).toHaveLength(1);
    expect(h.pipe.runs[0].trigger).toBe('slack');
    expect(h.pipe.runs[0].keepData).toBe(true);
  });

  test('risk CSV keeps formula neutralising from the contract writer', async () => {
    await slash(h, 'risk');
    const csv = h.fake.uploads[0].content!.toString('utf8');
    expect(csv.split('\r\n')[1].startsWith(`"'=HYPERLINK(""x"")"`)).toBe(true);
  });

  test('filters are passed to CaseSet.compute and the CSV is that slice', async () => {
    const { last } = await slash(h, 'sla priority=urgent region=EMEA team="Tier 2" days=7');
    expect(h.pipe.computes).toContainEqual({ filter: { priority: 'P1', region: 'EMEA', team: 'Tier 2' }, windowDays: 7 });
    const up = h.fake.uploads.find((u) => u.completed)!;
    expect(up.filename).toBe('sla_summary_2026-11-23_P1_EMEA_team-Tier-2_7d.csv');
    const expected = sliceOf(sampleReport('2026-11-23T09:00:00Z', 'run-1'), { priority: 'P1', region: 'EMEA', team: 'Tier 2' }, 7);
    expect(up.content!.toString()).toBe(renderCsv(expected, 'sla_summary'));
    expect(blockText(last)).toContain('P1 · region EMEA · team Tier 2 · last 7 days');
    // The same slice again is not recomputed.
    const before = h.pipe.computes.length;
    await slash(h, 'sla priority=P1 region=EMEA team="Tier 2" days=7');
    expect(h.pipe.computes.length).toBe(before);
  });

  test('public: answer in the channel and CSV into the channel', async () => {
    const { last } = await slash(h, 'backlog public', { channel_id: 'C0SUPPORT1' });
    expect(last.response_type).toBe('in_channel');
    expect(h.fake.callsTo('conversations.open')).toHaveLength(0);
    const up = h.fake.uploads.find((u) => u.completed)!;
    expect(up.channel_id).toBe('C0SUPPORT1');
    expect(blockText(last)).toContain('posted in this channel');
  });

  test('public in a channel the bot is not in: CSV falls back to the DM, person is told', async () => {
    h.fake.failNext('files.completeUploadExternal', { error: 'not_in_channel' });
    const { posts } = await slash(h, 'sla public', { channel_id: 'C0OTHER001' });
    const done = h.fake.uploads.filter((u) => u.completed);
    expect(done).toHaveLength(1);
    expect(done[0].channel_id).toMatch(/^D/);
    expect(posts.some((p) => /couldn't post the CSV in this channel/.test(p.text))).toBe(true);
  });

  test('help and status need no run and upload nothing', async () => {
    const help = await slash(h, 'help');
    expect(blockText(help.last)).toContain('/kpi sla');
    expect(blockText(help.last)).toContain('priority=P1');
    const empty = await slash(h, '');
    expect(blockText(empty.last)).toContain('Support KPIs');
    const status = await slash(h, 'status');
    const s = blockText(status.last);
    expect(s).toContain('KPI status');
    expect(s).toContain('ok');
    expect(s).toContain('`demo`');
    expect(s).toContain('2026-11-23 09:00 UTC');
    expect(h.fake.uploads).toHaveLength(0);
  });

  test.each([
    ['bogus', 'is not a /kpi subcommand'],
    ['sla priority=P7', 'priority must be P1, P2, P3 or P4'],
    ['sla days=0', 'days must be a whole number from 1 to 365'],
    ['sla days=366', 'days must be a whole number from 1 to 365'],
    ['sla days=abc', 'days must be a whole number'],
    ['sla colour=red', 'Unknown filter'],
    ['status priority=P1', 'takes no filters'],
  ])('bad input "%s" gets an ephemeral usage message', async (text, msg) => {
    const { res, posts, last } = await slash(h, text);
    expect(res.status).toBe(200);
    expect(posts).toHaveLength(1);
    expect(last.response_type).toBe('ephemeral');
    expect(last.text).toContain(msg);
    expect(blockText(last)).toContain('Usage');
    expect(h.fake.uploads).toHaveLength(0);
  });

  test('/kpi run: only admins; an admin forces a fresh run', async () => {
    const runsBefore = h.pipe.runs.length;
    const denied = await slash(h, 'run', { user_id: 'U0ASKER001' });
    expect(denied.last.text).toContain('only KPI admins');
    expect(h.pipe.runs.length).toBe(runsBefore);
    const closedBefore = h.pipe.closed;
    const ok = await slash(h, 'run', { user_id: 'U0ADMIN001' });
    expect(h.pipe.runs.length).toBe(runsBefore + 1);
    expect(blockText(ok.last)).toContain('Fresh run finished');
    expect(ok.posts[0].text).toContain('Crunching fresh numbers');
    const up = h.fake.uploads.find((u) => u.completed)!;
    expect(up.filename).toBe('daily_ops_summary_2026-11-23_30d.csv');
    // The replaced run's cases were released.
    expect(h.pipe.closed).toBe(closedBefore + 1);
  });

  test('forged signature and a six-minute-old timestamp are refused (401), nothing runs', async () => {
    const body = slashBody({ text: 'sla', response_url: h.fake.responseUrl() });
    const now = Math.floor(Date.now() / 1000);
    const forged = await postSlash(h.url, body, { signature: sign(body, now, 'wrong-secret') });
    expect(forged.status).toBe(401);
    const old = now - 6 * 60;
    const stale = await postSlash(h.url, body, { ts: old, signature: sign(body, old) });
    expect(stale.status).toBe(401);
    const tampered = await postSlash(h.url, body.replace('text=sla', 'text=run'), { ts: now, signature: sign(body, now) });
    expect(tampered.status).toBe(401);
    await settle(h.kapp);
    expect(h.fake.responseUrlPosts).toHaveLength(0);
    expect(SIGNING_SECRET).toBeTruthy();
  });

  test('GET /healthz reports the last run and the source', async () => {
    const res = await fetch(`${h.base}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(body).toMatchObject({ ok: true, health: 'ok', mode: 'http', source: 'demo', last_run: { ok: true, as_of: '2026-11-23T09:00:00Z', source: 'demo' } });
    expect(typeof body.last_run.age_seconds).toBe('number');
    expect(body).toHaveProperty('next_run');
  });
});

describe('Slack app: timing, retries, access, errors', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await teardown(h);
    h = undefined;
  });

  test('the ack returns before a slow run finishes; concurrent commands share one run', async () => {
    h = await setup({}, 1500);
    const t0 = Date.now();
    const urls = [h.fake.responseUrl('a'), h.fake.responseUrl('b'), h.fake.responseUrl('c')];
    const acks = await Promise.all(urls.map((u, i) => postSlash(h!.url, slashBody({ text: ['sla', 'risk', 'summary'][i], response_url: u }))));
    const ackedAt = Date.now() - t0;
    for (const a of acks) {
      expect(a.status).toBe(200);
      expect(a.ms).toBeLessThan(1000);
    }
    expect(ackedAt).toBeLessThan(1000);
    // Nothing but the "working" notes has arrived yet.
    expect(h.fake.uploads.filter((u) => u.completed)).toHaveLength(0);
    await settle(h.kapp);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(h.pipe.runs).toHaveLength(1);
    expect(h.fake.uploads.filter((u) => u.completed)).toHaveLength(3);
    for (const id of ['a', 'b', 'c']) {
      const posts = h.fake.responseUrlPosts.filter((p) => p.id === id);
      expect(posts.map((p) => p.body.text)[0]).toContain('Crunching fresh numbers');
      expect(posts).toHaveLength(2);
    }
  });

  test('429 with Retry-After on the Web API and the response_url is retried: nothing lost, nothing duplicated', async () => {
    h = await setup();
    h.fake.failNext('conversations.open', { status: 429, retryAfter: 1 });
    h.fake.failNext('files.completeUploadExternal', { status: 429, retryAfter: 0 });
    h.fake.failNext('files.getUploadURLExternal', { status: 429, retryAfter: 0 });
    // First post to the response_url is the "working" note; rate-limit both it and the answer once.
    h.fake.failNext('respond', { status: 429, retryAfter: 1, times: 2 });
    const t0 = Date.now();
    const { posts, last } = await slash(h, 'trend');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000); // Retry-After was honoured
    expect(h.fake.callsTo('conversations.open').map((c) => c.status)).toEqual([429, 200]);
    expect(h.fake.callsTo('files.completeUploadExternal').map((c) => c.status)).toEqual([429, 200]);
    const done = h.fake.uploads.filter((u) => u.completed);
    expect(done).toHaveLength(1);
    expect(done[0].content!.toString()).toBe(renderCsv(sampleReport('2026-11-23T09:00:00Z', 'run-1'), 'volume_trend'));
    expect(posts.map((p) => p.text.slice(0, 20))).toEqual([expect.stringContaining('Crunching'), expect.stringContaining('Volume trend')]);
    expect(blockText(last)).toContain('Volume trend');
    expect(h.fake.callsTo('respond').filter((c) => c.status === 429)).toHaveLength(2);
  });

  test('KPI_ALLOWED_USERS / KPI_ALLOWED_CHANNELS: others get a polite refusal', async () => {
    h = await setup({ KPI_ALLOWED_USERS: 'U0FRIEND01', KPI_ALLOWED_CHANNELS: 'C0SUPPORT1,#ops' });
    const stranger = await slash(h, 'sla', { user_id: 'U0STRANGER' });
    expect(stranger.last.text).toMatch(/^Sorry, the KPI bot is only open to/);
    const wrongChannel = await slash(h, 'sla', { user_id: 'U0FRIEND01', channel_id: 'C0RANDOM01', channel_name: 'random' });
    expect(wrongChannel.last.text).toContain('not available in this channel');
    const byName = await slash(h, 'help', { user_id: 'U0FRIEND01', channel_id: 'C0OPS00001', channel_name: 'ops' });
    expect(byName.last.text).toContain('/kpi');
    const admin = await slash(h, 'help', { user_id: 'U0ADMIN001', channel_id: 'C0SUPPORT1' });
    expect(admin.last.text).toContain('/kpi');
    expect(h.pipe.runs).toHaveLength(0);
  });

  test('a failing run: short apology with a reference, no stack trace, no secret; /healthz says failing', async () => {
    h = await setup();
    h.pipe.failNext = new Error(`connection refused using token ${BOT_TOKEN}\n    at Object.<anonymous> (/src/x.ts:1:1)`);
    const { last } = await slash(h, 'summary');
    expect(last.text).toMatch(/^Sorry, I couldn't answer \/kpi summary just now.*reference: kpi-[0-9a-f]{8}$/);
    expect(JSON.stringify(last)).not.toContain(BOT_TOKEN);
    expect(JSON.stringify(last)).not.toContain('at Object');
    const health = await fetch(`${h.base}/healthz`);
    expect(health.status).toBe(503);
    const body = (await health.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(body.health).toBe('failing');
    expect(body.last_run.error).not.toContain(BOT_TOKEN);
    // The next question tries again and succeeds.
    const again = await slash(h, 'summary');
    expect(blockText(again.last)).toContain('Daily ops summary');
  });

  test('an injected ReportService is used as is (and not closed by the app)', async () => {
    const fake = await startFakeSlack({ token: BOT_TOKEN });
    const pipe = fakePipeline();
    const settings = testSettings({ SLACK_API_URL: fake.url });
    const reports = new ReportService({ settings, runPipeline: pipe.run });
    const kapp = createApp(settings, { reports, retryConfig: FAST_RETRY, respondOptions: FAST_RESPOND });
    try {
      expect(kapp.reports).toBe(reports);
      await reports.get();
      await kapp.start(0);
      await kapp.stop();
      expect(pipe.closed).toBe(0);
      await reports.close();
      expect(pipe.closed).toBe(1);
    } finally {
      await fake.close();
    }
  });
});
