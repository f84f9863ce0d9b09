/**
 * The daily digest job: run the pipeline (which writes output/ and run history), post the
 * Block Kit digest to KPI_DIGEST_CHANNEL, then upload the trend chart and the day's CSVs
 * into the message's thread.
 *
 * Once per day and channel, whatever happens:
 * - Runs in this process never overlap (a promise-chain mutex).
 * - Before doing anything, the job claims (digest_date, channel) in the store's digest_log
 *   (INSERT ... ON CONFLICT DO NOTHING RETURNING): only the claimer posts, so a restart or a
 *   second process sharing the DuckDB file never posts the day's digest again. The message
 *   ts is stored after posting. If the run or the post fails, the claim is released so a
 *   retry (or the next start's catch-up) can send it. A claim left without ts by a process
 *   that died is taken over after `staleClaimMs`.
 * - digest_date is the day in KPI_TZ of the job's clock.
 *
 * Schedule: node-cron at KPI_DIGEST_CRON in KPI_TZ (`scheduleDigest`). On start,
 * `catchUpOnStart()` sends today's digest if today's scheduled time has already passed and
 * none was sent (the bot was down at 08:00).
 */
import { schedule as cronSchedule } from 'node-cron';
import type { WebClient } from '@slack/web-api';
import type { Settings } from '../config/settings';
import type { KpiReport } from '../contract/report';
import type { Logger } from '../support/log';
import type { RunOptions, RunResult, Trigger } from '../pipeline/run';
import { REPORT_FILES, renderCsv, type ReportFile } from '../render/files/csv';
import { claimDigest, completeDigest, releaseDigest, type Claim } from './digestLog';
import { previousRun } from '../pipeline/runHistory';
import { renderDigest, type DigestMessage } from '../render/slack/digest';
import { localTime } from '../render/slack/format';
import { renderComplianceChart, renderTrendChart } from '../render/slack/chart';
import type { UploadFile } from '../slack-api/client';
import { SlackMaybePostedError, SlackTransport } from '../slack-api/transport';
import { localDate, previousFireTime } from '../support/cronTime';
import { STOP_WAIT_MS, waitForInFlight } from '../support/inFlight';
import { type RunHistoryRow } from '../contract/runHistory';
import { errorText } from '../support/errors';

export type RunFn = (opts: RunOptions) => Promise<RunResult>;
export type DigestReason = 'schedule' | 'catch-up' | 'retry' | 'manual';

export interface DigestJobOptions {
  settings: Settings;
  log: Logger;
  /** runPipeline or a stand-in with the same shape. */
  run: RunFn;
  slack: WebClient;
  /** Default: () => new Date(). */
  clock?: () => Date;
  /** Default: settings.KPI_STATE_PATH. */
  dbPath?: string;
  /** Where the pipeline writes its files (default settings.KPI_OUTPUT_DIR; null: none). */
  outDir?: string | null;
  /** Default: settings.KPI_DIGEST_CHANNEL. */
  channel?: string;
  /** A claim without ts older than this is considered abandoned (default 30 min). */
  staleClaimMs?: number;
  /** Retries after a failed attempt on the same day (default 3; 0 disables). */
  maxRetries?: number;
  /** Delay before a retry (default 10 min). */
  retryDelayMs?: number;
  /** The Slack transport (default: one over `slack` and the process's pacer, shared with the alerts). */
  transport?: SlackTransport;
}

export type DigestOutcome =
  | { status: 'sent'; date: string; channel: string; ts: string; files: string[]; uploadError?: string }
  | { status: 'skipped'; reason: 'already-sent' | 'in-progress-elsewhere' | 'no-channel' | 'not-due' | 'stopped'; date: string; ts?: string | null }
  | { status: 'failed'; date: string; stage: 'run' | 'post' | 'claim'; error: string };

export interface DigestJob {
  runOnce(reason?: DigestReason): Promise<DigestOutcome>;
  catchUpOnStart(): Promise<DigestOutcome>;
  /**
   * Cancels pending retries and refuses new runs; resolves once the run in flight (if any)
   * has finished, or after STOP_WAIT_MS (default), whichever comes first.
   */
  stop(timeoutMs?: number): Promise<void>;
}

/* ---- the job ---------------------------------------------------------------------- */

/** Message metadata event of the digest posts (the "already posted?" lookup finds them by it). */
export const DIGEST_EVENT = 'kpi_digest';

export function digestMsgId(date: string, channel: string): string {
  return `digest:${date}:${channel}`;
}

const CSV_TITLES: Record<ReportFile, string> = {
  sla_summary: 'SLA summary',
  backlog_summary: 'Backlog summary',
  volume_trend: 'Volume trend',
  sla_at_risk_cases: 'At-risk and breached cases',
  backlog_spike_summary: 'Backlog spike summary',
  daily_ops_summary: 'Daily ops summary',
  data_quality_score: 'Data quality score',
  volume_anomaly_summary: 'Volume anomaly summary',
  sla_policy_summary: 'SLA by policy',
};

/** The digest's trend chart (PNG) for a report. */
export function digestChart(report: KpiReport): Buffer {
  return renderTrendChart(report.volumeTrend, {
    title: `Support volume, last ${report.volumeTrend.length} days`,
    subtitle: `As of ${localTime(report.meta.asOf, report.meta.reportTz)} · days in ${report.meta.reportTz}`,
    anomalies: report.volumeAnomaly.filter((a) => a.is_anomaly),
  });
}

/** The digest's second chart (PNG): SLA compliance per day against the goal; null when the report has no such series. */
export function complianceChart(report: KpiReport, goalPct: number): Buffer | null {
  if (!report.slaComplianceByDay) return null;
  return renderComplianceChart(report.slaComplianceByDay, {
    goalPct,
    title: `SLA compliance per day (resolution), last ${report.slaComplianceByDay.length} days`,
    subtitle: `Cases resolved each day that met their SLA · goal ${goalPct}% · days in ${report.meta.reportTz}`,
  });
}

/** The files that go into the digest's thread: the trend and compliance charts and the seven contract CSVs. */
export function digestAttachments(report: KpiReport, opts: { goalPct?: number } = {}): UploadFile[] {
  const date = report.meta.asOfDate;
  const chart = digestChart(report);
  const files: UploadFile[] = [{ filename: 'trend.png', content: chart, title: `Trend, ${date}`, altText: 'Cases created and resolved per day, and the open backlog, over the report window' }];
  const compliance = complianceChart(report, opts.goalPct ?? 95);
  if (compliance) {
    files.push({ filename: 'sla_compliance.png', content: compliance, title: `SLA compliance per day, ${date}`, altText: 'Share of the cases resolved each day that met their resolution SLA, against the goal' });
  }
  for (const f of Object.keys(REPORT_FILES) as ReportFile[]) {
    files.push({ filename: `${f}.csv`, content: renderCsv(report, f), title: `${CSV_TITLES[f]}, ${date}` });
  }
  return files;
}

/**
 * The run a digest compares with: the newest scheduled run of an earlier day, or else the
 * newest successful run of an earlier day. The digest job and the preview (npm start,
 * `kpi digest --dry-run`) use this one rule, so they show the same changes.
 */
export async function findPrevious(dbPath: string, report: KpiReport, log?: Logger): Promise<RunHistoryRow | null> {
  try {
    const before = { beforeDate: report.meta.asOfDate };
    return (await previousRun(dbPath, report.meta.asOf, { ...before, triggers: ['schedule'] }))
      ?? (await previousRun(dbPath, report.meta.asOf, before));
  } catch (e) {
    log?.warn({ job: 'digest', err: errorText(e) }, 'could not read run history; digest without deltas');
    return null;
  }
}

/** The digest message for a report, exactly as the job posts it (same comparison run, same options). */
export async function digestMessage(report: KpiReport, settings: Pick<Settings, 'KPI_DQ_MIN'>, dbPath: string, log?: Logger): Promise<DigestMessage> {
  const previous = await findPrevious(dbPath, report, log);
  return renderDigest(report, previous, { dqMin: settings.KPI_DQ_MIN });
}

export function createDigestJob(opts: DigestJobOptions): DigestJob {
  const { settings, log, slack } = opts;
  const clock = opts.clock ?? (() => new Date());
  const dbPath = opts.dbPath ?? settings.KPI_STATE_PATH;
  const outDir = opts.outDir === undefined ? settings.KPI_OUTPUT_DIR : opts.outDir;
  const channel = opts.channel ?? settings.KPI_DIGEST_CHANNEL;
  const tz = settings.KPI_TZ;
  const staleMs = opts.staleClaimMs ?? 30 * 60_000;
  const maxRetries = opts.maxRetries ?? 3;
  const retryDelayMs = opts.retryDelayMs ?? 10 * 60_000;
  const transport = opts.transport ?? new SlackTransport({ client: slack, log });
  // Days whose post may have reached Slack without us hearing back: the retry looks first.
  const maybePosted = new Set<string>();

  let chain: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const retryTimers = new Set<NodeJS.Timeout>();
  const failuresByDate = new Map<string, number>();

  function scheduleRetry(date: string): void {
    const n = (failuresByDate.get(date) ?? 0) + 1;
    failuresByDate.set(date, n);
    if (stopped || n > maxRetries) return;
    log.info({ job: 'digest', date, attempt: n + 1, inMs: retryDelayMs }, 'digest will be retried');
    const t = setTimeout(() => {
      retryTimers.delete(t);
      // Only retry on the same day; tomorrow has its own schedule.
      if (localDate(clock(), tz) === date) void runOnce('retry');
    }, retryDelayMs);
    t.unref();
    retryTimers.add(t);
  }

  async function attempt(reason: DigestReason): Promise<DigestOutcome> {
    const now = clock();
    const date = localDate(now, tz);
    if (stopped) return { status: 'skipped', reason: 'stopped', date };
    if (!channel) {
      log.warn({ job: 'digest' }, 'KPI_DIGEST_CHANNEL is not set: no digest is posted');
      return { status: 'skipped', reason: 'no-channel', date };
    }
    const ctx = { job: 'digest', reason, date, channel };

    let claimed: Claim;
    try {
      const r = await claimDigest(dbPath, date, channel, now, staleMs);
      if ('existing' in r) {
        const already = r.existing.ts !== null;
        log.info({ ...ctx, ts: r.existing.ts }, already ? 'digest already sent today' : 'digest is being sent by another process');
        return { status: 'skipped', reason: already ? 'already-sent' : 'in-progress-elsewhere', date, ts: r.existing.ts };
      }
      claimed = r.claim;
    } catch (e) {
      log.error({ ...ctx, err: errorText(e) }, 'could not claim the digest in the store');
      return { status: 'failed', date, stage: 'claim', error: errorText(e) };
    }

    // 1. Run the pipeline
    let result: RunResult;
    try {
      const trigger: Trigger = 'schedule';
      const asOf = settings.KPI_AS_OF ? undefined : new Date(Math.floor(now.getTime() / 1000) * 1000);
      result = await opts.run({ settings, log, asOf, outDir, trigger });
    } catch (e) {
      await releaseDigest(dbPath, claimed).catch((err: Error) => log.error({ ...ctx, err: err.message }, 'could not release the digest claim'));
      log.error({ ...ctx, err: errorText(e) }, 'digest: pipeline run failed');
      scheduleRetry(date);
      return { status: 'failed', date, stage: 'run', error: errorText(e) };
    }
    const report = result.report;

    // 2. Post the message
    let ts: string;
    let postedChannel: string;
    try {
      const msg = await digestMessage(report, settings, dbPath, log);
      // Exactly once: the post carries its key in metadata; after a lost answer, or when this
      // attempt takes over from one that may have posted, it is looked up before posting.
      const res = await transport.postOnce(
        { channel, text: msg.text, blocks: msg.blocks, unfurl_links: false, unfurl_media: false },
        { eventType: DIGEST_EVENT, msgId: digestMsgId(date, channel) },
        { mayBePosted: Boolean(claimed.takenOver) || maybePosted.has(date), since: new Date(now.getTime() - 6 * 3_600_000) },
      );
      maybePosted.delete(date);
      ts = res.ts;
      postedChannel = res.channel;
    } catch (e) {
      if (e instanceof SlackMaybePostedError) maybePosted.add(date);
      await releaseDigest(dbPath, claimed).catch((err: Error) => log.error({ ...ctx, err: err.message }, 'could not release the digest claim'));
      log.error({ ...ctx, err: errorText(e) }, 'digest: posting to Slack failed');
      scheduleRetry(date);
      return { status: 'failed', date, stage: 'post', error: errorText(e) };
    } finally {
      result.data?.close();
    }
    try {
      await completeDigest(dbPath, claimed, ts);
    } catch (e) {
      // The message is out; the claim (without ts) still blocks other senders until it goes stale.
      log.error({ ...ctx, ts, err: errorText(e) }, 'digest posted but its ts could not be stored');
    }
    log.info({ ...ctx, ts, runId: report.meta.runId }, 'digest posted');

    // 3. Chart and CSVs in the thread. The message is out: a failure here is logged, never re-posted.
    const files = digestAttachments(report, { goalPct: settings.KPI_SLA_GOAL_PCT });
    let uploadError: string | undefined;
    try {
      await transport.upload({ channel: postedChannel, threadTs: ts, files });
      log.info({ ...ctx, ts, files: files.length }, 'digest attachments uploaded');
    } catch (e) {
      uploadError = errorText(e);
      log.error({ ...ctx, ts, err: uploadError }, 'digest attachments could not be uploaded');
      try {
        await transport.postOnce(
          { channel: postedChannel, thread_ts: ts, text: `The chart and CSV files could not be attached (${uploadError.slice(0, 200)}). They are in the output folder of the KPI service.` },
          { eventType: DIGEST_EVENT, msgId: `${digestMsgId(date, channel)}:upload-failed` },
        );
      } catch { /* already logged */ }
    }
    return { status: 'sent', date, channel: postedChannel, ts, files: files.map((f) => f.filename), uploadError };
  }

  function runOnce(reason: DigestReason = 'manual'): Promise<DigestOutcome> {
    const p = chain.then(() => attempt(reason));
    chain = p.catch(() => undefined);
    return p.catch((e: Error): DigestOutcome => {
      log.error({ job: 'digest', reason, err: e.message }, 'digest job failed');
      return { status: 'failed', date: localDate(clock(), tz), stage: 'run', error: e.message };
    });
  }

  async function catchUpOnStart(): Promise<DigestOutcome> {
    const now = clock();
    const today = localDate(now, tz);
    const last = previousFireTime(settings.KPI_DIGEST_CRON, tz, now);
    if (!last || localDate(last, tz) !== today) {
      log.info({ job: 'digest', date: today }, 'no digest was due yet today: no catch-up');
      return { status: 'skipped', reason: 'not-due', date: today };
    }
    log.info({ job: 'digest', date: today, scheduledAt: last.toISOString() }, 'checking for a missed digest');
    return runOnce('catch-up');
  }

  return {
    runOnce,
    catchUpOnStart,
    async stop(timeoutMs = STOP_WAIT_MS) {
      stopped = true;
      for (const t of retryTimers) clearTimeout(t);
      retryTimers.clear();
      if (!(await waitForInFlight(chain, timeoutMs))) {
        log.warn({ job: 'digest', waitedMs: timeoutMs }, 'digest still running at shutdown; stopping without waiting longer');
      }
    },
  };
}

/* ---- schedule ---------------------------------------------------------------------- */

export interface ScheduleHandle {
  stop(): Promise<void>;
}

type Scheduler = (expr: string, fn: () => unknown, options: { timezone: string; name: string; noOverlap: boolean }) => {
  stop(): void | Promise<void>;
  destroy(): void | Promise<void>;
};

/** Runs the digest at KPI_DIGEST_CRON in KPI_TZ. `scheduler` is injectable for tests. */
export function scheduleDigest(
  job: DigestJob,
  settings: Pick<Settings, 'KPI_DIGEST_CRON' | 'KPI_TZ'>,
  log: Logger,
  scheduler: Scheduler = cronSchedule as unknown as Scheduler,
): ScheduleHandle {
  const task = scheduler(settings.KPI_DIGEST_CRON, () => job.runOnce('schedule'), {
    timezone: settings.KPI_TZ, name: 'kpi-digest', noOverlap: true,
  });
  log.info({ job: 'digest', cron: settings.KPI_DIGEST_CRON, tz: settings.KPI_TZ }, 'digest scheduled');
  return {
    async stop() {
      await task.stop();
      await task.destroy();
      await job.stop();
    },
  };
}
