/**
 * Never twice, never lost: restarts between sweeps, overlapping sweeps, a post that died
 * half-way (before or after Slack accepted it), and a storm of 429s.
 */
import { WebClient } from '@slack/web-api';
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob, type AlertJobDeps } from '../src/jobs/alerts';
import { createSlackClient } from '../src/slack-api/client';
import { silentLogger } from '../src/support/log';
import { alertTx } from '../src/alerts/db';
import { ChannelPacer } from '../src/slack-api/pacer';
import {
  ALERT_CHANNEL, Clock, ReportFeed, alertSettings, fakeSleep, fastClient, okCalls, posted, riskCase, T0, useAlertEnv, type TempDb,
} from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => { fake = f; db = d; });

function makeJob(feed: ReportFeed, clock: Clock, over: Partial<AlertJobDeps> = {}) {
  const settings = alertSettings(db.dbPath, fake.url);
  return createAlertJob({ settings, client: fastClient(fake), getReport: feed.get, now: clock.now, sleep: fakeSleep().sleep, reminderMinutes: 0, quietStart: false, ...over });
}

const msgIds = () => okCalls(fake, 'chat.postMessage').map((c) => (c.body.metadata as { event_payload: { msg_id: string } }).event_payload.msg_id);
const pendingCount = async () => (await alertTx(db.dbPath, (tx) => tx.q<{ n: number }>(`SELECT count(*) AS n FROM alert_outbox WHERE state = 'pending'`)))[0].n;

test('a restart between sweeps (new job instance, same database file) posts nothing twice', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  feed.set({ cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', -1)] });
  await makeJob(feed, clock).sweep();
  expect(posted(fake)).toHaveLength(3);

  clock.advance(15);
  const second = makeJob(feed, clock); // "restarted process"
  await second.sweep();
  expect(posted(fake)).toHaveLength(3);

  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [riskCase('A', 'P1', -0.5, clock.value), riskCase('B', 'P2', -1.5, clock.value)] });
  await makeJob(feed, clock).sweep();
  await makeJob(feed, clock).sweep();
  expect(posted(fake)).toHaveLength(4); // A's breach: one notice in A's thread (its reply is edited)
  expect(new Set(msgIds()).size).toBe(msgIds().length);
});

test('overlapping sweeps (two job instances at once on the same file) alert once', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  feed.set({ cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2), riskCase('C', 'P3', -1)] });
  const [r1, r2] = await Promise.all([makeJob(feed, clock).sweep(), makeJob(feed, clock).sweep()]);
  expect([r1.cases?.threadId, r2.cases?.threadId].filter(Boolean)).toHaveLength(1);
  expect(posted(fake)).toHaveLength(4);
  expect(new Set(msgIds()).size).toBe(4);
  // The same instance never runs two sweeps at once.
  const job = makeJob(feed, clock);
  const [a, b] = await Promise.all([job.sweep(), job.sweep()]);
  expect([a.skipped, b.skipped]).toContain('overlap');
});

test('a post interrupted after Slack accepted it is found, not posted again; one interrupted before is posted once', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  feed.set({ cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2), riskCase('C', 'P3', 3)] });
  // Process 1: Slack accepts the parent and the first reply, then the connection "dies"
  // before the answer reaches us; then it hangs for ever on the second reply (a crash).
  const client1 = fastClient(fake);
  const post = client1.chat.postMessage.bind(client1.chat);
  let n = 0;
  client1.chat.postMessage = (async (args: Parameters<typeof post>[0]) => {
    n += 1;
    if (n === 2) {
      await post(args);
      throw Object.assign(new Error('socket hang up'), { code: 'slack_webapi_request_error' });
    }
    if (n === 3) return new Promise(() => undefined); // never answers: the process is gone
    return post(args);
  }) as typeof client1.chat.postMessage;
  const job1 = makeJob(feed, clock, { client: client1 });
  void job1.sweep();
  await fake.waitFor('chat.postMessage', 2);
  await new Promise((r) => setTimeout(r, 300));
  expect(posted(fake)).toHaveLength(2); // parent + reply 1 are in Slack; we only know about the parent
  expect(await pendingCount()).toBe(3); // reply 1 (unconfirmed), reply 2 (claimed by the dead sweep), reply 3

  // A new process 5 minutes later: reply 1 is free (its attempt failed) and is found in
  // Slack; replies 2-3 are still leased to the dead sweep.
  clock.advance(5);
  const r2 = await makeJob(feed, clock).sweep();
  expect(r2.delivery).toMatchObject({ reconciled: 1, posted: 0 });
  expect(posted(fake)).toHaveLength(2);

  // After the lease (10 min): taken over, looked up (not there), posted once.
  clock.advance(11);
  const r3 = await makeJob(feed, clock).sweep();
  expect(r3.delivery).toMatchObject({ posted: 2, pending: 0 });
  expect(posted(fake)).toHaveLength(4);
  expect(new Set(msgIds()).size).toBe(4);
  expect(okCalls(fake, 'conversations.replies').length).toBeGreaterThanOrEqual(2);
});

test('a storm of 429s: every message delivered exactly once (WebClient retries, then ours)', async () => {
  const settings = alertSettings(db.dbPath, fake.url, { KPI_ALERT_MAX_REPLIES: '5' });
  // The project's client: WebClient waits Retry-After itself and gives up after 2 retries; we retry on top.
  const client = createSlackClient(settings, silentLogger(), { retryConfig: { retries: 2, minTimeout: 1, maxTimeout: 2, factor: 1 } });
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  feed.set({ cases: Array.from({ length: 8 }, (_, i) => riskCase(`S${i}`, 'P2', i - 2)) });
  fake.failNext('chat.postMessage', { status: 429, retryAfter: 0, times: 25 });
  fake.failNext('files.getUploadURLExternal', { status: 429, retryAfter: 0, times: 4 });
  fake.failNext('files.completeUploadExternal', { status: 429, retryAfter: 0, times: 4 });
  const { sleep } = fakeSleep();
  const job = createAlertJob({ settings, client, getReport: feed.get, now: clock.now, sleep, reminderMinutes: 0, quietStart: false });
  const r = await job.sweep();
  expect(r.delivery).toMatchObject({ posted: 6, uploads: 1, failed: 0, pending: 0 });
  expect(r.delivery!.rateLimited).toBeGreaterThan(0);
  expect(fake.callsTo('chat.postMessage').filter((c) => c.status === 429)).toHaveLength(25);
  expect(posted(fake)).toHaveLength(6);
  expect(new Set(msgIds()).size).toBe(6);
  expect(fake.uploads.filter((u) => u.completed)).toHaveLength(1);

  // Edits under 429s too: all replies resolve.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [] });
  fake.failNext('chat.update', { status: 429, retryAfter: 0, times: 9 });
  const r2 = await job.sweep();
  expect(r2.delivery).toMatchObject({ updated: 6, failed: 0 });
});

test('Retry-After is honoured (through the pacer, no real waiting); beyond the retry budget a message waits for the next sweep', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  feed.set({ cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2)] });
  // Virtual time: sleeping moves the pacer's clock on.
  let t = Date.parse(T0);
  const waits: number[] = [];
  const pacer = new ChannelPacer({ now: () => t, sleep: async (ms) => { waits.push(ms); t += ms; } });
  fake.failNext('chat.postMessage', { status: 429, retryAfter: 30, times: 2 });
  const job = makeJob(feed, clock, { pacer, maxRateLimitRetries: 3 });
  const r = await job.sweep();
  expect(r.delivery).toMatchObject({ posted: 3, rateLimited: 2, pending: 0 });
  expect(job.pacer.waitedMs).toBeGreaterThanOrEqual(60_000);
  expect(waits.filter((w) => w >= 29_000)).toEqual([30_000, 30_000]);
  expect(waits.filter((w) => w < 29_000).every((w) => w <= 1100)).toBe(true);

  // A long storm: more 429s than the budget. Nothing is dropped: the rest goes out next sweep.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2), riskCase('C', 'P3', -1)] });
  fake.failNext('chat.postMessage', { status: 429, retryAfter: 1, times: 6 });
  const r2 = await job.sweep();
  expect(r2.delivery).toMatchObject({ posted: 0, failed: 1, pending: 2 });
  clock.advance(15);
  const r3 = await job.sweep();
  expect(r3.delivery).toMatchObject({ posted: 2, pending: 0, reconciled: 0 });
  expect(posted(fake)).toHaveLength(5);
  expect(new Set(msgIds()).size).toBe(5);
});

test('pacing: about one message per second per channel (injected clock)', async () => {
  const feed = new ReportFeed();
  let t = Date.parse(T0);
  const sleeps: number[] = [];
  const pacer = new ChannelPacer({ intervalMs: 1100, now: () => t, sleep: async (ms) => { sleeps.push(ms); t += ms; } });
  feed.set({ cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2), riskCase('C', 'P3', 3)] });
  const clock = new Clock(T0);
  const job = makeJob(feed, clock, { pacer, client: new WebClient('xoxb-test-token', { slackApiUrl: fake.url, retryConfig: { retries: 0 } }) });
  await job.sweep();
  expect(posted(fake)).toHaveLength(4);
  // 4 posts in one channel: 3 waits of 1.1 s between them.
  expect(sleeps).toEqual([1100, 1100, 1100]);
  expect(posted(fake, ALERT_CHANNEL).every((m) => m.text.length > 0)).toBe(true);
});
