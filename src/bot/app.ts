/**
 * The Bolt app: HTTP mode (signed requests on POST /slack/events, GET /healthz) or Socket
 * Mode when SLACK_APP_TOKEN is set (a WebSocket from apps.connections.open; /healthz on
 * PORT from a small HTTP server). Listener kinds register themselves from their own folder
 * (src/commands/index.ts register(app, deps)). Signature verification is always on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import type { RetryOptions } from '@slack/web-api';
import type { Settings } from '../config/settings';
import { registerSecrets, silentLogger, type Logger } from '../support/log';
import commands from './listeners/commands';
import events from './listeners/events';
import { createAppHome, type AppHome } from './home';
import type { PostResponseOptions } from '../slack-api/respond';
import { createLimiter } from '../support/limit';
import { accessPolicy } from './access';
import { DEFAULT_RETRY, slackLogger } from '../slack-api/client';
import { ReportService, type RunPipelineFn } from '../pipeline/runCache';
import { shortError } from '../support/errors';
import { type ServiceStatus } from '../contract/status';
import { installOutgoingEscaping } from '../slack-api/outgoing';
import type { CaseExplanation } from '../kpi/explain';

export const EVENTS_PATH = '/slack/events';
export const HEALTH_PATH = '/healthz';

export interface AppDeps {
  log?: Logger;
  /** The latest-run cache; default: a new ReportService over deps.runPipeline. */
  reports?: ReportService;
  /** Report source for the default ReportService (tests inject a fake pipeline). */
  runPipeline?: RunPipelineFn;
  /** Web API retries (tests use short waits). Default: bounded, honouring Retry-After. */
  retryConfig?: RetryOptions;
  /** response_url retries (tests use short waits). */
  respondOptions?: PostResponseOptions;
  /** Answers delivered at once after their acks (default 6); the rest queue. */
  deliveryConcurrency?: number;
  /** `/kpi explain`; default: the case read from the configured source (pipeline/explain.ts). */
  explain?: (caseId: string) => Promise<CaseExplanation>;
  /** Socket Mode client tuning (tests: no reconnect). */
  socket?: { autoReconnectEnabled?: boolean; clientPingTimeout?: number; serverPingTimeout?: number };
}

export type AppMode = 'http' | 'socket';

export interface HealthBody {
  ok: boolean;
  health: ServiceStatus['health'];
  mode: AppMode;
  last_run: null | {
    ok: boolean;
    as_of: string | null;
    finished_at: string;
    age_seconds: number | null;
    source: string | null;
    run_id: string | null;
    error: string | null;
  };
  source: string;
  next_runs: { name: string; at: string | null }[];
  next_run: string | null;
  cache_fresh: boolean;
  run_in_flight: boolean;
}

export interface KpiApp {
  app: App;
  mode: AppMode;
  reports: ReportService;
  /** The App Home tab (published on app_home_opened and after each new run). */
  home: AppHome;
  /** Starts listening (HTTP mode: PORT or the given port, 0 = any; Socket Mode: connects). */
  start(port?: number): Promise<{ port?: number }>;
  /** Stops receiving, waits for answers in progress (bounded), closes the report cache. */
  stop(): Promise<void>;
  health(): HealthBody;
  /** Work in progress after an ack. */
  inflight: Set<Promise<unknown>>;
  /** The listening HTTP server once started (HTTP mode: Bolt's receiver; Socket Mode: /healthz). */
  readonly server?: Server;
}

export function healthBody(reports: ReportService, mode: AppMode): HealthBody {
  const s = reports.status();
  const next = s.nextRuns.map((n) => n.at).filter((x): x is string => Boolean(x)).sort()[0] ?? null;
  return {
    ok: s.health !== 'failing',
    health: s.health,
    mode,
    last_run: s.lastRun
      ? {
          ok: s.lastRun.ok, as_of: s.lastRun.asOf, finished_at: s.lastRun.finishedAt, age_seconds: s.ageSeconds,
          source: s.lastRun.source, run_id: s.lastRun.runId, error: s.lastRun.error,
        }
      : null,
    source: s.source,
    next_runs: s.nextRuns,
    next_run: next,
    cache_fresh: s.cacheFresh,
    run_in_flight: s.runInFlight,
  };
}

async function sendHealth(reports: ReportService, mode: AppMode, res: ServerResponse): Promise<void> {
  // Runs by other processes (CLI, another job) are in run history; read it at most every 30 s.
  await reports.loadHistory({ maxAgeMs: 30_000, timeoutMs: 500 });
  const body = healthBody(reports, mode);
  res.writeHead(body.ok ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export function createApp(settings: Settings, deps: AppDeps = {}): KpiApp {
  const log = deps.log ?? silentLogger();
  const token = settings.SLACK_BOT_TOKEN;
  if (!token) throw new Error('SLACK_BOT_TOKEN is not set: the Slack app needs the bot token (xoxb-...) from "OAuth & Permissions"');
  const mode: AppMode = settings.SLACK_APP_TOKEN ? 'socket' : 'http';
  if (mode === 'http' && !settings.SLACK_SIGNING_SECRET) {
    throw new Error('SLACK_SIGNING_SECRET is not set: HTTP mode needs the signing secret from "Basic Information" (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  registerSecrets([token, settings.SLACK_SIGNING_SECRET, settings.SLACK_APP_TOKEN]);

  const boltLog = slackLogger(log.child({ component: 'bolt' }), LogLevel.INFO);
  const reports = deps.reports ?? new ReportService({ settings, log, runPipeline: deps.runPipeline });
  const clientOptions = {
    slackApiUrl: settings.SLACK_API_URL ?? undefined,
    retryConfig: deps.retryConfig ?? DEFAULT_RETRY,
    rejectRateLimitedCalls: false,
    timeout: 30_000,
  };

  let receiver: HTTPReceiver | SocketModeReceiver;
  let healthServer: Server | undefined;
  if (mode === 'http') {
    receiver = new HTTPReceiver({
      signingSecret: settings.SLACK_SIGNING_SECRET!,
      endpoints: EVENTS_PATH,
      signatureVerification: true,
      processBeforeResponse: false,
      logger: boltLog,
      customRoutes: [{ path: HEALTH_PATH, method: ['GET'], handler: (_req, res) => void sendHealth(reports, mode, res) }],
    });
  } else {
    receiver = new SocketModeReceiver({
      appToken: settings.SLACK_APP_TOKEN!,
      logger: boltLog,
      autoReconnectEnabled: deps.socket?.autoReconnectEnabled ?? true,
      clientPingTimeout: deps.socket?.clientPingTimeout,
      serverPingTimeout: deps.socket?.serverPingTimeout,
      installerOptions: { clientOptions: { ...clientOptions, retryConfig: undefined } },
    });
  }

  installOutgoingEscaping();
  const app = new App({
    token,
    receiver,
    logger: boltLog,
    clientOptions,
    deferInitialization: true,
    convoStore: false,
  });
  app.error(async (e) => {
    log.error({ err: shortError(e) }, 'unhandled error in a Slack listener');
  });

  const inflight = new Set<Promise<unknown>>();
  commands.register(app, {
    settings, reports, log, policy: accessPolicy(settings), respondOptions: deps.respondOptions, inflight,
    limiter: createLimiter(deps.deliveryConcurrency ?? 6), dmCache: new Map(), explain: deps.explain,
  });

  // App Home: published when a viewer opens it, and again for every viewer seen after each new run.
  const home = createAppHome(settings, reports, log.child({ component: 'app-home' }));
  events.register(app, { home, log });
  reports.onNewRun(() => { void home.refreshAll(app.client); });

  let started = false;
  let httpServer: Server | undefined;
  return {
    app,
    mode,
    reports,
    home,
    inflight,
    get server() {
      return httpServer ?? healthServer;
    },
    health: () => healthBody(reports, mode),
    async start(port?: number) {
      await app.init(); // auth.test: fails here, with Slack's error, on a bad token
      const listenPort = port ?? settings.PORT;
      if (mode === 'http') {
        const server = (await app.start(listenPort)) as unknown as Server;
        // Keep connections from Slack (or a load balancer, often 60 s idle) open longer than
        // Node's 5 s default, so a burst of commands does not pay for new connections.
        server.keepAliveTimeout = 65_000;
        server.headersTimeout = 66_000;
        httpServer = server;
        started = true;
        return { port: (server.address() as AddressInfo).port };
      }
      await app.start();
      started = true;
      healthServer = createServer((req: IncomingMessage, res: ServerResponse) => {
        if (req.method === 'GET' && (req.url ?? '').split('?')[0] === HEALTH_PATH) return void sendHealth(reports, mode, res);
        res.writeHead(404).end();
      });
      await new Promise<void>((ok, bad) => {
        healthServer!.once('error', bad);
        healthServer!.listen(listenPort, () => ok());
      });
      return { port: (healthServer.address() as AddressInfo).port };
    },
    async stop() {
      if (started) {
        started = false;
        if (mode === 'socket') {
          await (receiver as SocketModeReceiver).client.disconnect();
          if (healthServer) {
            const hs = healthServer;
            healthServer = undefined;
            hs.closeAllConnections();
            await new Promise<void>((ok) => hs.close(() => ok()));
          }
        } else {
          await app.stop().catch((e: unknown) => log.warn({ err: shortError(e) }, 'stopping the HTTP receiver failed'));
          httpServer = undefined;
        }
      }
      // Answers already acknowledged get up to 10 s to finish.
      if (inflight.size) {
        await Promise.race([Promise.allSettled([...inflight]), new Promise((ok) => setTimeout(ok, 10_000).unref())]);
      }
      if (!deps.reports) await reports.close();
    },
  };
}
