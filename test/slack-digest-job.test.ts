import { mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, type Settings } from '../src/config/settings';
import { silentLogger } from '../src/support/log';
import { createSlackClient } from '../src/slack-api/client';
import { createDigestJob, scheduleDigest, type DigestJobOptions, type RunFn } from '../src/jobs/digest';
import { readDigestLog, claimDigest } from '../src/jobs/digestLog';
import { REPORT_FILES, renderCsv, type ReportFile } from '../src/render/files/csv';
import { recordRun } from '../src/pipeline/runHistory';
import { withStore } from '../src/db/stateStore';
import type { WebClient } from '@slack/web-api';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { makeReport } from './fixtures/report';

const TOKEN = 'xoxb-digest-test-token';
const CHANNEL = 'kpi-digest';

describe('digest job', () => {
  let dir: string;
  let db: string;
  let fake: FakeSlack;
  let slack: WebClient;
  let settings: Settings;
  let now: Date;
  const clock = () => now;
  const log = silentLogger();
  let run: jest.Mock<ReturnType<RunFn>, Parameters<RunFn>>;

  function job(over: Partial<DigestJobOptions> = {}) {
    return createDigestJob({ settings, log, run, slack, clock, dbPath: db, outDir: null, maxRetries: 0, ...over });
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'digest-job-'));
    db = join(dir, 'kpi.duckdb');
    fake = await startFakeSlack({ token: TOKEN });
    settings = loadSettings({
      SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: fake.url, KPI_DIGEST_CHANNEL: CHANNEL, KPI_TZ: 'Europe/Berlin',
      KPI_DIGEST_CRON: '0 8 * * *', KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_DQ_MIN: '90',
    });
    slack = createSlackClient(settings, log, { retryConfig: { retries: 3, minTimeout: 10, maxTimeout: 20, factor: 1 } });
    run = jest.fn<ReturnType<RunFn>, Parameters<RunFn>>(async () => ({ report: makeReport(), files: [] }));
    now = new Date('2026-11-23T07:00:05Z'); // 08:00:05 in Berlin
  });

  afterEach(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('posts the digest, then the chart and the seven CSVs in its thread', async () => {
    const out = await job().runOnce('schedule');
    expect(out).toMatchObject({ status: 'sent', date: '2026-11-23' });
    if (out.status !== 'sent') throw new Error('not sent');
    const msgs = fake.messagesIn(CHANNEL);
    expect(msgs).toHaveLength(1);
    expect(msgs[0].thread_ts).toBeUndefined();
    expect(msgs[0].text).toContain('Support KPIs 2026-11-23');
    expect((msgs[0].blocks![0] as { type: string }).type).toBe('header');
    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0][0]).toMatchObject({ trigger: 'schedule', outDir: null, asOf: now });

    const ups = fake.uploadsIn(CHANNEL, out.ts);
    expect(ups.map((u) => u.filename).sort()).toEqual(['trend.png', ...Object.keys(REPORT_FILES).map((f) => `${f}.csv`)].sort());
    const fixture = makeReport();
    for (const f of Object.keys(REPORT_FILES) as ReportFile[]) {
      expect(ups.find((u) => u.filename === `${f}.csv`)!.content!.toString('utf8')).toBe(renderCsv(fixture, f));
    }
    const png = ups.find((u) => u.filename === 'trend.png')!.content!;
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // one completion, all in the thread
    expect(fake.callsTo('files.completeUploadExternal')).toHaveLength(1);
    expect(fake.uploads.every((u) => u.completed && u.thread_ts === out.ts)).toBe(true);

    expect(await readDigestLog(db)).toEqual([{ digest_date: '2026-11-23', channel: CHANNEL, claimed_at: '2026-11-23T07:00:05Z', ts: out.ts }]);
  });

  test('once a day: a second run the same day is skipped; the next day sends again', async () => {
    const j = job();
    expect((await j.runOnce('schedule')).status).toBe('sent');
    now = new Date('2026-11-23T15:00:00Z');
    expect(await j.runOnce('manual')).toMatchObject({ status: 'skipped', reason: 'already-sent' });
    expect(run).toHaveBeenCalledTimes(1);
    now = new Date('2026-11-24T07:00:01Z');
    expect(await j.runOnce('schedule')).toMatchObject({ status: 'sent', date: '2026-11-24' });
    expect(fake.messagesIn(CHANNEL)).toHaveLength(2);
    expect((await readDigestLog(db)).map((r) => r.digest_date)).toEqual(['2026-11-23', '2026-11-24']);
  });

  test('the day is the day in KPI_TZ', async () => {
    now = new Date('2026-11-23T23:30:00Z'); // already the 24th in Berlin
    expect(await job().runOnce('manual')).toMatchObject({ status: 'sent', date: '2026-11-24' });
  });

  test('runs in one process never overlap: two triggers at once post once', async () => {
    const j = job();
    const [a, b] = await Promise.all([j.runOnce('schedule'), j.runOnce('catch-up')]);
    expect([a.status, b.status].sort()).toEqual(['sent', 'skipped']);
    expect(run).toHaveBeenCalledTimes(1);
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
  });

  test('restart: a new job instance on the same DuckDB file does not send again (catch-up or schedule)', async () => {
    expect((await job().runOnce('schedule')).status).toBe('sent');
    now = new Date('2026-11-23T09:30:00Z');
    const restarted = job();
    expect(await restarted.catchUpOnStart()).toMatchObject({ status: 'skipped', reason: 'already-sent' });
    expect(await restarted.runOnce('schedule')).toMatchObject({ status: 'skipped', reason: 'already-sent' });
    // two instances firing at the same moment
    now = new Date('2026-11-24T07:00:00Z');
    const outs = await Promise.all([job().runOnce('schedule'), job().runOnce('schedule'), job().catchUpOnStart()]);
    expect(outs.filter((o) => o.status === 'sent')).toHaveLength(1);
    expect(fake.messagesIn(CHANNEL)).toHaveLength(2);
  });

  test('catch-up after downtime: sends once when today\'s time has passed, not before', async () => {
    now = new Date('2026-11-23T06:30:00Z'); // 07:30 Berlin: not due yet
    expect(await job().catchUpOnStart()).toMatchObject({ status: 'skipped', reason: 'not-due' });
    expect(run).not.toHaveBeenCalled();
    now = new Date('2026-11-23T10:45:00Z'); // bot was down at 08:00
    expect(await job().catchUpOnStart()).toMatchObject({ status: 'sent', date: '2026-11-23' });
    now = new Date('2026-11-23T11:00:00Z'); // restarted again
    expect(await job().catchUpOnStart()).toMatchObject({ status: 'skipped', reason: 'already-sent' });
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
  });

  test('catch-up does not send yesterday\'s missed digest on a weekday-only schedule', async () => {
    settings = { ...settings, KPI_DIGEST_CRON: '0 8 * * 1-5' };
    now = new Date('2026-11-22T12:00:00Z'); // Sunday
    expect(await job().catchUpOnStart()).toMatchObject({ status: 'skipped', reason: 'not-due' });
  });

  test('429 with Retry-After on post and uploads: retried, nothing lost or duplicated', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    fake.failNext('files.getUploadURLExternal', { status: 429, retryAfter: 0 });
    fake.failNext('files.completeUploadExternal', { status: 429, retryAfter: 0 });
    const out = await job().runOnce('schedule');
    expect(out.status).toBe('sent');
    if (out.status !== 'sent') return;
    expect(out.uploadError).toBeUndefined();
    expect(fake.callsTo('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
    const completed = fake.uploadsIn(CHANNEL, out.ts);
    // The chart and every contract CSV (sla_policy_summary.csv included).
    expect(completed).toHaveLength(Object.keys(REPORT_FILES).length + 1);
    expect(new Set(completed.map((u) => u.filename)).size).toBe(Object.keys(REPORT_FILES).length + 1);
  });

  test('a failed post releases the claim; the retry sends exactly once', async () => {
    fake.failNext('chat.postMessage', { error: 'channel_not_found' });
    const j = job({ maxRetries: 1, retryDelayMs: 20 });
    const out = await j.runOnce('schedule');
    expect(out).toMatchObject({ status: 'failed', stage: 'post' });
    await fake.waitFor('chat.postMessage', 1, 5000);
    await fake.waitFor('files.completeUploadExternal', 1, 5000);
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
    const rows = await readDigestLog(db);
    expect(rows).toHaveLength(1);
    expect(rows[0].ts).toBe(fake.messagesIn(CHANNEL)[0].ts);
    await j.stop();
  });

  test('stop() waits for the run in flight: the digest is posted and its ts stored before it resolves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    run.mockImplementationOnce(async () => { await gate; return { report: makeReport(), files: [] }; });
    const j = job();
    const sending = j.runOnce('schedule');
    await new Promise((r) => setTimeout(r, 100));
    let stopped = false;
    const stopping = j.stop().then(() => { stopped = true; });
    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
    expect((await readDigestLog(db))[0].ts).toBe(fake.messagesIn(CHANNEL)[0].ts);
    expect(await sending).toMatchObject({ status: 'sent' });
    expect(await j.runOnce('manual')).toMatchObject({ status: 'skipped', reason: 'stopped' });
  });

  test('stop() gives up waiting after its timeout and says so', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    run.mockImplementationOnce(async () => { await gate; throw new Error('source unavailable'); });
    const warn = jest.spyOn(log, 'warn');
    const j = job();
    const sending = j.runOnce('schedule');
    await new Promise((r) => setTimeout(r, 50));
    await j.stop(50);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ job: 'digest', waitedMs: 50 }), expect.stringMatching(/still running at shutdown/));
    release();
    expect(await sending).toMatchObject({ status: 'failed', stage: 'run' });
  });

  test('a failed pipeline run posts nothing and releases the claim', async () => {
    run.mockRejectedValueOnce(new Error('source unavailable'));
    expect(await job().runOnce('schedule')).toMatchObject({ status: 'failed', stage: 'run', error: 'source unavailable' });
    expect(fake.messages).toHaveLength(0);
    expect(await readDigestLog(db)).toEqual([]);
    expect((await job().runOnce('schedule')).status).toBe('sent');
  });

  test('an abandoned claim (process died before posting) is taken over once stale', async () => {
    await claimDigest(db, '2026-11-23', CHANNEL, new Date('2026-11-23T07:00:00Z'), 30 * 60_000);
    now = new Date('2026-11-23T07:10:00Z');
    expect(await job().runOnce('catch-up')).toMatchObject({ status: 'skipped', reason: 'in-progress-elsewhere' });
    now = new Date('2026-11-23T07:45:00Z');
    expect((await job().runOnce('catch-up')).status).toBe('sent');
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
  });

  test('upload failure after posting is reported in the thread, never re-posted', async () => {
    fake.failNext('files.getUploadURLExternal', { error: 'not_allowed_token_type', times: 20 });
    const out = await job().runOnce('schedule');
    expect(out).toMatchObject({ status: 'sent' });
    if (out.status !== 'sent') return;
    expect(out.uploadError).toBeDefined();
    expect(fake.messagesIn(CHANNEL, out.ts)).toHaveLength(1); // the note in the thread
    expect(fake.messagesIn(CHANNEL).filter((m) => !m.thread_ts)).toHaveLength(1);
    expect(await job().runOnce('manual')).toMatchObject({ status: 'skipped', reason: 'already-sent' });
  });

  test('deltas compare with the previous day\'s scheduled run from run history', async () => {
    const prev = makeReport();
    prev.meta = { ...prev.meta, runId: 'yesterday', asOf: '2026-11-22T07:00:00Z', asOfDate: '2026-11-22' };
    prev.dailyOps = { ...prev.dailyOps, open_backlog: 160 };
    await recordRun(db, prev, { trigger: 'schedule', ok: true });
    const later = makeReport();
    later.meta = { ...later.meta, runId: 'alert-run', asOf: '2026-11-23T08:45:00Z' };
    later.dailyOps = { ...later.dailyOps, open_backlog: 173 };
    await recordRun(db, later, { trigger: 'alert', ok: true });
    await job().runOnce('schedule');
    const blocks = JSON.stringify(fake.messagesIn(CHANNEL)[0].blocks);
    expect(blocks).toContain('174  _▲ +14_');
  });

  test('no channel configured: nothing happens', async () => {
    settings = { ...settings, KPI_DIGEST_CHANNEL: undefined };
    expect(await job().runOnce('schedule')).toMatchObject({ status: 'skipped', reason: 'no-channel' });
    expect(run).not.toHaveBeenCalled();
  });

  test('scheduleDigest registers KPI_DIGEST_CRON in KPI_TZ and runs the job', async () => {
    const calls: { expr: string; tz: string; fn: () => unknown }[] = [];
    const stopped: string[] = [];
    const j = job();
    const handle = scheduleDigest(j, settings, log, (expr, fn, o) => {
      calls.push({ expr, tz: o.timezone, fn });
      return { stop: () => { stopped.push('stop'); }, destroy: () => { stopped.push('destroy'); } };
    });
    expect(calls).toEqual([{ expr: '0 8 * * *', tz: 'Europe/Berlin', fn: expect.any(Function) }]);
    await calls[0].fn();
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
    await handle.stop();
    expect(stopped).toEqual(['stop', 'destroy']);
    expect(await j.runOnce('schedule')).toMatchObject({ status: 'skipped', reason: 'stopped' });
  });

  test('scheduleDigest with the real node-cron fires on time (every-second cron, bounded wait)', async () => {
    settings = { ...settings, KPI_DIGEST_CRON: '* * * * * *' };
    now = new Date('2026-11-25T07:00:00Z');
    const handle = scheduleDigest(job(), settings, log);
    try {
      await fake.waitFor('chat.postMessage', 1, 4000);
    } finally {
      await handle.stop();
    }
    expect(fake.messagesIn(CHANNEL)).toHaveLength(1);
  });

  test('two processes sharing the DuckDB file: exactly one claims the day', async () => {
    await withStore(db, async () => undefined); // create the file and schema first
    const worker = join(__dirname, 'fakes', 'digestClaimWorker.ts');
    const once = () => new Promise<{ claimed: boolean }>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', worker, db, '2026-11-23', CHANNEL, '2026-11-23T07:00:00Z'], { timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message} ${stderr}`));
        else resolve(JSON.parse(stdout) as { claimed: boolean });
      });
    });
    const results = await Promise.all([once(), once(), once()]);
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(await readDigestLog(db)).toHaveLength(1);
    // and this process's job sees the other process's claim
    expect(await job().runOnce('schedule')).toMatchObject({ status: 'skipped', reason: 'in-progress-elsewhere' });
  });
});
