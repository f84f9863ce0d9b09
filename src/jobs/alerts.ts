/**
 * On-call alerts: every KPI_ALERT_CRON (default every 15 minutes) a sweep
 *   1. produces a report (the pipeline, or an injected function in tests),
 *   2. in ONE short transaction on the shared database: records pipeline health, compares
 *      the at-risk list and the backlog spike rows with the stored alert state, and claims
 *      what is new (alert rows + pending outbox messages),
 *   3. delivers the outbox (paced, Retry-After honoured, exactly once) and edits the
 *      messages whose state changed.
 * Nothing is posted when nothing is new. See docs/alerts.md.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron from 'node-cron';
import type { WebClient } from '@slack/web-api';
import type { Settings } from '../config/settings';
import type { KpiReport } from '../contract/report';
import { silentLogger, type Logger } from '../support/log';
import { runPipeline } from '../pipeline/run';
import type { UploadRequest, UploadedFile } from '../slack-api/client';
import { alertTx } from '../alerts/db';
import { Deliverer, type DeliveryStats } from '../alerts/deliver';
import { ChannelPacer, processPacer } from '../slack-api/pacer';
import { SlackTransport } from '../slack-api/transport';
import { formatTime } from '../render/slack/format';
import { claimReminders, diffAnomalies, diffCases, diffSpikes, purgeOld, type CaseDiff, type SpikeDiff, type SweepContext } from '../alerts/state';
import { applyCheck, recordSweep, staleness } from '../alerts/health';
import { describeFailure } from '../support/errors';
import { ownerMention, parseAlertRouting, routeCase } from '../config/alertRoutes';
import { STOP_WAIT_MS, waitForInFlight } from '../support/inFlight';

export interface AlertJobDeps {
  settings: Settings;
  client: WebClient;
  log?: Logger;
  /** Produces the report for a sweep. Default: a pipeline run (no files written). */
  getReport?: (asOf: Date) => Promise<KpiReport>;
  /** Clock (default: real time). */
  now?: () => Date;
  /** Sleep used by the default pacer (tests pass one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
  /** Default settings.KPI_STATE_PATH. */
  dbPath?: string;
  /** Pacer (default: the process's pacer, shared with the digest; a private one when `sleep` or `paceMs` is given). */
  pacer?: ChannelPacer;
  /** The Slack transport (default: one over `client` and the pacer). Share it with the digest job. */
  transport?: SlackTransport;
  /** Gap between messages in one channel (default 1100 ms). */
  paceMs?: number;
  /** Lease of a claimed message before another sweep may take it over (default 10 min). */
  leaseMs?: number;
  /** Escalation reminder for unacknowledged cases after this many minutes (default 60; 0 = off). */
  reminderMinutes?: number;
  /** Resolved alerts are forgotten after this many days (default 30). */
  retentionDays?: number;
  /** Record what is already open as known on a channel's first sweep, with one summary (default true). */
  quietStart?: boolean;
  /** 429s tolerated per message in one sweep (default 10). */
  maxRateLimitRetries?: number;
  upload?: (client: WebClient, req: UploadRequest) => Promise<UploadedFile[]>;
}

export interface SweepResult {
  sweepId: string;
  at: string;
  skipped?: 'overlap';
  /** The report could not be produced (cause, redacted). */
  failure?: string;
  cases?: CaseDiff;
  spikes?: SpikeDiff;
  /** Volume-anomaly alert threads opened (contract 7). */
  anomalies?: string[];
  reminders: number;
  health: { run?: string; freshness?: string };
  delivery?: DeliveryStats;
  /** Time to produce the report, ms. */
  reportMs: number;
  /** Time of the whole decide-and-claim transaction (open to close of the file), ms. */
  diffMs: number;
  /** Of which: comparing the at-risk list with the stored alerts and claiming, ms. */
  caseDiffMs?: number;
  deliverMs: number;
}

export interface AlertJob {
  sweep(): Promise<SweepResult>;
  readonly pacer: ChannelPacer;
  readonly transport: SlackTransport;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function createAlertJob(deps: AlertJobDeps): AlertJob {
  const s = deps.settings;
  const log = deps.log ?? silentLogger();
  const now = deps.now ?? (() => new Date());
  const dbPath = deps.dbPath ?? s.KPI_STATE_PATH;
  const pacer = deps.transport?.pacer ?? deps.pacer
    ?? (deps.sleep || deps.paceMs !== undefined ? new ChannelPacer({ intervalMs: deps.paceMs, sleep: deps.sleep }) : processPacer());
  const transport = deps.transport ?? new SlackTransport({
    client: deps.client, pacer, log, maxRateLimitRetries: deps.maxRateLimitRetries ?? 10, upload: deps.upload,
  });
  const alertChannel = s.KPI_ALERT_CHANNEL;
  if (!alertChannel) throw new Error('KPI_ALERT_CHANNEL is not set: on-call alerts need a channel (a channel id such as C0123456789 is best)');
  const opsChannel = s.KPI_OPS_CHANNEL || alertChannel;
  const getReport = deps.getReport ?? (async (asOf: Date) => (await runPipeline({ settings: s, log, asOf, outDir: null, trigger: 'alert' })).report);
  const deliverer = new Deliverer({
    dbPath, transport, log, now, tz: s.KPI_TZ, leaseMs: deps.leaseMs ?? 10 * 60_000,
  });
  const routing = s.alertRouting ?? parseAlertRouting(s);
  const routeChannels = [...new Set(routing.routes.map((r) => r.channel))];
  let running = false;

  async function sweep(): Promise<SweepResult> {
    const at = new Date(Math.floor(now().getTime() / 1000) * 1000);
    const nowIso = iso(at);
    const sweepId = `${nowIso.replace(/[-:]/g, '').replace('Z', '')}-${randomBytes(3).toString('hex')}`;
    const result: SweepResult = { sweepId, at: nowIso, reminders: 0, health: {}, reportMs: 0, diffMs: 0, deliverMs: 0 };
    if (running) {
      log.info({ sweepId }, 'alert sweep skipped: the previous one is still running');
      return { ...result, skipped: 'overlap' };
    }
    running = true;
    try {
      const claimId = `${hostname()}:${process.pid}:${sweepId}`;
      let report: KpiReport | null = null;
      const t0 = Date.now();
      try {
        report = await getReport(at);
      } catch (e) {
        result.failure = describeFailure(e);
        log.error({ sweepId, cause: result.failure }, 'alert sweep: the KPI run failed');
      }
      result.reportMs = Date.now() - t0;
      const t1 = Date.now();
      const ctx: SweepContext = {
        now: nowIso, sweepId, claimId, channel: alertChannel!, maxReplies: s.KPI_ALERT_MAX_REPLIES,
        horizonHours: s.KPI_BREACH_HORIZON_HOURS, quietStart: deps.quietStart,
        ...(routing.routes.length ? { route: (c) => routeCase(routing, c as never, alertChannel!), channels: routeChannels } : {}),
        mention: (c) => ownerMention(routing, c),
      };
      const opsCtx: SweepContext = { ...ctx, channel: opsChannel };
      await alertTx(dbPath, async (tx) => {
        if (!report) {
          result.health.run = await applyCheck(tx, opsCtx, 'run', true, result.failure ?? 'unknown error');
        } else {
          result.health.run = await applyCheck(tx, opsCtx, 'run', false, null, 'KPI pipeline runs succeed again');
          const stale = staleness(report, nowIso, s.KPI_STALE_HOURS, s.KPI_TZ);
          const newest = report.meta.newestCreatedAt;
          result.health.freshness = await applyCheck(tx, opsCtx, 'freshness', stale !== null, stale,
            `KPI data is fresh again${newest ? `: newest case created ${formatTime(newest, s.KPI_TZ)}` : ''}`);
          // A source that delivered no rows at all says nothing about open cases: keep alerts as they are.
          const tc = Date.now();
          result.cases = await diffCases(tx, report, ctx, { skipResolution: report.dataQuality.total_rows === 0 });
          result.caseDiffMs = Date.now() - tc;
          result.spikes = await diffSpikes(tx, report, ctx, report.meta.spikeBaselineDays);
          result.anomalies = await diffAnomalies(tx, report, ctx, s.KPI_OPS_CHANNEL || null);
        }
        result.reminders = await claimReminders(tx, ctx, deps.reminderMinutes ?? 60);
        await purgeOld(tx, nowIso, deps.retentionDays ?? 30);
        await recordSweep(tx, nowIso, {
          sweepId, ok: Boolean(report), newAtRisk: result.cases?.newAtRisk ?? 0, newBreached: result.cases?.newBreached ?? 0,
          resolved: result.cases?.resolved ?? 0, spikesOpened: result.spikes?.opened.length ?? 0, spikesCleared: result.spikes?.cleared.length ?? 0,
        });
      });
      result.diffMs = Date.now() - t1;
      const t2 = Date.now();
      result.delivery = await deliverer.deliver(claimId);
      result.deliverMs = Date.now() - t2;
      const c = result.cases;
      if (c && (c.threadId || c.resolved || c.reopened) || result.delivery.posted || result.delivery.updated || result.delivery.failed) {
        log.info({
          sweepId, newAtRisk: c?.newAtRisk, newBreached: c?.newBreached, resolved: c?.resolved, reopened: c?.reopened,
          posted: result.delivery.posted, updated: result.delivery.updated, pending: result.delivery.pending,
          rateLimited: result.delivery.rateLimited, diffMs: result.diffMs, deliverMs: result.deliverMs,
        }, 'alert sweep');
      }
      return result;
    } finally {
      running = false;
    }
  }

  return { sweep, pacer, transport };
}

export type AlertSchedule = (() => Promise<void>) & { stop(): Promise<void>; job: AlertJob | null };

/**
 * Runs sweeps on KPI_ALERT_CRON (in KPI_TZ), never two at once. Returns a handle that is
 * itself the stop function (`stop()`) and also has `.stop()`. With KPI_ALERTS_ENABLED=false
 * or no KPI_ALERT_CHANNEL, nothing is scheduled.
 */
export function scheduleAlerts(settings: Settings, deps: Omit<AlertJobDeps, 'settings'>): AlertSchedule {
  const log = deps.log ?? silentLogger();
  const none = async () => undefined;
  const noop = Object.assign(none, { stop: none, job: null }) as AlertSchedule;
  if (!settings.KPI_ALERTS_ENABLED) {
    log.info('on-call alerts are off (KPI_ALERTS_ENABLED=false)');
    return noop;
  }
  if (!settings.KPI_ALERT_CHANNEL) {
    log.warn('on-call alerts are not scheduled: KPI_ALERT_CHANNEL is not set');
    return noop;
  }
  const job = createAlertJob({ ...deps, settings });
  let running: Promise<void> = Promise.resolve();
  const task = cron.schedule(settings.KPI_ALERT_CRON, () => {
    running = (async () => {
      try {
        await job.sweep();
      } catch (e) {
        log.error({ cause: describeFailure(e) }, 'alert sweep failed; its claimed messages are retried by the next sweep');
      }
    })();
    return running;
  }, { name: 'kpi-alerts', timezone: settings.KPI_TZ, noOverlap: true });
  log.info({ cron: settings.KPI_ALERT_CRON, channel: settings.KPI_ALERT_CHANNEL }, 'on-call alerts scheduled');
  // Stopping waits for a sweep in flight (bounded): its claimed messages are then posted.
  const stop = async () => {
    await task.stop();
    await task.destroy();
    if (!(await waitForInFlight(running))) log.warn({ waitedMs: STOP_WAIT_MS }, 'alert sweep still running at shutdown; stopping without waiting longer (the next sweep retries its claimed messages)');
  };
  return Object.assign(stop, { stop, job }) as AlertSchedule;
}
