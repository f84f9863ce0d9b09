/**
 * Volume-anomaly alerts (contract 7) on the loopback fake Slack: one alert per scope and day
 * in the alert channel, high and low; a low one also in the ops channel; quiet when nothing
 * is anomalous and on later sweeps of the same day.
 */
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob } from '../src/jobs/alerts';
import { ALERT_CHANNEL, Clock, OPS_CHANNEL, ReportFeed, alertSettings, fakeSleep, fastClient, posted, T0, useAlertEnv, type TempDb } from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => { fake = f; db = d; });

function makeJob(feed: ReportFeed, clock: Clock, env: Record<string, string> = {}) {
  const settings = alertSettings(db.dbPath, fake.url, env);
  const { sleep } = fakeSleep();
  return createAlertJob({ settings, client: fastClient(fake), getReport: feed.get, now: clock.now, sleep, reminderMinutes: 0 });
}

test('quiet when no scope is anomalous', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);
  feed.set({ anomalies: [{ scope: 'ALL', is_anomaly: false }, { scope: 'P1', is_anomaly: false }] });
  const r = await job.sweep();
  expect(r.anomalies).toEqual([]);
  expect(fake.messagesIn(ALERT_CHANNEL)).toHaveLength(0);
  expect(fake.messagesIn(OPS_CHANNEL)).toHaveLength(0);
});

test('one alert per scope and day, high and low; a low one also goes to the ops channel; nothing twice', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);
  feed.set({
    anomalies: [
      { scope: 'ALL', created: 507, baseline_median: 326.5, baseline_low: 263.26, baseline_high: 389.74, z_score: 9.99, is_anomaly: true, direction: 'high' },
      { scope: 'P1', created: 20, baseline_median: 19.5, is_anomaly: false },
      { scope: 'P2', created: 41, baseline_median: 145, baseline_low: 120.2, baseline_high: 169.8, z_score: -14.68, is_anomaly: true, direction: 'low' },
    ],
  });
  const r1 = await job.sweep();
  expect(r1.anomalies).toEqual(['anomaly:ALL:2026-11-22', 'anomaly:P2:2026-11-22', 'anomaly-ops:P2:2026-11-22']);
  const alerts = fake.messagesIn(ALERT_CHANNEL);
  expect(alerts.map((m) => String(m.text).split('\n').slice(0, 2))).toEqual([
    [':small_red_triangle: Intake above normal on Sunday 2026-11-22', 'Sunday: 507 cases created, expected 263-390 from the last 6 Sundays (+55%) · robust z 9.99'],
    [':small_red_triangle_down: Intake dropped in P2 on Sunday 2026-11-22', 'Sunday: P2 intake dropped: 41 cases created, expected 120-170 from the last 6 Sundays (-72%) · robust z -14.68'],
  ]);
  expect(alerts.every((m) => m.thread_ts === undefined)).toBe(true);
  const ops = fake.messagesIn(OPS_CHANNEL);
  expect(ops).toHaveLength(1);
  expect(ops[0].text).toContain('Intake dropped in P2 on Sunday 2026-11-22');
  expect(ops[0].text).toContain('the source stopped delivering');

  // Later sweeps on the same day: nothing new.
  clock.advance(15);
  const r2 = await job.sweep();
  expect(r2.anomalies).toEqual([]);
  expect(fake.messagesIn(ALERT_CHANNEL)).toHaveLength(2);
  expect(fake.messagesIn(OPS_CHANNEL)).toHaveLength(1);

  // The next day's anomaly is a new alert.
  clock.advance(24 * 60);
  feed.set({ asOf: clock.value, anomalies: [{ scope: 'ALL', date: '2026-11-23', weekday: 'Monday', created: 900, baseline_median: 600, baseline_low: 500, baseline_high: 700, z_score: 10.5, is_anomaly: true, direction: 'high' }] });
  const r3 = await job.sweep();
  expect(r3.anomalies).toEqual(['anomaly:ALL:2026-11-23']);
  expect(posted(fake).filter((m) => m.text.includes('Intake above normal'))).toHaveLength(2);
});

test('without a separate ops channel a low anomaly is posted once, in the alert channel', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock, { KPI_OPS_CHANNEL: '' });
  feed.set({ anomalies: [{ scope: 'ALL', created: 3, baseline_median: 200, baseline_low: 150.5, baseline_high: 249.5, z_score: -13.93, is_anomaly: true, direction: 'low' }] });
  const r = await job.sweep();
  expect(r.anomalies).toEqual(['anomaly:ALL:2026-11-22']);
  expect(fake.messagesIn(ALERT_CHANNEL).map((m) => String(m.text).split('\n')[1])).toEqual(['Sunday: intake dropped: 3 cases created, expected 151-250 from the last 6 Sundays (-99%) · robust z -13.93']);
});
