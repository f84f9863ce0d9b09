/**
 * Shared by the Slack app / command tests and bench/slack.ts: a small fixed KpiReport, a
 * fake pipeline (counts runs, optional delay, kept CaseSet that records compute/close), and
 * Slack request signing.
 */
import { createHmac } from 'node:crypto';
import { loadSettings, type Settings } from '../src/config/settings';
import type { CaseFilter, KpiReport } from '../src/contract/report';
import type { CaseSet, RunOptions, RunResult } from '../src/pipeline/run';

export const BOT_TOKEN = 'xoxb-1111-2222-testtoken';
export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const APP_TOKEN = 'xapp-1-A0FAKEAPP1-1234-abcdef';

export function testSettings(env: Record<string, string> = {}): Settings {
  return loadSettings({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    KPI_LOG_LEVEL: 'silent',
    KPI_DB_PATH: ':memory:', KPI_STATE_PATH: ':memory:',
    KPI_OUTPUT_DIR: 'output-test-unused',
    ...env,
  });
}

export function sampleReport(asOf = '2026-11-23T09:00:00Z', runId = 'run-1'): KpiReport {
  return {
    meta: {
      runId, source: 'demo', asOf, asOfDate: asOf.slice(0, 10), windowStart: '2026-10-24T09:00:00Z', windowDays: 30,
      reportTz: 'UTC', riskThresholdPct: 80, spikeThresholdPct: 20, spikeBaselineDays: 7, rowsRead: 1200,
      newestCreatedAt: '2026-11-23T08:55:00Z', backlogChainAdjustment: [],
    },
    slaSummary: [
      { priority: 'P1', total_cases: 40, resolved_cases: 35, open_cases: 5, met: 30, breached: 6, pending: 4, sla_compliance_pct: 83.3, avg_resolution_hours: 3.1, median_resolution_hours: 2.75, p90_resolution_hours: 5.2, first_response_compliance_pct: 90 },
      { priority: 'P2', total_cases: 100, resolved_cases: 90, open_cases: 10, met: 85, breached: 7, pending: 8, sla_compliance_pct: 92.4, avg_resolution_hours: 6.5, median_resolution_hours: 6, p90_resolution_hours: 9.9, first_response_compliance_pct: 95.5 },
      { priority: 'ALL', total_cases: 140, resolved_cases: 125, open_cases: 15, met: 115, breached: 13, pending: 12, sla_compliance_pct: 89.8, avg_resolution_hours: 5.55, median_resolution_hours: 5, p90_resolution_hours: 9.1, first_response_compliance_pct: 94.1 },
    ],
    backlogSummary: [
      { priority: 'P1', open_cases: 5, at_risk: 1, breached: 2, avg_age_hours: 4.5, max_age_hours: 9, age_0_1d: 5, age_1_3d: 0, age_3_7d: 0, age_7d_plus: 0 },
      { priority: 'ALL', open_cases: 15, at_risk: 3, breached: 4, avg_age_hours: 20.25, max_age_hours: 200, age_0_1d: 9, age_1_3d: 3, age_3_7d: 2, age_7d_plus: 1 },
    ],
    volumeTrend: [
      { date: '2026-11-22', created: 50, resolved: 48, net_change: 2, backlog_end_of_day: 13 },
      { date: '2026-11-23', created: 7, resolved: 5, net_change: 2, backlog_end_of_day: 15 },
    ],
    backlogByPriority: { P1: [3, 4], P2: [10, 11] },
    atRiskCases: [
      { case_id: '=HYPERLINK("x")', priority: 'P1', region: 'EMEA', team: 'billing', assignee: 'ana', status: 'open', created_at: '2026-11-23T04:00:00Z', due_at: '2026-11-23T08:00:00Z', sla_target_hours: 4, elapsed_hours: 5, sla_elapsed_pct: 125, hours_to_breach: -1, risk_level: 'breached', policy: 'default', calendar: '24x7', clock_state: 'running', risk_stage: 100 },
      { case_id: 'C-1002', priority: 'P2', region: 'AMER', team: 'core', assignee: null, status: 'pending', created_at: '2026-11-23T02:00:00Z', due_at: '2026-11-23T10:00:00Z', sla_target_hours: 8, elapsed_hours: 7, sla_elapsed_pct: 87.5, hours_to_breach: 1, risk_level: 'at_risk', policy: 'default', calendar: '24x7', clock_state: 'running', risk_stage: 80 },
    ],
    slaPolicySummary: [],
    backlogSpike: [
      { scope: 'ALL', as_of_date: '2026-11-23', backlog_today: 15, baseline_avg: 12, growth_pct: 25, threshold_pct: 20, is_spike: true },
    ],
    dailyOps: {
      as_of: asOf, as_of_date: asOf.slice(0, 10), cases_in_window: 140, created_today: 7, resolved_today: 5, open_backlog: 15,
      sla_compliance_pct: 89.8, first_response_compliance_pct: 94.1, at_risk_cases: 3, breached_open_cases: 4,
      backlog_growth_pct: 25, backlog_spike: true, data_quality_score: 97.5,
    },
    volumeAnomaly: [
      { scope: 'ALL', date: '2026-11-22', weekday: 'Sunday', created: 50, baseline_median: 48, baseline_low: 23.75, baseline_high: 72.25, z_score: 0.29, is_anomaly: false, direction: null, baseline_days: 6 },
    ],
    dataQuality: {
      as_of: asOf, total_rows: 1200, missing_rows: 6, missing_pct: 0.5, duplicate_rows: 12, duplicate_pct: 1, invalid_sla_rows: 60, invalid_sla_pct: 5, quality_score: 97.5, history_rows: 0, invalid_history_rows: 0,
    },
    warnings: [],
    timings: { total: 12 },
  };
}

/** A slice the fake CaseSet "computes": rows narrowed to the priority, meta carries the filter. */
export function sliceOf(report: KpiReport, filter?: CaseFilter, windowDays?: number): KpiReport {
  const r: KpiReport = JSON.parse(JSON.stringify(report));
  if (filter && Object.keys(filter).length) r.meta.filter = filter;
  if (windowDays) r.meta.windowDays = windowDays;
  if (filter?.priority) {
    r.slaSummary = r.slaSummary.filter((x) => x.priority === filter.priority || x.priority === 'ALL');
    r.atRiskCases = r.atRiskCases.filter((x) => x.priority === filter.priority);
  }
  if (windowDays) r.volumeTrend = r.volumeTrend.slice(-windowDays);
  return r;
}

export interface FakePipeline {
  run: (opts: RunOptions) => Promise<RunResult>;
  runs: RunOptions[];
  computes: { filter?: CaseFilter; windowDays?: number }[];
  closed: number;
  /** Delay of each run in ms. */
  delayMs: number;
  /** Delay of each compute in ms. */
  computeDelayMs: number;
  /** Make the next run fail with this error. */
  failNext?: Error;
}

export function fakePipeline(delayMs = 0): FakePipeline {
  const fp: FakePipeline = {
    runs: [], computes: [], closed: 0, delayMs, computeDelayMs: 0,
    run: async (opts) => {
      fp.runs.push(opts);
      const n = fp.runs.length;
      if (fp.delayMs) await new Promise((ok) => setTimeout(ok, fp.delayMs));
      if (fp.failNext) {
        const e = fp.failNext;
        fp.failNext = undefined;
        throw e;
      }
      const base = sampleReport(opts.asOf ? opts.asOf.toISOString().replace(/\.\d{3}Z$/, 'Z') : '2026-11-23T09:00:00Z', `run-${n}`);
      base.meta.windowDays = opts.settings.KPI_WINDOW_DAYS;
      let closed = false;
      const data: CaseSet = {
        compute: async (filter, overrides) => {
          if (closed) throw new Error('CaseSet used after close');
          fp.computes.push({ filter, windowDays: overrides?.windowDays });
          if (fp.computeDelayMs) await new Promise((ok) => setTimeout(ok, fp.computeDelayMs));
          return sliceOf(base, filter, overrides?.windowDays);
        },
        close: () => {
          closed = true;
          fp.closed += 1;
        },
      };
      return { report: base, files: [], data: opts.keepData ? data : undefined };
    },
  };
  return fp;
}

/** Slack's request signature: v0=HMAC-SHA256(secret, `v0:${ts}:${body}`). */
export function sign(body: string, ts: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
}

export interface SlashFields {
  text: string;
  user_id?: string;
  channel_id?: string;
  channel_name?: string;
  response_url: string;
  command?: string;
}

export function slashBody(f: SlashFields): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0FAKE0001',
    team_domain: 'fake',
    channel_id: f.channel_id ?? 'C0SUPPORT1',
    channel_name: f.channel_name ?? 'support-leads',
    user_id: f.user_id ?? 'U0ASKER001',
    user_name: 'asker',
    command: f.command ?? '/kpi',
    text: f.text,
    api_app_id: 'A0FAKEAPP1',
    is_enterprise_install: 'false',
    response_url: f.response_url,
    trigger_id: '1234.5678.abcdef',
  }).toString();
}

/** Posts a signed slash command to the app; resolves with status and time to response. */
export async function postSlash(
  appUrl: string,
  body: string,
  opts: { ts?: number; signature?: string } = {},
): Promise<{ status: number; ms: number; text: string }> {
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  const t0 = performance.now();
  const res = await fetch(appUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': opts.signature ?? sign(body, ts),
    },
    body,
  });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - t0, text };
}
