/**
 * Alerts once per risk stage (contract 6: risk_stages [50, 75, 90]) on the loopback fake
 * Slack: a case that crosses into a higher stage between two sweeps gets exactly one more
 * reply, in its existing thread; the replies show the policy, the clock state and the stage.
 */
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob } from '../src/jobs/alerts';
import { alertTx } from '../src/alerts/db';
import { alertLevelOf, levelStage } from '../src/contract/alertLevels';
import { parseButtonValue } from '../src/alerts/actions';
import type { AtRiskCase, Priority } from '../src/contract/report';
import {
  Clock, ReportFeed, alertSettings, fakeSleep, fastClient, okCalls, posted, riskCase, T0, useAlertEnv, type TempDb,
} from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => { fake = f; db = d; });

function makeJob(feed: ReportFeed, clock: Clock) {
  const settings = alertSettings(db.dbPath, fake.url);
  const { sleep } = fakeSleep();
  return createAlertJob({ settings, client: fastClient(fake), getReport: feed.get, now: clock.now, sleep, reminderMinutes: 0, quietStart: false });
}

/** A listed case under policy `office` at a stage (100: breached), clock running unless paused. */
function staged(id: string, priority: Priority, hoursToBreach: number, stage: number, asOf: string, paused = false): AtRiskCase {
  const c = riskCase(id, priority, hoursToBreach, asOf, { policy: 'office', calendar: 'emea-office', clock_state: paused ? 'paused' : 'running', risk_stage: stage });
  return paused ? { ...c, due_at: '', hours_to_breach: null as unknown as number } : c;
}

test('the level vocabulary', () => {
  expect(alertLevelOf({ risk_level: 'at_risk' }, 80)).toBe('at_risk');
  expect(alertLevelOf({ risk_level: 'at_risk', risk_stage: 80 }, 80)).toBe('at_risk');
  expect(alertLevelOf({ risk_level: 'at_risk', risk_stage: 75 }, 80)).toBe('stage_75');
  expect(alertLevelOf({ risk_level: 'breached', risk_stage: 100 }, 80)).toBe('breached');
  expect([levelStage('at_risk'), levelStage('stage_90'), levelStage('breached'), levelStage('stage_x')]).toEqual([0, 90, 100, null]);
  expect(parseButtonValue(JSON.stringify({ c: 'A', l: 'stage_75' }))).toEqual({ c: 'A', l: 'stage_75' });
  expect(parseButtonValue(JSON.stringify({ c: 'A', l: 'stage_' }))).toBeNull();
});

test('a stage crossing between two sweeps posts once, in the case\'s thread, with policy, clock state and stage', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);

  // Sweep 1: A at 50%, B at 75%.
  feed.set({ cases: [staged('A', 'P1', 3, 50, T0), staged('B', 'P2', 2, 75, T0)] });
  const r1 = await job.sweep();
  expect(r1.cases).toMatchObject({ newAtRisk: 2, newBreached: 0, replies: 2 });
  let msgs = posted(fake);
  expect(msgs).toHaveLength(3);
  const parent = msgs[0];
  expect(msgs.slice(1).map((m) => m.text.split('\n')[0])).toEqual(['P2 B newly at 75% of target', 'P1 A newly at 50% of target']);
  expect(msgs[2].text).toContain('Policy: office · Clock: running · Stage: 50%');

  // Sweep 2, same stages: nothing.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [staged('A', 'P1', 2.75, 50, clock.value), staged('B', 'P2', 1.75, 75, clock.value)] });
  expect((await job.sweep()).cases).toMatchObject({ newAtRisk: 0, newBreached: 0 });
  expect(posted(fake)).toHaveLength(3);

  // Sweep 3: A crosses into 75%: one notice in the case's thread (its reply is edited), no new parent.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [staged('A', 'P1', 1, 75, clock.value), staged('B', 'P2', 1.5, 75, clock.value)] });
  const r3 = await job.sweep();
  expect(r3.cases).toMatchObject({ newAtRisk: 0, newBreached: 0, threadId: null });
  msgs = posted(fake);
  expect(msgs).toHaveLength(4);
  expect(msgs[3].thread_ts).toBe(parent.ts);
  expect(msgs[3].text.split('\n')[0]).toMatch(/`A` \(P1\) is now at 75% of target: /);
  expect(msgs[3].text).toContain('Policy: office · Clock: running · Stage: 75%');

  // Sweep 4, same again: nothing (once per stage).
  clock.advance(15);
  expect((await job.sweep()).cases).toMatchObject({ newAtRisk: 0, newBreached: 0 });
  expect(posted(fake)).toHaveLength(4);

  // Sweep 5: A reaches 90% while its clock is paused; B stays: one more reply for A.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [staged('A', 'P1', 0.5, 90, clock.value, true), staged('B', 'P2', 1.25, 75, clock.value)] });
  await job.sweep();
  msgs = posted(fake);
  expect(msgs).toHaveLength(5);
  expect(msgs[4].thread_ts).toBe(parent.ts);
  expect(msgs[4].text).toMatch(/`A` \(P1\) is now at 90% of target: clock paused\./);
  expect(msgs[4].text).toContain('Policy: office · Clock: paused · Stage: 90%');

  // A falling back to a lower stage (a changed policy) is not alerted again.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [staged('A', 'P1', 0.5, 75, clock.value), staged('B', 'P2', 1, 75, clock.value)] });
  await job.sweep();
  expect(posted(fake)).toHaveLength(5);

  const rows = await alertTx(db.dbPath, (tx) => tx.q<{ case_id: string; level: string; thread_id: string; policy: string; risk_stage: number }>(
    `SELECT case_id, level, thread_id, policy, risk_stage FROM alert_case ORDER BY case_id, risk_stage`));
  expect(rows.map((r) => [r.case_id, r.level, r.risk_stage])).toEqual([
    ['A', 'stage_50', 50], ['A', 'stage_75', 75], ['A', 'stage_90', 90], ['B', 'stage_75', 75],
  ]);
  expect(new Set(rows.map((r) => r.thread_id)).size).toBe(1);

  // Everything resolves: the thread's parent counts every alert of its cases.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [] });
  const r7 = await job.sweep();
  expect(r7.cases).toMatchObject({ resolved: 4 });
  expect(fake.messagesIn('C0ALERTS01').find((m) => m.ts === parent.ts)!.text).toMatch(/All 2 resolved$/);
  const keys = okCalls(fake, 'chat.postMessage').map((c) => (c.body.metadata as { event_payload: { msg_id: string } }).event_payload.msg_id);
  expect(new Set(keys).size).toBe(keys.length);
});

test('a route with a numeric min_stage stays quiet until a case reaches that risk stage', async () => {
  const QUIET = 'C0QUIETTEAM';
  const settings = alertSettings(db.dbPath, fake.url, { KPI_ALERT_ROUTES: JSON.stringify([{ match: { policy: 'office' }, channel: QUIET, min_stage: '75%' }]) });
  expect(settings.alertRouting!.routes[0].minStage).toBe(75);
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const { sleep } = fakeSleep();
  const job = createAlertJob({ settings, client: fastClient(fake), getReport: feed.get, now: clock.now, sleep, reminderMinutes: 0, quietStart: false });
  // At 50%: not alerted (nor recorded).
  feed.set({ cases: [staged('Q', 'P2', 3, 50, T0)] });
  await job.sweep();
  expect(posted(fake, QUIET)).toHaveLength(0);
  // At 75%: the first alert, in the route's channel; at 90% one more reply; breached one more.
  for (const [stage, hours] of [[75, 2], [90, 1], [100, -1]] as const) {
    clock.advance(15);
    feed.set({ asOf: clock.value, cases: [staged('Q', 'P2', hours, stage, clock.value)] });
    await job.sweep();
  }
  const texts = posted(fake, QUIET).map((m) => m.text.split('\n')[0]);
  // The parent, the case's reply (edited to its current step), one reply at 90% and one at the breach.
  expect(texts).toEqual([
    ':warning: 1 case newly at risk: P2 1',
    'P2 Q breached (alerted at 75% of target)',
    ':large_orange_circle: `Q` (P2) is now at 90% of target: 1h to breach. Its reply above shows the current step.',
    ':red_circle: `Q` (P2) has now breached: breached 1h ago. Its reply above shows the current step.',
  ]);
  expect(() => alertSettings(db.dbPath, fake.url, { KPI_ALERT_ROUTES: '[{"channel":"C1","min_stage":150}]' }))
    .toThrow(/route 1: min_stage "150" is not one of at_risk, breached or a risk stage in percent/);
});
