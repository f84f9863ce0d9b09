/**
 * `kpi serve` / `npm start` with Slack settings: the Bolt app (HTTP or Socket Mode), the
 * daily digest schedule and the on-call alert schedule in one process.
 */
import type { Settings } from '../config/settings';
import { createLogger, type Logger } from '../support/log';
import { runPipeline, type RunOptions, type RunResult } from '../pipeline/run';
import { createPostClient } from '../slack-api/client';
import { SlackTransport } from '../slack-api/transport';
import { createApp, EVENTS_PATH, HEALTH_PATH, type AppDeps } from '../bot/app';
import { createDigestJob, scheduleDigest, type ScheduleHandle } from '../jobs/digest';
import { scheduleAlerts } from '../jobs/alerts';
import { nextFireTime } from '../support/cronTime';
import { register as registerAlertButtons } from '../bot/listeners/actions';
import { shortError } from '../support/errors';

export interface ServeOptions {
  log?: Logger;
  /** Listen port (default PORT; 0 = any free port). */
  port?: number;
}

export interface ServeHandle {
  /** The port HTTP mode (or Socket Mode's /healthz) listens on. */
  port?: number;
  stop(): Promise<void>;
}

/** Internal knobs for tests and the benchmark (not settings a user sets). */
export interface ServeInternals extends Pick<AppDeps, 'runPipeline' | 'retryConfig' | 'respondOptions' | 'socket'> {
  /** Skip the digest and alert schedules. */
  schedules?: boolean;
}

export async function serve(settings: Settings, opts: ServeOptions = {}, internals: ServeInternals = {}): Promise<ServeHandle> {
  const log = opts.log ?? createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL, stderr: true });
  if (!settings.SLACK_BOT_TOKEN) throw new Error('SLACK_BOT_TOKEN is not set: see docs/slack-app.md to create the app and copy its bot token');
  const pipeline = internals.runPipeline ?? runPipeline;
  // The jobs post through one transport (no blind WebClient retries, one pacer per process).
  const slack = createPostClient(settings, log);
  const transport = new SlackTransport({ client: slack, log: log.child({ component: 'slack-transport' }) });
  const withSchedules = internals.schedules !== false;

  // Alerts first, so the buttons' message edits share the alert job's per-channel pacer.
  const alerts = withSchedules ? scheduleAlerts(settings, { client: slack, transport, log: log.child({ job: 'alerts' }) }) : null;

  const kapp = createApp(settings, {
    log,
    runPipeline: pipeline,
    retryConfig: internals.retryConfig,
    respondOptions: internals.respondOptions,
    socket: internals.socket,
  });
  registerAlertButtons(kapp.app, { dbPath: settings.KPI_STATE_PATH, tz: settings.KPI_TZ, log: log.child({ component: 'alert-actions' }), pacer: transport.pacer });
  const reports = kapp.reports;

  let digest: ScheduleHandle | undefined;
  let digestJob: ReturnType<typeof createDigestJob> | undefined;
  if (withSchedules && settings.KPI_DIGEST_CHANNEL) {
    // The digest's runs also tell /kpi status and /healthz how the last run went, and the
    // /kpi commands after the digest answer from its run (the cache takes its kept cases).
    const run = async (o: RunOptions): Promise<RunResult> => {
      const started = Date.now();
      try {
        const r = await pipeline({ ...o, keepData: true });
        reports.adopt(r, Date.now() - started);
        return { report: r.report, files: r.files };
      } catch (e) {
        reports.noteRun({ ok: false, error: e });
        throw e;
      }
    };
    digestJob = createDigestJob({ settings, log: log.child({ job: 'digest' }), run, slack, transport });
    digest = scheduleDigest(digestJob, settings, log);
    reports.addSchedule('digest', () => nextFireTime(settings.KPI_DIGEST_CRON, settings.KPI_TZ, new Date()));
  } else if (withSchedules) {
    log.warn('daily digest not scheduled: KPI_DIGEST_CHANNEL is not set');
  }
  if (alerts?.job) reports.addSchedule('alerts', () => nextFireTime(settings.KPI_ALERT_CRON, settings.KPI_TZ, new Date()));

  let port: number | undefined;
  try {
    ({ port } = await kapp.start(opts.port ?? settings.PORT));
  } catch (e) {
    await Promise.all([digest?.stop(), alerts?.stop()]);
    await kapp.stop().catch(() => undefined);
    throw new Error(`The Slack app could not start: ${shortError(e)}`);
  }
  if (kapp.mode === 'http') {
    log.info({ mode: 'http', port }, `Slack app listening on port ${port}: events at ${EVENTS_PATH}, health at ${HEALTH_PATH}`);
  } else {
    log.info({ mode: 'socket', port }, `Slack app connected over Socket Mode; health at http://localhost:${port}${HEALTH_PATH}`);
  }
  void reports.loadHistory();
  if (digestJob) {
    void digestJob.catchUpOnStart().catch((e: unknown) => log.error({ job: 'digest', err: shortError(e) }, 'digest catch-up failed'));
  }

  let stopped = false;
  return {
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Each waits (bounded) for its run in flight; together, not one after the other.
      await Promise.all([digest?.stop(), alerts?.stop()]);
      await kapp.stop();
      log.info('Slack app stopped');
    },
  };
}
