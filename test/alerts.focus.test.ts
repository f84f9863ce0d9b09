/**
 * What the alerts choose to say: a quiet first sweep (one summary, CSV in the thread, no
 * reply per case), the cases nearest to breach first, old breaches only counted, and one
 * thread per case (a breach edits the at-risk reply; an acknowledgement carries over).
 */
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob, type AlertJobDeps } from '../src/jobs/alerts';
import { recordAlertAction } from '../src/alerts/actions';
import { alertTx } from '../src/alerts/db';
import {
  ALERT_CHANNEL, Clock, ReportFeed, alertSettings, fakeSleep, fastClient, okCalls, posted, riskCase, T0, useAlertEnv, type TempDb,
} from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => { fake = f; db = d; });

function makeJob(feed: ReportFeed, clock: Clock, env: Record<string, string> = {}, over: Partial<AlertJobDeps> = {}) {
  const settings = alertSettings(db.dbPath, fake.url, env);
  return createAlertJob({ settings, client: fastClient(fake), getReport: feed.get, now: clock.now, sleep: fakeSleep().sleep, reminderMinutes: 0, ...over });
}

const csvRows = (upload: { content?: Buffer }) => upload.content!.toString('utf8').trim().split('\r\n').slice(1);

test('the first sweep on a channel with old breaches posts one summary with the CSV, no per-case replies; then only new steps', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const old = Array.from({ length: 5 }, (_, i) => riskCase(`OLD${i}`, 'P4', -4000 - i));
  feed.set({ cases: [...old, riskCase('R1', 'P1', 2), riskCase('R2', 'P2', 0.5)] });
  const job = makeJob(feed, clock);
  const r1 = await job.sweep();
  expect(r1.cases).toMatchObject({ baseline: { breached: 5, atRisk: 2 }, replies: 0, threadId: null });
  const msgs = posted(fake);
  expect(msgs).toHaveLength(1);
  expect(msgs[0].text).toMatch(/^:clipboard: Tracking 5 breached and 2 at-risk open cases: CSV in thread/);
  const ups = fake.uploadsIn(ALERT_CHANNEL, msgs[0].ts);
  expect(ups).toHaveLength(1);
  const rows = csvRows(ups[0]);
  expect(rows).toHaveLength(7);
  // The CSV is in the attention order: nearest to breach first.
  expect(rows[0]).toMatch(/^R2,/);
  expect(rows[1]).toMatch(/^R1,/);

  // Same data again: nothing.
  clock.advance(15);
  await job.sweep();
  expect(posted(fake)).toHaveLength(1);

  // A new case at risk is alerted as usual; R2 breaching is a new step too.
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [...old, riskCase('R1', 'P1', 1.5, clock.value), riskCase('R2', 'P2', -0.25, clock.value), riskCase('N1', 'P1', 3, clock.value)] });
  const r3 = await job.sweep();
  expect(r3.cases).toMatchObject({ newAtRisk: 1, newBreached: 1, replies: 2 });
  expect(posted(fake).slice(1).map((m) => m.text.split('\n')[0])).toEqual([
    ':rotating_light: 1 case newly at risk, 1 newly breached: P1 1, P2 1', 'P1 N1 newly at risk', 'P2 R2 newly breached',
  ]);
});

test('a first sweep with nothing open posts nothing, and the next sweep alerts normally', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock);
  const r1 = await job.sweep();
  expect(r1.cases?.baseline).toMatchObject({ atRisk: 0, breached: 0 });
  expect(posted(fake)).toHaveLength(0);
  clock.advance(15);
  feed.set({ asOf: clock.value, cases: [riskCase('A', 'P1', 1, clock.value)] });
  await job.sweep();
  expect(posted(fake).map((m) => m.text.split('\n')[0])).toEqual([':warning: 1 case newly at risk: P1 1', 'P1 A newly at risk']);
});

test('replies lead with the cases nearest to breach; breaches older than the horizon are a count with their CSV', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock, { KPI_BREACH_HORIZON_HOURS: '48' });
  await job.sweep(); // quiet start on an empty list
  clock.advance(15);
  const at = clock.value;
  feed.set({
    asOf: at,
    cases: [riskCase('OLD1', 'P4', -100, at), riskCase('OLD2', 'P3', -49, at), riskCase('NEW1', 'P2', -30, at), riskCase('SOON2', 'P3', 4, at), riskCase('SOON1', 'P1', 0.5, at)],
  });
  const r = await job.sweep();
  expect(r.cases).toMatchObject({ newAtRisk: 2, newBreached: 3, oldBreached: 2, replies: 3, csv: true });
  const msgs = posted(fake);
  expect(msgs[0].text).toContain('2 of them breached more than 48 h ago: counted here and in the CSV, no reply each.');
  expect(msgs.slice(1).map((m) => m.text.split('\n')[0])).toEqual(['P1 SOON1 newly at risk', 'P3 SOON2 newly at risk', 'P2 NEW1 newly breached']);
  const rows = csvRows(fake.uploadsIn(ALERT_CHANNEL, msgs[0].ts)[0]);
  expect(rows.map((l) => l.split(',')[0])).toEqual(['SOON1', 'SOON2', 'NEW1', 'OLD2', 'OLD1']);
});

test('a stage change stays in the case thread: the reply is edited to the breach, a notice says so; the acknowledgement carries over', async () => {
  const feed = new ReportFeed();
  const clock = new Clock(T0);
  const job = makeJob(feed, clock, {}, { quietStart: false });
  feed.set({ cases: [riskCase('A', 'P1', 0.5), riskCase('B', 'P2', 3)] });
  await job.sweep();
  const [parent, aReply, bReply] = posted(fake);
  // B is acknowledged while at risk.
  const ack = await recordAlertAction(db.dbPath, 'ack', 'B', 'at_risk', 'U0ONCALL01', clock.now());
  expect(ack.ok).toBe(true);

  clock.advance(240);
  const at = clock.value;
  feed.set({ asOf: at, cases: [riskCase('A', 'P1', -3.5, at), riskCase('B', 'P2', -1, at)] });
  const r = await job.sweep();
  expect(r.cases).toMatchObject({ threadId: null, continued: 2, newBreached: 0 });
  const msgs = posted(fake);
  // No new thread: two notices in the first thread.
  expect(msgs).toHaveLength(5);
  expect(msgs.slice(3).every((m) => m.thread_ts === parent.ts)).toBe(true);
  // Most recent breach first (the attention order).
  expect(msgs.slice(3).map((m) => m.text.split(':')[2])).toEqual([' `B` (P2) has now breached', ' `A` (P1) has now breached']);
  const a = fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === aReply.ts)!;
  expect(a.text).toMatch(/^P1 A breached \(alerted at risk\)\nDue .* · breached 3h 30m ago \(at .*\) · alerted at 2026-11-23 09:00 UTC/);
  expect((a.blocks as { type: string }[]).some((b) => b.type === 'actions')).toBe(true);
  const b = fake.messagesIn(ALERT_CHANNEL).find((m) => m.ts === bReply.ts)!;
  expect(b.text).toContain('Acknowledged by <@U0ONCALL01>');
  expect((b.blocks as { type: string }[]).some((x) => x.type === 'actions')).toBe(false);
  // The breach step of B carries the acknowledgement.
  const rows = await alertTx(db.dbPath, (tx) => tx.q<{ level: string; acked_by: string | null }>(`SELECT level, acked_by FROM alert_case WHERE case_id = 'B' ORDER BY level`));
  expect(rows).toEqual([{ level: 'at_risk', acked_by: 'U0ONCALL01' }, { level: 'breached', acked_by: 'U0ONCALL01' }]);
  // Acknowledging A's (breached) reply now acknowledges every step of A.
  await recordAlertAction(db.dbPath, 'ack', 'A', 'at_risk', 'U0ONCALL02', clock.now());
  const aRows = await alertTx(db.dbPath, (tx) => tx.q<{ acked_by: string | null }>(`SELECT acked_by FROM alert_case WHERE case_id = 'A'`));
  expect(aRows.every((x) => x.acked_by === 'U0ONCALL02')).toBe(true);
  expect(okCalls(fake, 'chat.update').length).toBeGreaterThanOrEqual(2);
});

describe('routing and owners', () => {
  const P1_CHANNEL = 'C0P1ALERTS';
  const BILLING_BREACH = 'C0BILLBRCH';
  const routes = JSON.stringify([
    { match: { priority: ['P1'] }, channel: P1_CHANNEL },
    { match: { team: 'Billing', region: ['AMER'] }, channel: BILLING_BREACH, min_stage: 'breached' },
  ]);
  const owners = JSON.stringify({ assignees: { 'agent-A': 'U0AAAAAAA' }, teams: { Platform: 'S0PLATFORM' } });

  test('cases go to their route\'s channel (the rest to KPI_ALERT_CHANNEL), a route\'s minimum stage holds, owners are mentioned', async () => {
    const feed = new ReportFeed();
    const clock = new Clock(T0);
    const job = makeJob(feed, clock, { KPI_ALERT_ROUTES: routes, KPI_ALERT_OWNERS: owners });
    const r0 = await job.sweep(); // quiet start on every routed channel, nothing open
    expect(r0.cases?.baseline).toMatchObject({ atRisk: 0, breached: 0 });
    clock.advance(15);
    const at = clock.value;
    feed.set({
      asOf: at,
      cases: [
        riskCase('A', 'P1', 1, at), // P1 route, owner by assignee
        riskCase('B', 'P2', 2, at, { region: 'AMER' }), // Billing/AMER, only at risk: below the route's minimum stage
        riskCase('C', 'P3', -1, at, { region: 'AMER' }), // Billing/AMER breached: routed
        riskCase('D', 'P2', 3, at, { team: 'Platform', assignee: '<!channel> *x*' }), // default channel, team owner
      ],
    });
    const r = await job.sweep();
    expect(r.cases!.threads).toHaveLength(3);
    const p1 = posted(fake, P1_CHANNEL);
    expect(p1.map((m) => m.text.split('\n')[0])).toEqual([':warning: 1 case newly at risk: P1 1', 'P1 A newly at risk']);
    expect(p1[1].text).toContain('Assignee: agent-A (<@U0AAAAAAA>)');
    const billing = posted(fake, BILLING_BREACH);
    expect(billing.map((m) => m.text.split('\n')[0])).toEqual([':rotating_light: 1 case newly breached: P3 1', 'P3 C newly breached']);
    const dflt = posted(fake, ALERT_CHANNEL);
    expect(dflt.map((m) => m.text.split('\n')[0])).toEqual([':warning: 1 case newly at risk: P2 1', 'P2 D newly at risk']);
    // The team's user group is mentioned; the data value is escaped, never a mention.
    expect(dflt[1].text).toContain('(<!subteam^S0PLATFORM>)');
    expect(dflt[1].text).toContain('&lt;!channel&gt;');
    expect(dflt[1].text).not.toContain('<!channel>');
    // B is not alerted anywhere until it breaches; then it goes to the Billing channel.
    expect(JSON.stringify(fake.messages.map((m) => m.text))).not.toContain(' B newly');
    clock.advance(240);
    const at2 = clock.value;
    feed.set({ asOf: at2, cases: [riskCase('A', 'P1', 1, at2), riskCase('B', 'P2', -0.5, at2, { region: 'AMER' }), riskCase('C', 'P3', -5, at2, { region: 'AMER' }), riskCase('D', 'P2', 3, at2, { team: 'Platform' })] });
    await job.sweep();
    expect(posted(fake, BILLING_BREACH).slice(2).map((m) => m.text.split('\n')[0])).toEqual([':rotating_light: 1 case newly breached: P2 1', 'P2 B newly breached']);
  });

  test('a bad route or owner id is a setting error naming the variable', () => {
    expect(() => alertSettings(db.dbPath, fake.url, { KPI_ALERT_ROUTES: '[{"match":{"severity":"x"},"channel":"C1"}]' }))
      .toThrow(/KPI_ALERT_ROUTES: route 1: cannot match on "severity"/);
    expect(() => alertSettings(db.dbPath, fake.url, { KPI_ALERT_ROUTES: '[{"channel":"C1","min_stage":"later"}]' }))
      .toThrow(/KPI_ALERT_ROUTES: route 1: min_stage "later"/);
    expect(() => alertSettings(db.dbPath, fake.url, { KPI_ALERT_ROUTES: '/nonexistent/routes.yml' })).toThrow(/KPI_ALERT_ROUTES: file "\/nonexistent\/routes.yml" not found/);
    expect(() => alertSettings(db.dbPath, fake.url, { KPI_ALERT_OWNERS: '{"teams":{"Billing":"<!channel>"}}' }))
      .toThrow(/KPI_ALERT_OWNERS: teams."Billing": "<!channel>" is not a Slack user ID/);
  });

  test('routes from a YAML file', () => {
    const file = require('node:path').join(db.dir, 'routes.yml') as string;
    require('node:fs').writeFileSync(file, 'routes:\n  - match: { priority: [p1, P2] }\n    channel: C0P1ALERTS\n    min_stage: breached\n');
    const s = alertSettings(db.dbPath, fake.url, { KPI_ALERT_ROUTES: file });
    expect(s.alertRouting!.routes).toEqual([{ match: { priority: ['P1', 'P2'] }, channel: 'C0P1ALERTS', minStage: 'breached' }]);
  });
});
