/**
 * The one Slack transport of the jobs: a post whose answer was lost is looked up, never
 * posted twice (alerts and digest); Retry-After is honoured and pacing holds after a storm
 * of 429s; the digest and the alerts in one channel share one per-channel pacer.
 */
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob } from '../src/jobs/alerts';
import { createDigestJob } from '../src/jobs/digest';
import { createPostClient } from '../src/slack-api/client';
import { ChannelPacer } from '../src/slack-api/pacer';
import { SlackTransport } from '../src/slack-api/transport';
import { silentLogger } from '../src/support/log';
import { makeReport } from './fixtures/report';
import {
  ALERT_CHANNEL, Clock, ReportFeed, alertSettings, okCalls, posted, riskCase, T0, useAlertEnv, type TempDb,
} from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => {
  fake = f;
  db = d;
  // The fake's ts values are not wall-clock times: answer history look-ups without the `oldest` cut.
  fake.setHandler('conversations.history', (b) => {
    if (!b.oldest) throw new Error('conversations.history without oldest');
    return {
      ok: true, has_more: false,
      messages: fake.messagesIn(String(b.channel)).filter((m) => !m.thread_ts || m.thread_ts === m.ts)
        .map((m) => ({ type: 'message', ts: m.ts, text: m.text, metadata: m.body.metadata })).reverse(),
    };
  });
});

/** A pacer on virtual time: sleeping moves the clock on; `at` lists when each paced call ran. */
function virtualPacer(intervalMs = 1100) {
  let t = Date.parse(T0);
  const waits: number[] = [];
  const pacer = new ChannelPacer({ intervalMs, now: () => t, sleep: async (ms) => { waits.push(ms); t += ms; } });
  return { pacer, waits, now: () => t };
}

const msgIds = () => okCalls(fake, 'chat.postMessage').map((c) => (c.body.metadata as { event_payload: { msg_id: string } }).event_payload.msg_id);

test('the post client does not retry by itself: one call per attempt, 429s handed back', async () => {
  const settings = alertSettings(db.dbPath, fake.url);
  const client = createPostClient(settings, silentLogger());
  fake.failNext('chat.postMessage', { dropAnswer: true });
  await expect(client.chat.postMessage({ channel: ALERT_CHANNEL, text: 'x' })).rejects.toThrow();
  expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
  fake.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
  await expect(client.chat.postMessage({ channel: ALERT_CHANNEL, text: 'y' })).rejects.toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 7 });
  expect(fake.callsTo('chat.postMessage')).toHaveLength(2);
});

test('alerts: a post whose answer was lost is found by the next sweep, not posted twice', async () => {
  const settings = alertSettings(db.dbPath, fake.url);
  const client = createPostClient(settings, silentLogger());
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const { pacer } = virtualPacer();
  const transport = new SlackTransport({ client, pacer });
  // A quiet first sweep with nothing open, so the next one alerts.
  await createAlertJob({ settings, client, transport, getReport: feed.get, now: clock.now, reminderMinutes: 0 }).sweep();
  feed.set({ asOf: clock.advance(15), cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2)] });
  // Slack posts the parent, but its answer never arrives; then a reply's answer is lost too.
  fake.failNext('chat.postMessage', { dropAnswer: true });
  const job = createAlertJob({ settings, client, transport, getReport: feed.get, now: clock.now, reminderMinutes: 0 });
  const r1 = await job.sweep();
  expect(r1.delivery).toMatchObject({ posted: 0, failed: 1 });
  expect(posted(fake)).toHaveLength(1);
  clock.advance(11); // past the lease
  fake.failNext('chat.postMessage', { dropAnswer: true });
  const r2 = await job.sweep();
  expect(r2.delivery!.reconciled).toBe(1);
  clock.advance(11);
  const r3 = await job.sweep();
  expect(r3.delivery).toMatchObject({ pending: 0 });
  // Parent + 2 replies, each once.
  expect(posted(fake)).toHaveLength(3);
  expect(new Set(msgIds()).size).toBe(msgIds().length);
});

test('digest: a post whose answer was lost is looked up and not posted again; its files go into its thread', async () => {
  const settings = alertSettings(db.dbPath, fake.url, { KPI_DIGEST_CHANNEL: ALERT_CHANNEL });
  const client = createPostClient(settings, silentLogger());
  const { pacer } = virtualPacer();
  const transport = new SlackTransport({ client, pacer });
  fake.failNext('chat.postMessage', { dropAnswer: true });
  const job = createDigestJob({
    settings, log: silentLogger(), slack: client, transport, dbPath: db.dbPath, outDir: null, maxRetries: 0,
    clock: () => new Date(T0), run: async () => ({ report: makeReport(), files: [] }),
  });
  const out = await job.runOnce('schedule');
  expect(out.status).toBe('sent');
  if (out.status !== 'sent') return;
  expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
  expect(okCalls(fake, 'conversations.history')).toHaveLength(1);
  expect(posted(fake)).toHaveLength(1);
  expect(out.ts).toBe(posted(fake)[0].ts);
  expect(fake.uploadsIn(ALERT_CHANNEL, out.ts).length).toBe(10); // the trend chart and the nine contract CSVs
  expect(transport.stats.reconciled).toBe(1);
});

test('pacing holds after a storm of 429s: Retry-After is waited, then one message per interval', async () => {
  const settings = alertSettings(db.dbPath, fake.url, { KPI_ALERT_MAX_REPLIES: '5' });
  const client = createPostClient(settings, silentLogger());
  const v = virtualPacer(1100);
  const at: number[] = [];
  const post = client.chat.postMessage.bind(client.chat);
  client.chat.postMessage = ((args: Parameters<typeof post>[0]) => { at.push(v.now()); return post(args); }) as typeof post;
  const transport = new SlackTransport({ client, pacer: v.pacer });
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  await createAlertJob({ settings, client, transport, getReport: feed.get, now: clock.now, reminderMinutes: 0 }).sweep();
  feed.set({ asOf: clock.advance(15), cases: Array.from({ length: 4 }, (_, i) => riskCase(`S${i}`, 'P2', i + 1)) });
  fake.failNext('chat.postMessage', { status: 429, retryAfter: 30, times: 3 });
  at.length = 0;
  const r = await createAlertJob({ settings, client, transport, getReport: feed.get, now: clock.now, reminderMinutes: 0 }).sweep();
  expect(r.delivery).toMatchObject({ posted: 5, failed: 0, pending: 0 });
  expect(r.delivery!.rateLimited).toBe(3);
  // Each 429 pushed the channel back by its Retry-After ...
  expect(v.waits.filter((w) => w >= 30_000)).toHaveLength(3);
  // ... and after the storm the posts are still at least one interval apart.
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1100);
});

test('digest and alerts in one channel share one pacer: never two posts closer than the interval', async () => {
  const settings = alertSettings(db.dbPath, fake.url, { KPI_DIGEST_CHANNEL: ALERT_CHANNEL });
  const client = createPostClient(settings, silentLogger());
  const v = virtualPacer(1100);
  const at: number[] = [];
  const post = client.chat.postMessage.bind(client.chat);
  client.chat.postMessage = ((args: Parameters<typeof post>[0]) => { at.push(v.now()); return post(args); }) as typeof post;
  const transport = new SlackTransport({ client, pacer: v.pacer, upload: async (c, req) => { at.push(v.now()); return (await import('../src/slack-api/client')).uploadFiles(c, req); } });
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const alerts = createAlertJob({ settings, client, transport, getReport: feed.get, now: clock.now, reminderMinutes: 0 });
  await alerts.sweep(); // quiet first sweep on an empty list
  at.length = 0;
  feed.set({ asOf: clock.advance(15), cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2)] });
  const digest = createDigestJob({
    settings, log: silentLogger(), slack: client, transport, dbPath: db.dbPath, outDir: null, maxRetries: 0,
    clock: () => new Date(T0), run: async () => ({ report: makeReport(), files: [] }),
  });
  const [d] = await Promise.all([digest.runOnce('schedule'), alerts.sweep()]);
  expect(d.status).toBe('sent');
  // Digest post + its upload + alert parent + 2 replies, all in one channel, all paced together.
  expect(at).toHaveLength(5);
  const sorted = [...at].sort((a, b) => a - b);
  const gaps = sorted.slice(1).map((t, i) => t - sorted[i]);
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1100);
});
