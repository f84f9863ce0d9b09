/**
 * `npx tsx bench/alerts.ts [--cases 1000000] [--new 1000] [--replies 20]`
 * (or `npm run bench -- alerts ...`): the on-call alert sweep at scale.
 *
 * Worst case for the diff: every one of N cases is on the at-risk list, and the alert
 * state already holds N alerted cases (seeded through the same claim code, no Slack).
 * Then, on the real job with the loopback fake Slack (pacing sleeps are skipped, so
 * "Slack pacing aside"):
 *   1. a sweep where `new` cases are newly at risk and `new` alerted cases resolved:
 *      time of the diff-and-claim transaction, and what was posted (one parent, at most
 *      KPI_ALERT_MAX_REPLIES replies, one CSV);
 *   2. the same report again: the quiet sweep (nothing posted).
 * Target: the diff ("finds what is new") under 2 s. Writes bench/out/alerts.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import type { AtRiskCase, KpiReport, Priority } from '../src/contract/report';
import { createAlertJob } from '../src/jobs/alerts';
import { alertTx } from '../src/alerts/db';
import { diffCases } from '../src/alerts/state';
import { WebClient } from '@slack/web-api';
import { startFakeSlack } from '../test/fakes/slackServer';
import { makeReport } from '../test/fixtures/report';
import { OUT, arg } from './lib';

const AS_OF = '2026-11-23T09:00:00Z';

const P: Priority[] = ['P1', 'P2', 'P3', 'P4'];
function mkCase(i: number): AtRiskCase {
  const h = ((i % 97) - 20) / 10;
  return {
    case_id: `CASE-${String(i).padStart(8, '0')}`, priority: P[i % 4], region: 'EMEA', team: 'Billing', assignee: `agent${i % 300}`,
    status: 'open', created_at: '2026-11-23T01:00:00Z', due_at: new Date(Date.parse(AS_OF) + h * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    sla_target_hours: 8, elapsed_hours: 8 - h, sla_elapsed_pct: ((8 - h) / 8) * 100, hours_to_breach: h, risk_level: h < 0 ? 'breached' : 'at_risk',
    policy: 'default', calendar: '24x7', clock_state: 'running', risk_stage: h < 0 ? 100 : 80,
  };
}

async function main(): Promise<void> {
  const n = Number(arg('cases', '1000000'));
  const fresh = Number(arg('new', '1000'));
  const replies = arg('replies', '20');
  mkdirSync(OUT, { recursive: true });
  const dbPath = join(OUT, `alerts_${n}.duckdb`);
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}.wal`, { force: true });

  const tGen = performance.now();
  const all = Array.from({ length: n + fresh }, (_, i) => mkCase(i));
  const base = makeReport();
  const report = (cases: AtRiskCase[]): KpiReport => ({
    ...base, meta: { ...base.meta, asOf: AS_OF, newestCreatedAt: '2026-11-23T08:55:00Z' }, atRiskCases: cases,
    backlogSpike: base.backlogSpike.map((s) => ({ ...s, is_spike: false })),
  });
  const seedReport = report(all.slice(0, n));
  // Next sweep: the first `fresh` seeded cases resolved, `fresh` new ones at risk.
  const nextReport = report(all.slice(fresh, n + fresh));
  const genMs = performance.now() - tGen;

  // Seed: N alerted cases, as if delivered long ago.
  const tSeed = performance.now();
  await alertTx(dbPath, async (tx) => {
    await diffCases(tx, seedReport, { now: '2026-11-23T08:00:00Z', sweepId: 'seed', claimId: 'seed', channel: 'C0ALERTS01', maxReplies: Number(replies), quietStart: false });
    await tx.x(`UPDATE alert_outbox SET state = 'sent', ts = '1.0', channel_id = 'C0ALERTS01', claim_id = NULL, sent_at = now()`);
    await tx.x(`UPDATE alert_case SET shown_version = version`);
    await tx.x(`UPDATE alert_thread SET shown_version = version`);
  });
  const seedMs = performance.now() - tSeed;

  const fake = await startFakeSlack();
  const settings = loadSettings({
    KPI_DB_PATH: dbPath, KPI_STATE_PATH: dbPath, KPI_ALERT_CHANNEL: 'C0ALERTS01', KPI_ALERT_MAX_REPLIES: replies, SLACK_BOT_TOKEN: 'xoxb-bench', KPI_LOG_LEVEL: 'silent',
  });
  const client = new WebClient('xoxb-bench', { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
  let now = new Date('2026-11-23T09:00:00Z');
  let current = nextReport;
  const job = createAlertJob({ settings, client, getReport: async () => current, now: () => now, sleep: async () => undefined, reminderMinutes: 0 });

  const r1 = await job.sweep();
  const posts1 = fake.callsTo('chat.postMessage').filter((c) => c.ok);
  const parents = posts1.filter((c) => !c.body.thread_ts).length;
  const uploads = fake.uploads.filter((u) => u.completed);
  now = new Date('2026-11-23T09:15:00Z');
  current = nextReport;
  const r2 = await job.sweep();
  const posts2 = fake.callsTo('chat.postMessage').filter((c) => c.ok).length - posts1.length;
  await fake.close();

  const mb = (x: number) => Math.round(x / 1e6);
  const out = {
    cases: n, newlyAtRisk: fresh, resolved: fresh, maxReplies: Number(replies),
    generateReportMs: Math.round(genMs), seedStateMs: Math.round(seedMs),
    sweep: { diffMs: r1.diffMs, caseDiffMs: r1.caseDiffMs, deliverMs: r1.deliverMs, found: r1.cases, parents, replies: posts1.length - parents, csvUploads: uploads.length, csvRows: uploads[0] ? uploads[0].content!.toString().trim().split('\r\n').length - 1 : 0, edits: r1.delivery?.updated },
    quietSweep: { diffMs: r2.diffMs, caseDiffMs: r2.caseDiffMs, deliverMs: r2.deliverMs, posted: posts2 },
    rssMb: mb(process.memoryUsage().rss),
  };
  writeFileSync(join(OUT, 'alerts.json'), JSON.stringify(out, null, 2));
  console.log(`alerts bench: ${n.toLocaleString('en')} cases on the at-risk list, ${n.toLocaleString('en')} alerted cases in state`);
  console.log(`  seed (first sweep's diff+claim of ${n} new, no Slack): ${out.seedStateMs} ms`);
  console.log(`  sweep with ${fresh} new + ${fresh} resolved: diff+claim ${out.sweep.diffMs} ms (case diff ${out.sweep.caseDiffMs} ms, rest: open/close, health, spikes, purge); delivery (pacing skipped) ${out.sweep.deliverMs} ms`);
  console.log(`    posted: ${parents} parent, ${out.sweep.replies} replies, ${uploads.length} CSV (${out.sweep.csvRows} rows), ${out.sweep.edits} edits`);
  console.log(`  quiet sweep (same data): diff+claim ${out.quietSweep.diffMs} ms (case diff ${out.quietSweep.caseDiffMs} ms), posted ${posts2}`);
  console.log(`  machine load average while measuring: ${require('node:os').loadavg().map((x: number) => x.toFixed(2)).join(' ')} (${require('node:os').cpus().length} cores)`);
  console.log(`  rss ${out.rssMb} MB`);
  const okTarget = out.sweep.diffMs < 2000 && out.quietSweep.diffMs < 2000 && parents === 1 && out.sweep.replies <= Number(replies) && uploads.length === 1 && posts2 === 0;
  console.log(okTarget ? 'PASS: diff < 2 s, one parent, capped replies, one CSV, quiet repeat' : 'FAIL: a target was missed');
  rmSync(dbPath, { force: true });
  rmSync(`${dbPath}.wal`, { force: true });
  process.exitCode = okTarget ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
