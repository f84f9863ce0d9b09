/**
 * The alert job with the real pipeline (CSV source, default getReport): a case at risk
 * and one breached are alerted; when the first is resolved in the data, its reply is edited.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeSlack } from './fakes/slackServer';
import { createAlertJob } from '../src/jobs/alerts';
import {
  Clock, alertSettings, fakeSleep, fastClient, okCalls, posted, T0, useAlertEnv, type TempDb,
} from './fixtures/alertReports';

let fake: FakeSlack;
let db: TempDb;
useAlertEnv((f, d) => { fake = f; db = d; });

const HEADER = 'case_id,created_at,first_response_at,resolved_at,status,priority,region,channel,team,assignee,customer_tier,updated_at';

test('real pipeline run: alerts from a CSV source, then an edit when the case is resolved', async () => {
  const csv = join(db.dir, 'cases.csv');
  const write = (x1Resolved: string) => writeFileSync(csv, [
    HEADER,
    `X1,2026-11-23T05:30:00Z,2026-11-23T05:40:00Z,${x1Resolved},${x1Resolved ? 'solved' : 'open'},P1,EMEA,email,Billing,ana,pro,2026-11-23T05:40:00Z`,
    'X2,2026-11-23T00:00:00Z,2026-11-23T00:30:00Z,,open,P2,AMER,chat,Platform,bo,free,2026-11-23T00:30:00Z',
    'X3,2026-11-23T08:00:00Z,,,new,P3,APAC,web,Onboarding,,free,2026-11-23T08:00:00Z',
    'X4,2026-11-20T08:00:00Z,2026-11-20T08:10:00Z,2026-11-20T10:00:00Z,closed,P2,APAC,web,Onboarding,cy,free,2026-11-20T10:00:00Z',
    '',
  ].join('\n'));
  write('');
  const settings = alertSettings(db.dbPath, fake.url, { KPI_SOURCE: 'csv', KPI_CSV_PATH: csv, KPI_OUTPUT_DIR: join(db.dir, 'out'), KPI_WINDOW_DAYS: '30' });
  const clock = new Clock(T0);
  const job = createAlertJob({ settings, client: fastClient(fake), now: clock.now, sleep: fakeSleep().sleep, reminderMinutes: 0, quietStart: false });
  const r1 = await job.sweep();
  expect(r1.failure).toBeUndefined();
  expect(r1.cases).toMatchObject({ newAtRisk: 1, newBreached: 1 });
  const msgs = posted(fake);
  expect(msgs.map((m) => m.text.split('\n')[0])).toEqual([
    ':rotating_light: 1 case newly at risk, 1 newly breached: P1 1, P2 1', 'P1 X1 newly at risk', 'P2 X2 newly breached',
  ]);
  expect(msgs[1].text).toContain('Due 2026-11-23 09:30 UTC · 30m to breach');

  clock.advance(15);
  write('2026-11-23T09:10:00Z');
  const r2 = await job.sweep();
  expect(r2.cases).toMatchObject({ newAtRisk: 0, newBreached: 0, resolved: 1 });
  expect(posted(fake)).toHaveLength(3);
  expect(okCalls(fake, 'chat.update')).toHaveLength(2);
  expect(posted(fake)[1].text).toMatch(/^Resolved: P1 X1/);
  expect(posted(fake)[0].text).toContain('1 of 2 resolved');
});
