/**
 * One-shot commands for an orchestrator (cron, Airflow, a CI job) that posts right after
 * its load: `kpi digest` (the daily digest job, once, now) and `kpi alerts` (one alert
 * sweep). Both use the bot's state file (KPI_STATE_PATH): the digest claims its
 * (date, channel) row in digest_log and a sweep claims its alerts in the alert state, so
 * the bot and these commands never post the same thing twice.
 *
 * `--dry-run` prints the Block Kit JSON that would be sent and posts nothing, claims
 * nothing: the digest renders the report without touching digest_log or run history; the
 * sweep runs on a snapshot copy of the state file against a Slack stand-in that records
 * the calls instead of sending them.
 *
 * Each returns the exit code: 0 ok (also "already posted"), 1 failed. Missing settings
 * throw ConfigError (exit 2).
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebClient } from '@slack/web-api';
import { ConfigError, type Settings } from '../config/settings';
import type { Logger } from '../support/log';
import { runPipeline } from '../pipeline/run';
import { createSlackClient } from '../slack-api/client';
import { createDigestJob, digestAttachments, digestMessage } from '../jobs/digest';
import { createAlertJob } from '../jobs/alerts';
import { formatCount } from '../support/numbers';
import { DEMO_NOTICE } from '../render/demo';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function needToken(settings: Settings, what: string): void {
  if (!settings.SLACK_BOT_TOKEN) {
    throw new ConfigError(`SLACK_BOT_TOKEN is not set: ${what} posts to Slack (see docs/slack-app.md; --dry-run prints the message instead)`);
  }
}

/* ---- kpi digest ------------------------------------------------------------------- */

export async function digestCommand(settings: Settings, log: Logger, o: { channel?: string; dryRun?: boolean }, io: Io = stdio): Promise<number> {
  const channel = o.channel ?? settings.KPI_DIGEST_CHANNEL;
  if (o.dryRun) {
    const { report } = await runPipeline({ settings, log, outDir: null, recordHistory: false, trigger: 'cli' });
    const msg = await digestMessage(report, settings, settings.KPI_STATE_PATH, log);
    io.out(`${JSON.stringify({ channel: channel ?? null, text: msg.text, blocks: msg.blocks, unfurl_links: false, unfurl_media: false }, null, 2)}\n`);
    const files = digestAttachments(report, { goalPct: settings.KPI_SLA_GOAL_PCT }).map((f) => f.filename);
    io.err(`Dry run: nothing posted, nothing claimed. The thread would get ${files.join(', ')}.\n`);
    if (report.meta.demo) io.err(`${DEMO_NOTICE}.\n`);
    return 0;
  }
  needToken(settings, '`kpi digest`');
  if (!channel) throw new ConfigError('KPI_DIGEST_CHANNEL is not set: pass --channel C0123456789 or set KPI_DIGEST_CHANNEL (a channel ID)');
  const slack = createSlackClient(settings, log);
  const job = createDigestJob({ settings, log, run: runPipeline, slack, channel, maxRetries: 0 });
  try {
    const r = await job.runOnce('manual');
    if (r.status === 'sent') {
      io.out(`Digest for ${r.date} posted to ${r.channel} (ts ${r.ts}); ${r.files.length} files in its thread.\n`);
      if (r.uploadError) {
        io.err(`kpi: the digest is posted, but its chart and CSV files could not be attached: ${r.uploadError}\n`);
        return 1;
      }
      return 0;
    }
    if (r.status === 'skipped') {
      const why = r.reason === 'already-sent' ? `already posted${r.ts ? ` (ts ${r.ts})` : ''}`
        : r.reason === 'in-progress-elsewhere' ? 'being posted by another process (the bot or another kpi digest)' : r.reason;
      io.out(`Digest for ${r.date} to ${channel}: ${why}; nothing posted.\n`);
      return 0;
    }
    io.err(`kpi: digest for ${r.date} failed (${r.stage}): ${r.error.split('\n')[0]}\n`);
    return 1;
  } finally {
    await job.stop();
  }
}

/* ---- kpi alerts ------------------------------------------------------------------- */

export interface RecordedSlackCall {
  method: string;
  args: Record<string, unknown>;
}

/** Methods that only read: left out of the dry run's printout. */
const READ_METHODS = /^(auth\.test|conversations\.(history|replies|info|members|open)|users\.)/;

/**
 * A Slack stand-in for dry runs: every Web API method answers ok (a made-up ts, no
 * history) and is recorded instead of sent.
 */
export function recordingSlack(calls: RecordedSlackCall[]): WebClient {
  let n = 0;
  const answer = (method: string, args: Record<string, unknown> = {}) => {
    calls.push({ method, args });
    n += 1;
    const ts = `${Math.floor(Date.now() / 1000)}.${String(n).padStart(6, '0')}`;
    const channel = (args.channel ?? args.channel_id) as string | undefined;
    return Promise.resolve({ ok: true, ts, channel, messages: [], files: [], channel_id: channel, response_metadata: {} });
  };
  const group = (prefix: string): unknown => new Proxy({}, {
    get: (_t, name) => (typeof name === 'string' ? (args?: Record<string, unknown>) => answer(`${prefix}.${name}`, args) : undefined),
  });
  return new Proxy({}, {
    get: (_t, name) => {
      if (name === 'apiCall') return (method: string, args?: Record<string, unknown>) => answer(method, args);
      if (typeof name !== 'string' || name === 'then') return undefined;
      return group(name);
    },
  }) as WebClient;
}

/** A recorded call as printed by a dry run: what would be sent, files by name and size. */
function printable(c: RecordedSlackCall): Record<string, unknown> {
  const out: Record<string, unknown> = { method: c.method };
  for (const [k, v] of Object.entries(c.args)) {
    if (k === 'file_uploads' && Array.isArray(v)) {
      out.files = (v as { filename?: string; file?: Buffer; content?: string }[]).map((f) => ({ filename: f.filename, bytes: f.file?.length ?? f.content?.length ?? 0 }));
    } else if (k !== 'token') {
      out[k] = v;
    }
  }
  return out;
}

export async function alertsCommand(settings: Settings, log: Logger, o: { dryRun?: boolean }, io: Io = stdio): Promise<number> {
  if (!settings.KPI_ALERT_CHANNEL) throw new ConfigError('KPI_ALERT_CHANNEL is not set: on-call alerts need a channel (a channel ID such as C0123456789)');
  if (!o.dryRun) needToken(settings, '`kpi alerts`');
  let snapshot: string | undefined;
  let s = settings;
  const calls: RecordedSlackCall[] = [];
  let client: WebClient;
  if (o.dryRun) {
    // The sweep decides and claims in its state: on a copy, so the real state is untouched.
    snapshot = mkdtempSync(join(tmpdir(), 'kpi-alerts-dry-run-'));
    const copy = join(snapshot, 'state.duckdb');
    if (existsSync(settings.KPI_STATE_PATH)) {
      copyFileSync(settings.KPI_STATE_PATH, copy);
      if (existsSync(`${settings.KPI_STATE_PATH}.wal`)) copyFileSync(`${settings.KPI_STATE_PATH}.wal`, `${copy}.wal`);
    }
    s = { ...settings, KPI_STATE_PATH: copy };
    client = recordingSlack(calls);
  } else {
    client = createSlackClient(settings, log);
  }
  try {
    const job = createAlertJob({ settings: s, client, log, ...(o.dryRun ? { paceMs: 0 } : {}) });
    const r = await job.sweep();
    const c = r.cases;
    const d = r.delivery;
    const summary = r.failure
      ? `Alert sweep ${r.sweepId}: the KPI run failed: ${r.failure}`
      : `Alert sweep ${r.sweepId}: ${formatCount(c?.newAtRisk ?? 0)} newly at risk, ${formatCount(c?.newBreached ?? 0)} newly breached, ${formatCount(c?.resolved ?? 0)} resolved`;
    if (o.dryRun) {
      const writes = calls.filter((x) => !READ_METHODS.test(x.method)).map(printable);
      io.out(`${JSON.stringify(writes, null, 2)}\n`);
      io.err(`${summary}. Dry run: nothing posted, nothing claimed (${formatCount(writes.length)} Slack call(s) would be made).\n`);
    } else {
      io.out(`${summary}; ${formatCount(d?.posted ?? 0)} posted, ${formatCount(d?.updated ?? 0)} updated, ${formatCount(d?.pending ?? 0)} pending.\n`);
    }
    if (r.failure) return 1;
    if (!o.dryRun && d && d.failed > 0) {
      io.err(`kpi: ${formatCount(d.failed)} Slack message(s) failed: ${d.errors.slice(0, 3).join('; ')} (they are retried by the next sweep)\n`);
      return 1;
    }
    return 0;
  } finally {
    if (snapshot) rmSync(snapshot, { recursive: true, force: true });
  }
}
