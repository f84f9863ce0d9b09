/**
 * Acknowledge and Snooze through signed interaction payloads into the real Bolt HTTP
 * receiver (port 0): the signature is checked, the state recorded, the message edited;
 * a snoozed case gets no escalation reminder for an hour.
 */
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { createAlertJob } from '../src/jobs/alerts';
import { register as registerAlertActions } from '../src/bot/listeners/actions';
import { alertTx } from '../src/alerts/db';
import {
  ALERT_CHANNEL, Clock, ReportFeed, addHistory, alertSettings, fakeSleep, fastClient, okCalls, posted, riskCase, tempDb, T0,
} from './fixtures/alertReports';

const SIGNING_SECRET = 'test-signing-secret-0123456789';

let fake: FakeSlack;
let db: ReturnType<typeof tempDb>;
let app: App;
let server: Server;
let url: string;
let clock: Clock;

beforeEach(async () => {
  fake = await startFakeSlack();
  addHistory(fake);
  db = tempDb();
  clock = new Clock(T0);
  app = new App({
    token: 'xoxb-test-token', signingSecret: SIGNING_SECRET, tokenVerificationEnabled: false, botId: 'B0FAKEBOT1', botUserId: 'U0FAKEBOT1',
    clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 } }, logLevel: LogLevel.ERROR,
  });
  registerAlertActions(app, { dbPath: db.dbPath, tz: 'UTC', now: clock.now });
  server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});
afterEach(async () => {
  await app.stop();
  await fake.close();
  db.cleanup();
});

function sign(body: string, ts: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
}

async function click(actionId: string, value: string, messageTs: string, user = 'U0ONCALL01', secret = SIGNING_SECRET): Promise<number> {
  const payload = {
    type: 'block_actions', team: { id: 'T0FAKE0001', domain: 'fake' }, user: { id: user, username: 'oncall', team_id: 'T0FAKE0001' },
    api_app_id: 'A0FAKEAPP1', token: 'legacy', trigger_id: '123.456.abc', response_url: fake.responseUrl(),
    container: { type: 'message', message_ts: messageTs, channel_id: ALERT_CHANNEL, is_ephemeral: false },
    channel: { id: ALERT_CHANNEL, name: 'alerts' }, message: { type: 'message', ts: messageTs, text: 'x' },
    actions: [{ type: 'button', action_id: actionId, block_id: 'kpi_alert:at_risk', value, action_ts: '1700000000.000001', text: { type: 'plain_text', text: 'b' } }],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(url, {
    method: 'POST', body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sign(body, ts, secret) },
  });
  await res.text();
  return res.status;
}

function buttonValue(msgIndex: number, actionId: string): string {
  const m = fake.messagesIn(ALERT_CHANNEL)[msgIndex];
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions')!;
  return actions.elements!.find((e) => e.action_id === actionId)!.value;
}

const caseRow = async (id: string) => (await alertTx(db.dbPath, (tx) => tx.q<Record<string, unknown>>(`SELECT * FROM alert_case WHERE case_id = $1`, [id])))[0];

test('Acknowledge and Snooze: signed payloads record who and when and edit the message; a bad signature is refused', async () => {
  const feed = new ReportFeed();
  feed.set({ cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2), riskCase('C', 'P3', 3)] });
  const job = createAlertJob({ settings: alertSettings(db.dbPath, fake.url), client: fastClient(fake), getReport: feed.get, now: clock.now, sleep: fakeSleep().sleep, reminderMinutes: 60, quietStart: false });
  await job.sweep();
  const msgs = posted(fake);
  expect(msgs).toHaveLength(4);
  const [aTs, bTs] = [msgs[1].ts, msgs[2].ts];

  // Forged signature: 401, nothing recorded.
  expect(await click('kpi_alert_ack', buttonValue(1, 'kpi_alert_ack'), aTs, 'U0ATTACKER', 'wrong-secret')).toBe(401);
  expect((await caseRow('A')).acked_by).toBeNull();

  clock.advance(5);
  expect(await click('kpi_alert_ack', buttonValue(1, 'kpi_alert_ack'), aTs)).toBe(200);
  await fake.waitFor('chat.update', 1);
  expect(await caseRow('A')).toMatchObject({ acked_by: 'U0ONCALL01', acked_at: '2026-11-23T09:05:00Z' });
  const a = fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === aTs)!;
  expect(a.text).toContain('Acknowledged by <@U0ONCALL01> at 2026-11-23 09:05 UTC');
  expect((a.blocks as { type: string }[]).some((b) => b.type === 'actions')).toBe(false);

  clock.advance(5);
  expect(await click('kpi_alert_snooze', buttonValue(2, 'kpi_alert_snooze'), bTs, 'U0ONCALL02')).toBe(200);
  await fake.waitFor('chat.update', 2);
  expect(await caseRow('B')).toMatchObject({ snoozed_by: 'U0ONCALL02', snoozed_until: '2026-11-23T10:10:00Z' });
  expect(fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === bTs)!.text).toContain('Reminders snoozed until 2026-11-23 10:10 UTC by <@U0ONCALL02>');

  // The sweeps have nothing left to edit (the handler recorded what it showed).
  clock.advance(5);
  await job.sweep();
  expect(okCalls(fake, 'chat.update')).toHaveLength(2);

  // 60 min after the alert: a reminder for C only (A acknowledged, B snoozed).
  clock.set('2026-11-23T10:00:00Z');
  const r = await job.sweep();
  expect(r.reminders).toBe(1);
  let all = posted(fake);
  expect(all).toHaveLength(5);
  expect(all[4].thread_ts).toBe(msgs[0].ts);
  expect(all[4].text).toMatch(/Still unacknowledged after 1h: `C` \(P3, at risk\)\. /);
  // Shortly after: no repeat (C reminded, B still snoozed).
  clock.set('2026-11-23T10:05:00Z');
  await job.sweep();
  expect(posted(fake)).toHaveLength(5);
  // B's snooze ran out at 10:10: B is reminded now (once).
  clock.set('2026-11-23T10:30:00Z');
  await job.sweep();
  await job.sweep();
  all = posted(fake);
  expect(all).toHaveLength(6);
  expect(all[5].text).toMatch(/Still unacknowledged after 1h: `B` \(P2, at risk\)\. /);
  // An hour after C's reminder: C again, not B (reminded 30 min ago), not A (acknowledged).
  clock.set('2026-11-23T11:00:00Z');
  await job.sweep();
  all = posted(fake);
  expect(all).toHaveLength(7);
  expect(all[6].text).toMatch(/Still unacknowledged after 1h: `C` \(P3, at risk\)\. /);
});
