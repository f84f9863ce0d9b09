/**
 * A sequence of sweeps over evolving data on the loopback fake Slack: exactly the expected
 * posts and edits, nothing twice, nothing when nothing is new.
 */
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob } from '../src/jobs/alerts';
import { alertTx } from '../src/alerts/db';
import {
  ALERT_CHANNEL, Clock, ReportFeed, alertSettings, fakeSleep, fastClient, okCalls, posted, riskCase, T0, useAlertEnv, type TempDb,
} from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => { fake = f; db = d; });

function makeJob(feed: ReportFeed, clock: Clock, over: Record<string, unknown> = {}) {
  const settings = alertSettings(db.dbPath, fake.url);
  const { sleep } = fakeSleep();
  return createAlertJob({ settings, client: fastClient(fake), getReport: feed.get, now: clock.now, sleep, reminderMinutes: 0, quietStart: false, ...over });
}

test('sweeps over evolving data: one thread per sweep with news, replies once, edits on resolution, quiet otherwise', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);

  // Sweep 1: A, B at risk, C breached.
  feed.set({ cases: [riskCase('A', 'P1', 1), riskCase('B', 'P2', 2), riskCase('C', 'P2', -1)] });
  const r1 = await job.sweep();
  expect(r1.cases).toMatchObject({ newAtRisk: 2, newBreached: 1, resolved: 0, replies: 3, csv: false });
  let msgs = posted(fake);
  expect(msgs).toHaveLength(4);
  const parent1 = msgs[0];
  expect(parent1.thread_ts).toBeUndefined();
  expect(parent1.text).toContain('2 cases newly at risk, 1 newly breached: P1 1, P2 2');
  const replies1 = msgs.slice(1);
  expect(replies1.every((m) => m.thread_ts === parent1.ts)).toBe(true);
  // Nearest to breach first (soonest due), then the newly breached.
  expect(replies1.map((m) => m.text.split('\n')[0])).toEqual(['P1 A newly at risk', 'P2 B newly at risk', 'P2 C newly breached']);
  expect(replies1[2].text).toMatch(/Status: open · Assignee: agent-C · Team: Billing · Region: EMEA/);
  const reply = fake.messagesIn(ALERT_CHANNEL)[1];
  const actions = (reply.blocks as { type: string; elements?: { action_id: string }[] }[]).find((b) => b.type === 'actions');
  expect(actions?.elements?.map((e) => e.action_id)).toEqual(['kpi_alert_ack', 'kpi_alert_snooze']);
  expect(okCalls(fake, 'chat.update')).toHaveLength(0);

  // Sweep 2, same data: nothing at all.
  clock.advance(15);
  const r2 = await job.sweep();
  expect(r2.cases).toMatchObject({ newAtRisk: 0, newBreached: 0, resolved: 0 });
  expect(posted(fake)).toHaveLength(4);
  expect(okCalls(fake, 'chat.update')).toHaveLength(0);

  // Sweep 3: A breaches, D newly at risk, B resolved.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [riskCase('A', 'P1', -0.25, clock.value), riskCase('C', 'P2', -1.5, clock.value), riskCase('D', 'P3', 3, clock.value)] });
  const r3 = await job.sweep();
  // A's breach stays in A's thread (one case, one thread): its reply is edited and a notice is posted there.
  expect(r3.cases).toMatchObject({ newAtRisk: 1, newBreached: 0, continued: 1, resolved: 1 });
  msgs = posted(fake);
  expect(msgs).toHaveLength(7);
  expect(msgs[4].thread_ts).toBe(parent1.ts);
  expect(msgs[4].text).toMatch(/^:red_circle: `A` \(P1\) has now breached: breached 15m ago/);
  const parent2 = msgs[5];
  expect(parent2.text).toContain('1 case newly at risk: P3 1');
  expect(msgs.slice(6).map((m) => [m.thread_ts, m.text.split('\n')[0]])).toEqual([[parent2.ts, 'P3 D newly at risk']]);
  // A's reply (now breached, buttons kept), B's reply and the first parent are edited.
  let updates = okCalls(fake, 'chat.update');
  expect(updates).toHaveLength(3);
  const aReply = fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === replies1[0].ts)!;
  expect(aReply.text).toMatch(/^P1 A breached \(alerted at risk\)\nDue .* · breached 15m ago \(at .*\) · alerted at 2026-11-23 09:00 UTC/);
  expect((aReply.blocks as { type: string }[]).some((b) => b.type === 'actions')).toBe(true);
  const bReply = fake.messagesIn(ALERT_CHANNEL).find((m) => m.text?.startsWith('P2 B') || m.text?.startsWith('Resolved: P2 B'))!;
  expect(bReply.text).toMatch(/^Resolved: P2 B resolved \(was at risk\)/);
  expect(bReply.text).toContain('Status: no longer open and at risk');
  expect(bReply.text).not.toContain('to breach');
  expect((bReply.blocks as { type: string }[]).some((b) => b.type === 'actions')).toBe(false);
  const p1msg = fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === parent1.ts)!;
  expect(p1msg.text).toContain('1 of 3 resolved');

  // Sweep 4: only D left: A (both steps) and C resolve. Thread 1 fully resolved.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [riskCase('D', 'P3', 2.75, clock.value)] });
  const r4 = await job.sweep();
  expect(r4.cases).toMatchObject({ newAtRisk: 0, newBreached: 0, resolved: 3 });
  expect(posted(fake)).toHaveLength(7);
  updates = okCalls(fake, 'chat.update');
  // replies: A, C (thread 1); parent of thread 1
  expect(updates).toHaveLength(3 + 3);
  expect(fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === parent1.ts)!.text).toMatch(/^:white_check_mark: Resolved: .*\nAll 3 resolved$/s);
  expect(fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === replies1[0].ts)!.text).toMatch(/^Resolved: P1 A resolved \(was breached\)/);

  // Sweep 5: quiet again.
  clock.advance(15);
  await job.sweep();
  expect(posted(fake)).toHaveLength(7);
  expect(okCalls(fake, 'chat.update')).toHaveLength(6);

  // Sweep 6: A reopens (back at risk): its messages are edited back, nothing is posted (once per step).
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [riskCase('A', 'P1', -2, clock.value), riskCase('D', 'P3', 2.5, clock.value)] });
  const r6 = await job.sweep();
  expect(r6.cases).toMatchObject({ newAtRisk: 0, newBreached: 0, resolved: 0, reopened: 2 });
  expect(posted(fake)).toHaveLength(7);

  // No case reply was ever posted twice.
  const keys = okCalls(fake, 'chat.postMessage').map((c) => (c.body.metadata as { event_payload: { msg_id: string } }).event_payload.msg_id);
  expect(new Set(keys).size).toBe(keys.length);
});

test('1,000 cases newly at risk at once: one parent, at most KPI_ALERT_MAX_REPLIES replies, one CSV with all of them', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);
  const cases = Array.from({ length: 1000 }, (_, i) => riskCase(`N-${String(i).padStart(4, '0')}`, (['P1', 'P2', 'P3', 'P4'] as const)[i % 4], (i % 50) / 10 - 1));
  feed.set({ cases });
  const r = await job.sweep();
  expect(r.cases).toMatchObject({ newAtRisk: 800, newBreached: 200, replies: 3, csv: true });
  const msgs = posted(fake);
  expect(msgs).toHaveLength(1 + 3);
  expect(msgs[0].text).toContain('800 cases newly at risk, 200 newly breached: P1 250, P2 250, P3 250, P4 250');
  expect(msgs[0].text).toContain('The 3 nearest to breach are in the thread; all 1,000 in the CSV there.');
  const ups = fake.uploadsIn(ALERT_CHANNEL, msgs[0].ts);
  expect(ups).toHaveLength(1);
  const lines = ups[0].content!.toString('utf8').trim().split('\r\n');
  expect(lines[0]).toBe('case_id,priority,region,team,assignee,status,created_at,due_at,sla_target_hours,elapsed_hours,sla_elapsed_pct,hours_to_breach,risk_level,policy,calendar,clock_state,risk_stage');
  expect(lines).toHaveLength(1001);
  expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(1000);
  // Again: nothing.
  clock.advance(15);
  await job.sweep();
  expect(posted(fake)).toHaveLength(4);
  expect(fake.uploads.filter((u) => u.completed)).toHaveLength(1);
});

test('backlog spike: one alert per scope per day with a sparkline, a reply when it clears', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);
  feed.set({ spikes: [{ scope: 'ALL', is_spike: true, backlog_today: 160, baseline_avg: 120, growth_pct: 33.3 }, { scope: 'P1', is_spike: true, backlog_today: 9, baseline_avg: 5, growth_pct: 80 }] });
  await job.sweep();
  let msgs = posted(fake);
  expect(msgs).toHaveLength(2);
  expect(msgs[0].text).toMatch(/Backlog spike \(all priorities\) on 2026-11-23\n160 open today vs 7-day baseline 120\.0 \(\+33\.3%, threshold \+20%\)\nBacklog, last 7 days: [▁▂▃▄▅▆▇█]{7}$/);
  expect(msgs[1].text).toContain('Backlog spike (P1)');
  // the priority's own end-of-day backlog (fixture: 4 for six days, then 6 today)
  expect(msgs[1].text).toMatch(/Backlog, last 7 days: ▁▁▁▁▁▁█$/);

  clock.advance(15);
  await job.sweep();
  expect(posted(fake)).toHaveLength(2);

  // ALL clears, P1 still spiking.
  clock.advance(15);
  feed.set({ asOf: clock.value, spikes: [{ scope: 'ALL', is_spike: false, backlog_today: 125, growth_pct: 4.2 }, { scope: 'P1', is_spike: true, backlog_today: 9, baseline_avg: 5, growth_pct: 80 }] });
  await job.sweep();
  msgs = posted(fake);
  expect(msgs).toHaveLength(3);
  expect(msgs[2].thread_ts).toBe(msgs[0].ts);
  expect(msgs[2].text).toContain('Backlog spike (all priorities) cleared: 125 open, +4.2% vs baseline 120.0');
  expect(fake.messagesIn(ALERT_CHANNEL)[0].text).toMatch(/^:white_check_mark: Cleared: backlog spike/);

  // Next day, P1 still spiking: one new alert for the new day.
  clock.set('2026-11-24T09:00:00Z');
  feed.set({ asOf: clock.value, spikes: [{ scope: 'ALL', is_spike: false }, { scope: 'P1', is_spike: true, backlog_today: 11, baseline_avg: 6, growth_pct: 83.3 }] });
  await job.sweep();
  msgs = posted(fake);
  expect(msgs).toHaveLength(4);
  expect(msgs[3].text).toContain('Backlog spike (P1) on 2026-11-24');
  // It clears: one reply, in the newest thread only.
  clock.advance(15);
  feed.set({ asOf: clock.value, spikes: [{ scope: 'ALL', is_spike: false }, { scope: 'P1', is_spike: false, backlog_today: 6, baseline_avg: 6, growth_pct: 0 }] });
  await job.sweep();
  msgs = posted(fake);
  expect(msgs).toHaveLength(5);
  expect(msgs[4].thread_ts).toBe(msgs[3].ts);
  const [{ n }] = await alertTx(db.dbPath, (tx) => tx.q<{ n: number }>(`SELECT count(*) AS n FROM alert_outbox WHERE state <> 'sent'`));
  expect(n).toBe(0);
});
