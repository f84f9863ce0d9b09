/**
 * Pipeline health: a failing source then a recovery gives one failure alert and one
 * recovery message in the ops channel; stale data likewise; getHealth for /kpi status.
 */
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob } from '../src/jobs/alerts';
import { getHealth } from '../src/alerts/health';
import { registerSecrets } from '../src/support/log';
import { SourceError } from '../src/sources/types';
import {
  ALERT_CHANNEL, Clock, OPS_CHANNEL, ReportFeed, alertSettings, fakeSleep, fastClient, posted, riskCase, T0, minutesAfter, useAlertEnv, type TempDb,
} from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => { fake = f; db = d; });

function makeJob(feed: ReportFeed, clock: Clock, env: Record<string, string> = {}) {
  return createAlertJob({
    settings: alertSettings(db.dbPath, fake.url, env), client: fastClient(fake), getReport: feed.get, now: clock.now,
    sleep: fakeSleep().sleep, reminderMinutes: 0, quietStart: false,
  });
}

test('a failing source then a recovery: one failure alert (no secret), no repeats, one recovery message', async () => {
  expect((await getHealth(db.dbPath)).run.status).toBe('unknown');
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);
  feed.set({ cases: [riskCase('A', 'P1', 1)] });
  await job.sweep();
  expect(posted(fake, ALERT_CHANNEL)).toHaveLength(2);
  let h = await getHealth(db.dbPath);
  expect(h).toMatchObject({ ok: true, run: { status: 'ok' }, freshness: { status: 'ok' }, openAlertedCases: 1, pendingMessages: 0 });

  registerSecrets(['sw0rdfish-pass-123']);
  feed.fail(new SourceError('Snowflake unreachable: connect ETIMEDOUT (password sw0rdfish-pass-123, token xoxb-1111-2222-abcdef)'));
  for (let i = 0; i < 4; i++) {
    clock.advance(15);
    const r = await job.sweep();
    expect(r.failure).toContain('SourceError: Snowflake unreachable');
  }
  const ops = posted(fake, OPS_CHANNEL);
  expect(ops).toHaveLength(1);
  expect(ops[0].text).toMatch(/KPI pipeline runs are failing since 2026-11-23 09:15 UTC\nCause: SourceError: Snowflake unreachable: connect ETIMEDOUT/);
  expect(ops[0].text).not.toContain('sw0rdfish');
  expect(ops[0].text).not.toContain('xoxb-1111');
  expect(ops[0].text).toContain('[redacted]');
  h = await getHealth(db.dbPath);
  expect(h.run).toMatchObject({ status: 'failing', since: '2026-11-23T09:15:00Z', incidents: 1 });
  expect(h.ok).toBe(false);
  // The case alert channel stayed quiet; the open alert was not "resolved" by the failure.
  expect(posted(fake, ALERT_CHANNEL)).toHaveLength(2);
  expect(h.openAlertedCases).toBe(1);

  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [riskCase('A', 'P1', 0.5, clock.value)] });
  await job.sweep();
  const ops2 = posted(fake, OPS_CHANNEL);
  expect(ops2).toHaveLength(2);
  expect(ops2[1].thread_ts).toBe(ops2[0].ts);
  expect(ops2[1].text).toBe(':white_check_mark: KPI pipeline runs succeed again (after 1h).');
  expect(fake.messagesIn(OPS_CHANNEL)[1].body.reply_broadcast).toBe('true');
  expect(fake.messagesIn(OPS_CHANNEL)[0].text).toMatch(/^:white_check_mark: Recovered: KPI pipeline runs were failing from 2026-11-23 09:15 UTC to 2026-11-23 10:15 UTC/);
  h = await getHealth(db.dbPath);
  expect(h.run).toMatchObject({ status: 'ok', since: '2026-11-23T10:15:00Z', incidents: 1 });

  // Quiet afterwards.
  clock.advance(15);
  await job.sweep();
  expect(posted(fake, OPS_CHANNEL)).toHaveLength(2);
  expect(posted(fake, ALERT_CHANNEL)).toHaveLength(2);
});

test('stale data: one alert while the newest case is older than KPI_STALE_HOURS, one message when fresh again', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock, { KPI_STALE_HOURS: '6' });
  feed.set({ newestCreatedAt: minutesAfter(T0, -7 * 60) });
  await job.sweep();
  clock.advance(15);
  await job.sweep();
  let ops = posted(fake, OPS_CHANNEL);
  expect(ops).toHaveLength(1);
  expect(ops[0].text).toMatch(/KPI data is stale since 2026-11-23 09:00 UTC\nCause: newest case created 2026-11-23 02:00 UTC, more than 6 h before the check/);
  expect((await getHealth(db.dbPath)).freshness.status).toBe('failing');
  clock.advance(15);
  feed.set({ asOf: clock.value, newestCreatedAt: minutesAfter(clock.value, -10) });
  await job.sweep();
  ops = posted(fake, OPS_CHANNEL);
  expect(ops).toHaveLength(2);
  expect(ops[1].text).toMatch(/^:white_check_mark: KPI data is fresh again: newest case created 2026-11-23 09:20 UTC \(after 30m\)\.$/);
  expect((await getHealth(db.dbPath)).freshness.status).toBe('ok');
});

test('ops alerts fall back to KPI_ALERT_CHANNEL when KPI_OPS_CHANNEL is not set', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const settings = { ...alertSettings(db.dbPath, fake.url), KPI_OPS_CHANNEL: undefined };
  const job = createAlertJob({ settings, client: fastClient(fake), getReport: feed.get, now: clock.now, sleep: fakeSleep().sleep, reminderMinutes: 0, quietStart: false });
  feed.fail(new Error('KPI_SOURCE=csv needs KPI_CSV_PATH'));
  await job.sweep();
  expect(posted(fake, ALERT_CHANNEL).map((m) => m.text.split('\n')[1])).toEqual(['Cause: KPI_SOURCE=csv needs KPI_CSV_PATH']);
});
