/**
 * What `/kpi status`, /healthz and the Home tab show about the service: the last run, the
 * next scheduled runs, pipeline health and the alert state. Produced by pipeline/ and
 * alerts/, rendered by render/slack.
 */
export type CheckName = 'run' | 'freshness';

export interface CheckStatus {
  status: 'ok' | 'failing' | 'unknown';
  /** When the current status began. */
  since: string | null;
  /** Why it is failing (never a secret). */
  cause: string | null;
  lastCheckedAt: string | null;
  lastOkAt: string | null;
  incidents: number;
}

export interface HealthReport {
  /** Both checks ok. */
  ok: boolean;
  run: CheckStatus;
  freshness: CheckStatus;
  lastSweepAt: string | null;
  /** Summary of the last sweep (counts), if any. */
  lastSweep: Record<string, unknown> | null;
  /** Messages claimed but not yet confirmed by Slack (retried by the next sweep). */
  pendingMessages: number;
  /** Alerted cases not resolved yet. */
  openAlertedCases: number;
  /** Backlog spike alerts not cleared yet. */
  openSpikes: number;
}

export interface LastRun {
  ok: boolean;
  /** When the run finished (ISO). */
  finishedAt: string;
  asOf: string | null;
  source: string | null;
  runId: string | null;
  durationMs: number | null;
  /** Short error text of a failed run (never a secret: messages go through the logger's redaction). */
  error: string | null;
  /** Where this fact comes from: this process, or the store's run history (another process). */
  origin: 'process' | 'history';
}

export type Health = 'ok' | 'stale' | 'failing' | 'unknown';

export interface NextRun {
  name: string;
  at: string | null;
}

export interface ServiceStatus {
  lastRun: LastRun | null;
  /** Seconds since the last run finished, or null. */
  ageSeconds: number | null;
  nextRuns: NextRun[];
  source: string;
  health: Health;
  cacheFresh: boolean;
  cacheExpiresAt: string | null;
  runInFlight: boolean;
}
