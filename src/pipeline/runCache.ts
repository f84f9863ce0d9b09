/**
 * One class on purpose: the cache's state (the latest run, the run in flight, its slices and
 * users) is shared by every method; split, the locking between them would be spread over files.
 *
 * The latest-run cache behind the slash commands and /healthz.
 *
 * - Answers come from the latest run while it is fresh (KPI_CACHE_MINUTES); otherwise a new
 *   run starts (runPipeline with keepData, trigger 'slack').
 * - Concurrent requests share one in-flight run: fifty people typing /kpi at 09:00 start
 *   one run, not fifty.
 * - Filters (priority, region, team, policy) and a shorter window (days=7) are recomputed from the
 *   run's kept cases (CaseSet.compute); identical slices of one run are computed once.
 *   A window longer than the run's needs more rows than the run kept: it gets its own run
 *   for the same as_of (not cached beyond that run's lifetime).
 * - A replaced run's CaseSet is closed once the last request using it has finished.
 *
 * Slack code renders what this returns; nothing here computes a KPI itself.
 */
import type { Settings } from '../config/settings';
import type { CaseFilter, KpiReport } from '../contract/report';
import { redact, silentLogger, type Logger } from '../support/log';
import { runPipeline as realRunPipeline, type CaseSet, type RunOptions, type RunResult, type Trigger } from './run';
import { lastRun } from './runHistory';
import { type LastRun, type ServiceStatus, type Health, type NextRun } from '../contract/status';
import { isoSeconds } from '../support/time';
import { shortError } from '../support/errors';

export type RunPipelineFn = (opts: RunOptions) => Promise<RunResult>;

export interface ReportServiceOptions {
  settings: Settings;
  log?: Logger;
  /** Default: the real pipeline. Tests and benchmarks inject their own. */
  runPipeline?: RunPipelineFn;
  /** Clock (ms since epoch); default Date.now. */
  now?: () => number;
  /** Freshness of the cached run in ms; default KPI_CACHE_MINUTES. */
  cacheMs?: number;
  /** Extra run options (e.g. outDir: null in tests). */
  runOptions?: Partial<Omit<RunOptions, 'settings' | 'keepData' | 'trigger'>>;
  /** Trigger recorded for runs this service starts (default 'slack'). */
  trigger?: Trigger;
}

export interface ReportQuery {
  filter?: CaseFilter;
  /** Window of the answer in days (default: the run's window). */
  windowDays?: number;
  /** Ignore the cache: start a fresh run (or join the one in flight). */
  force?: boolean;
}

export interface RunInfo {
  runId: string;
  asOf: string;
  source: string;
  finishedAt: string;
  durationMs: number;
}

export interface ReportAnswer {
  report: KpiReport;
  /** True when the answer came from the cached run without waiting for a new one. */
  cached: boolean;
  run: RunInfo;
}





interface CachedRun {
  report: KpiReport;
  data?: CaseSet;
  finishedAtMs: number;
  durationMs: number;
  users: number;
  retired: boolean;
  closed: boolean;
  slices: Map<string, Promise<KpiReport>>;
}

interface Flight {
  promise: Promise<CachedRun>;
  /** Callers waiting on this flight; each gets one use of the entry when it lands. */
  waiters: number;
}

const MAX_SLICES = 256;

export class ReportService {
  private readonly settings: Settings;
  private readonly log: Logger;
  private readonly run: RunPipelineFn;
  private readonly now: () => number;
  private readonly cacheMs: number;
  private readonly runOptions: ReportServiceOptions['runOptions'];
  private readonly trigger: Trigger;
  private latest?: CachedRun;
  private flight?: Flight;
  private last: LastRun | null = null;
  private history: LastRun | null = null;
  private historyReadAt?: number;
  private readonly schedules = new Map<string, () => Date | null | undefined>();
  private closing = false;
  private readonly pendingWork = new Set<Promise<unknown>>();
  private readonly runListeners: ((report: KpiReport) => void)[] = [];

  constructor(opts: ReportServiceOptions) {
    this.settings = opts.settings;
    this.log = opts.log ?? silentLogger();
    this.run = opts.runPipeline ?? realRunPipeline;
    this.now = opts.now ?? Date.now;
    this.cacheMs = opts.cacheMs ?? opts.settings.KPI_CACHE_MINUTES * 60_000;
    this.runOptions = opts.runOptions;
    this.trigger = opts.trigger ?? 'slack';
  }

  /** A report for the query: from the fresh cached run, or after a new (shared) run. */
  async get(query: ReportQuery = {}): Promise<ReportAnswer> {
    if (this.closing) throw new Error('The report service is shutting down');
    const { entry, cached } = await this.acquire(query.force === true);
    try {
      const report = await this.slice(entry, query.filter ?? {}, query.windowDays);
      return { report, cached, run: runInfo(entry) };
    } finally {
      this.release(entry);
    }
  }

  /** Forces a new run (or joins the one in flight) and returns its full report. */
  async refresh(): Promise<ReportAnswer> {
    return this.get({ force: true });
  }

  /** True when a request now would be answered from the cache without a run. */
  isFresh(): boolean {
    return this.latest !== undefined && this.fresh(this.latest);
  }

  /** Calls `fn` after each new run becomes the latest (a /kpi run, the digest's run): the App Home refresh. */
  onNewRun(fn: (report: KpiReport) => void): void {
    this.runListeners.push(fn);
  }

  /** Registers a schedule shown by status and /healthz (digest, alerts). */
  addSchedule(name: string, next: () => Date | null | undefined): void {
    this.schedules.set(name, next);
  }

  /**
   * Records a run made elsewhere in this process (the digest job), so status and health
   * see it. The report is not used for answers (it may have no kept cases).
   */
  noteRun(outcome: { ok: true; report: KpiReport; durationMs?: number } | { ok: false; error: unknown }): void {
    if (outcome.ok) {
      const m = outcome.report.meta;
      this.last = {
        ok: true, finishedAt: new Date(this.now()).toISOString(), asOf: m.asOf, source: m.source, runId: m.runId,
        durationMs: outcome.durationMs ?? null, error: null, origin: 'process',
      };
    } else {
      this.last = {
        ok: false, finishedAt: new Date(this.now()).toISOString(), asOf: null, source: null, runId: null,
        durationMs: null, error: shortError(outcome.error), origin: 'process',
      };
    }
  }

  /**
   * Takes a run made elsewhere in this process (the digest job) as the latest run, so the
   * /kpi commands after the digest answer from it while it is fresh instead of running the
   * pipeline again. From then on the service owns the run's kept cases (it closes them when
   * the run is replaced, or at once while shutting down).
   */
  adopt(result: RunResult, durationMs?: number): void {
    this.noteRun({ ok: true, report: result.report, durationMs });
    if (!result.data) return;
    if (this.closing) {
      result.data.close();
      return;
    }
    this.install(result, this.now(), durationMs ?? Math.round(result.report.timings.total ?? 0), 0);
  }

  /**
   * Reads the newest run_history row (runs by other processes or jobs: CLI, digest, alerts),
   * at most once per `maxAgeMs`, giving up after `timeoutMs` when the file is busy.
   */
  async loadHistory(opts: { maxAgeMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const nowMs = this.now();
    if (this.historyReadAt !== undefined && nowMs - this.historyReadAt < (opts.maxAgeMs ?? 0)) return;
    this.historyReadAt = nowMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const row = await Promise.race([
        lastRun(this.settings.KPI_STATE_PATH),
        new Promise<null>((ok) => { timer = setTimeout(() => ok(null), opts.timeoutMs ?? 2000); timer.unref?.(); }),
      ]);
      if (!row) return;
      const startedMs = Date.parse(row.started_at);
      const finishedMs = Number.isNaN(startedMs) ? nowMs : startedMs + (row.total_ms ?? 0);
      this.history = {
        ok: row.ok, finishedAt: isoSeconds(new Date(finishedMs)), asOf: row.as_of, source: row.source, runId: row.run_id,
        durationMs: row.total_ms, error: row.error ? redact(row.error).slice(0, 300) : null, origin: 'history',
      };
    } catch (e) {
      this.log.debug({ err: shortError(e) }, 'no run history available for status');
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** The newest run known: this process's, or a newer one from run history. */
  private lastKnown(): LastRun | null {
    const a = this.last;
    const b = this.history;
    if (!a) return b ?? null;
    if (!b || b.runId === a.runId) return a;
    return Date.parse(b.finishedAt) > Date.parse(a.finishedAt) ? b : a;
  }

  status(): ServiceStatus {
    const nowMs = this.now();
    const last = this.lastKnown();
    const ageSeconds = last ? Math.max(0, Math.round((nowMs - Date.parse(last.finishedAt)) / 1000)) : null;
    let health: Health = 'unknown';
    if (last && !last.ok) health = 'failing';
    else if (last && ageSeconds !== null && ageSeconds > this.settings.KPI_STALE_HOURS * 3600) health = 'stale';
    else if (last) health = 'ok';
    const nextRuns: NextRun[] = [...this.schedules].map(([name, next]) => {
      let at: Date | null | undefined = null;
      try {
        at = next();
      } catch {
        at = null;
      }
      return { name, at: at ? isoSeconds(at) : null };
    });
    const fresh = this.latest !== undefined && this.fresh(this.latest);
    return {
      lastRun: last,
      ageSeconds,
      nextRuns,
      source: last?.source ?? this.latest?.report.meta.source ?? this.settings.KPI_SOURCE,
      health,
      cacheFresh: fresh,
      cacheExpiresAt: this.latest ? isoSeconds(new Date(this.latest.finishedAtMs + this.cacheMs)) : null,
      runInFlight: this.flight !== undefined,
    };
  }

  /** Waits for runs and slices in flight, then closes every kept case set. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.flight) await this.flight.promise.catch(() => undefined);
    await Promise.allSettled([...this.pendingWork]);
    if (this.latest) {
      this.latest.retired = true;
      this.maybeClose(this.latest, true);
      this.latest = undefined;
    }
  }

  // ---- internals ----

  private fresh(entry: CachedRun): boolean {
    return this.now() - entry.finishedAtMs < this.cacheMs;
  }

  private async acquire(force: boolean): Promise<{ entry: CachedRun; cached: boolean }> {
    const latest = this.latest;
    if (!force && latest && this.fresh(latest)) {
      latest.users += 1;
      return { entry: latest, cached: true };
    }
    const flight = this.flight ?? this.startFlight();
    flight.waiters += 1;
    // The flight adds one use per waiter before resolving, so the entry can't be closed in between.
    const entry = await flight.promise;
    return { entry, cached: false };
  }

  private startFlight(): Flight {
    const started = this.now();
    const flight: Flight = { waiters: 0, promise: undefined as unknown as Promise<CachedRun> };
    const track = this.track.bind(this);
    flight.promise = track((async () => {
      try {
        const result = await this.run({
          ...this.runOptions,
          settings: this.settings,
          log: this.runOptions?.log ?? this.log,
          trigger: this.trigger,
          keepData: true,
        });
        const finished = this.now();
        const entry = this.install(result, finished, finished - started, flight.waiters);
        this.noteRun({ ok: true, report: result.report, durationMs: entry.durationMs });
        if (this.closing) {
          entry.retired = true;
        }
        return entry;
      } catch (e) {
        this.noteRun({ ok: false, error: e });
        throw e;
      } finally {
        if (this.flight === flight) this.flight = undefined;
      }
    })());
    this.flight = flight;
    return flight;
  }

  /** Makes a run the latest (retiring the one before) and schedules its release. */
  private install(result: RunResult, finishedAtMs: number, durationMs: number, users: number): CachedRun {
    const entry: CachedRun = {
      report: result.report, data: result.data, finishedAtMs, durationMs, users,
      retired: false, closed: false, slices: new Map(),
    };
    const previous = this.latest;
    this.latest = entry;
    this.expireLater(entry);
    if (previous) {
      previous.retired = true;
      this.maybeClose(previous);
    }
    // After the caller has its answer: a listener that asks for a report gets this run.
    if (this.runListeners.length) {
      setImmediate(() => {
        for (const fn of this.runListeners) {
          try { fn(result.report); } catch (e) { this.log.warn({ err: shortError(e) }, 'a new-run listener failed'); }
        }
      });
    }
    return entry;
  }

  /**
   * Once a run is no longer fresh, its kept cases (the run's whole in-memory database) are
   * released even if no newer run replaces it: an idle bot does not hold them all day.
   */
  private expireLater(entry: CachedRun): void {
    const timer = setTimeout(() => {
      if (this.latest !== entry || this.fresh(entry)) return;
      this.latest = undefined;
      entry.retired = true;
      this.maybeClose(entry);
    }, this.cacheMs + 1000);
    timer.unref();
  }

  private release(entry: CachedRun): void {
    entry.users -= 1;
    this.maybeClose(entry);
  }

  private maybeClose(entry: CachedRun, evenIfUsed = false): void {
    if (entry.closed || !entry.retired || (entry.users > 0 && !evenIfUsed)) return;
    entry.closed = true;
    entry.slices.clear();
    try {
      entry.data?.close();
    } catch (e) {
      this.log.warn({ err: shortError(e) }, 'closing a replaced case set failed');
    }
  }

  private slice(entry: CachedRun, filter: CaseFilter, windowDays: number | undefined): Promise<KpiReport> {
    const clean: CaseFilter = {};
    if (filter.priority) clean.priority = filter.priority;
    if (filter.region) clean.region = filter.region;
    if (filter.team) clean.team = filter.team;
    if (filter.policy) clean.policy = filter.policy;
    const runWindow = entry.report.meta.windowDays;
    const days = windowDays === runWindow ? undefined : windowDays;
    if (Object.keys(clean).length === 0 && days === undefined) return Promise.resolve(entry.report);
    const key = JSON.stringify([clean.priority ?? null, clean.region ?? null, clean.team ?? null, days ?? null, clean.policy?.toLowerCase() ?? null]);
    const memo = entry.slices.get(key);
    if (memo) return memo;
    let p: Promise<KpiReport>;
    if (days !== undefined && days > runWindow) {
      p = this.wideRun(entry, clean, days);
    } else {
      const data = entry.data;
      if (!data) return Promise.reject(new Error('The cached run kept no cases (runPipeline was called without keepData)'));
      p = data.compute(Object.keys(clean).length ? clean : undefined, days === undefined ? undefined : { windowDays: days });
    }
    p = this.track(p);
    if (entry.slices.size >= MAX_SLICES) entry.slices.clear();
    entry.slices.set(key, p);
    p.catch(() => {
      if (entry.slices.get(key) === p) entry.slices.delete(key);
    });
    return p;
  }

  /** A window longer than the cached run's: its own run for the same as_of, nothing written. */
  private async wideRun(entry: CachedRun, filter: CaseFilter, days: number): Promise<KpiReport> {
    const settings: Settings = { ...this.settings, KPI_WINDOW_DAYS: days };
    const result = await this.run({
      ...this.runOptions,
      settings,
      log: this.runOptions?.log ?? this.log,
      asOf: new Date(entry.report.meta.asOf),
      outDir: null,
      recordHistory: false,
      trigger: this.trigger,
      keepData: Object.keys(filter).length > 0,
    });
    if (!result.data) return result.report;
    try {
      return await result.data.compute(filter);
    } finally {
      result.data.close();
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pendingWork.add(p);
    const done = () => this.pendingWork.delete(p);
    p.then(done, done);
    return p;
  }
}

function runInfo(entry: CachedRun): RunInfo {
  const m = entry.report.meta;
  return { runId: m.runId, asOf: m.asOf, source: m.source, finishedAt: isoSeconds(new Date(entry.finishedAtMs)), durationMs: entry.durationMs };
}
