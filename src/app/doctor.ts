/**
 * `kpi doctor`: checks what the service needs, one line per check with the fix, and exits
 * 0 only when every check passes. Checks: the settings; the state file (KPI_STATE_PATH:
 * writable, not held locked by another process); the source (reachable, the required
 * columns, its row count); Slack when a bot token is set (auth.test, and the bot is a
 * member of each configured channel); the chart's fonts; Snowflake sign-in when the
 * source is snowflake.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { WebClient } from '@slack/web-api';
import type { Settings } from '../config/settings';
import type { Logger } from '../support/log';
import { withStore } from '../db/stateStore';
import { openMemoryEngine, query } from '../db/engine';
import { createSource } from '../sources';
import { windowStartOf } from '../kpi/prepare';
import { runParams, resolveAsOf } from '../pipeline/run';
import { createSlackClient } from '../slack-api/client';
import { chartFontCheck } from '../render/slack/chart';
import { errorText } from '../support/errors';
import { formatCount } from '../support/numbers';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

export interface DoctorOptions {
  /** Slack client (default: one for SLACK_BOT_TOKEN). */
  slack?: WebClient;
  /** How long the state file may stay locked by another process (default 5 s). */
  lockTimeoutMs?: number;
}

/** The channels the settings name, with the setting that names each. */
export function configuredChannels(s: Settings): { setting: string; channel: string }[] {
  const out: { setting: string; channel: string }[] = [];
  if (s.KPI_DIGEST_CHANNEL) out.push({ setting: 'KPI_DIGEST_CHANNEL', channel: s.KPI_DIGEST_CHANNEL });
  if (s.KPI_ALERT_CHANNEL && s.KPI_ALERTS_ENABLED) out.push({ setting: 'KPI_ALERT_CHANNEL', channel: s.KPI_ALERT_CHANNEL });
  if (s.KPI_OPS_CHANNEL && s.KPI_ALERTS_ENABLED) out.push({ setting: 'KPI_OPS_CHANNEL', channel: s.KPI_OPS_CHANNEL });
  const seen = new Set<string>();
  return out.filter((c) => (seen.has(c.channel) ? false : (seen.add(c.channel), true)));
}

async function stateFileCheck(s: Settings, lockTimeoutMs: number): Promise<CheckResult> {
  const path = s.KPI_STATE_PATH;
  const name = 'state file';
  try {
    const dir = dirname(path);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
  } catch (e) {
    return { name, ok: false, detail: `${path} is not writable (${errorText(e).split('\n')[0]})`, fix: `make ${dirname(path)} writable for this user, or set KPI_STATE_PATH to a writable file` };
  }
  try {
    await withStore(path, (c) => c.run('SELECT 1'), { lockTimeoutMs });
    return { name, ok: true, detail: `${path} is writable and not locked` };
  } catch (e) {
    const msg = errorText(e).split('\n')[0];
    return { name, ok: false, detail: `${path}: ${msg}`, fix: 'another process holds the file; wait for its run to finish, or stop the stuck process (kpi serve, kpi run) that keeps it open' };
  }
}

async function sourceCheck(s: Settings, log: Logger): Promise<CheckResult> {
  const name = 'source';
  const engine = await openMemoryEngine();
  try {
    const source = createSource(s);
    const asOf = resolveAsOf(s);
    const windowStart = windowStartOf(runParams(s, asOf));
    const loaded = await source.load({ conn: engine.conn, settings: s, scope: { asOf, windowStart }, log });
    try {
      const n = loaded.rowsRead ?? (await query<{ n: number }>(engine.conn, `SELECT count(*) AS n FROM ${loaded.relation}`))[0].n;
      const demo = source.kind === 'demo' ? ' (generated demo data: set KPI_SOURCE to read your own cases)' : '';
      return { name, ok: true, detail: `${source.describe()}: reachable, required columns present, ${formatCount(Number(n))} rows${demo}` };
    } finally {
      await loaded.close();
    }
  } catch (e) {
    const msg = errorText(e).split('\n')[0];
    return { name, ok: false, detail: msg, fix: 'see the message: fix the path or table, the column names (KPI_COLUMN_MAP), or the credentials; then run kpi doctor again' };
  } finally {
    engine.close();
  }
}

interface SlackError { data?: { error?: string; needed?: string }; message?: string }

function slackErr(e: unknown): string {
  const err = e as SlackError;
  return err?.data?.error ?? err?.message ?? String(e);
}

async function slackChecks(s: Settings, log: Logger, client?: WebClient): Promise<CheckResult[]> {
  if (!s.SLACK_BOT_TOKEN) {
    return [{ name: 'slack', ok: true, detail: 'not configured (no SLACK_BOT_TOKEN): npm start writes a preview to output/slack/ instead' }];
  }
  const slack = client ?? createSlackClient(s, log, { retryConfig: { retries: 1, minTimeout: 200, maxTimeout: 1000 } });
  let botUser = '';
  let botName = 'Support KPIs';
  try {
    const a = (await slack.auth.test()) as { user_id?: string; user?: string; team?: string };
    botUser = a.user_id ?? '';
    botName = a.user ?? botName;
  } catch (e) {
    const code = slackErr(e);
    return [{ name: 'slack auth.test', ok: false, detail: `Slack refused the bot token (${code})`, fix: 'copy the Bot User OAuth Token (xoxb-...) from the app\'s OAuth & Permissions page into SLACK_BOT_TOKEN; reinstall the app if it was revoked' }];
  }
  const out: CheckResult[] = [{ name: 'slack auth.test', ok: true, detail: `signed in as @${botName}${botUser ? ` (${botUser})` : ''}` }];
  if (!s.SLACK_SIGNING_SECRET && !s.SLACK_APP_TOKEN) {
    out.push({ name: 'slack mode', ok: false, detail: 'neither SLACK_SIGNING_SECRET (HTTP mode) nor SLACK_APP_TOKEN (Socket Mode) is set', fix: 'set one of them (docs/slack-app.md, step 2)' });
  }
  const channels = configuredChannels(s);
  if (channels.length === 0) out.push({ name: 'slack channels', ok: true, detail: 'no channel configured (KPI_DIGEST_CHANNEL, KPI_ALERT_CHANNEL): nothing is posted on a schedule' });
  for (const { setting, channel } of channels) {
    const name = `slack ${setting}`;
    if (channel.startsWith('#') || !/^[CGD][A-Z0-9]+$/.test(channel)) {
      out.push({ name, ok: false, detail: `"${channel}" is a channel name, not an ID`, fix: `set ${setting} to the channel ID (channel details -> About -> Channel ID, e.g. C0123456789)` });
      continue;
    }
    try {
      const info = (await slack.conversations.info({ channel })) as { channel?: { is_member?: boolean; name?: string; is_archived?: boolean } };
      const label = info.channel?.name ? `#${info.channel.name} (${channel})` : channel;
      let member = info.channel?.is_member;
      if (member === undefined && botUser) {
        const m = (await slack.conversations.members({ channel, limit: 1000 })) as { members?: string[] };
        member = (m.members ?? []).includes(botUser);
      }
      if (info.channel?.is_archived) out.push({ name, ok: false, detail: `${label} is archived`, fix: `unarchive it or set ${setting} to another channel` });
      else if (member) out.push({ name, ok: true, detail: `the bot is a member of ${label}` });
      else out.push({ name, ok: false, detail: `the bot is not a member of ${label}`, fix: `invite it with /invite @${botName} in that channel` });
    } catch (e) {
      const code = slackErr(e);
      const fix = code === 'missing_scope'
        ? 'add the channels:read and groups:read bot scopes (manifest.yml) and reinstall the app'
        : code === 'channel_not_found'
          ? `check the ID in ${setting}; for a private channel, invite the bot first (/invite @${botName})`
          : 'see the Slack error above';
      out.push({ name, ok: false, detail: `${channel}: ${code}`, fix });
    }
  }
  return out;
}

function fontCheck(): CheckResult {
  const f = chartFontCheck();
  if (f.ok) return { name: 'chart fonts', ok: true, detail: `the charts draw text with their own font (${f.files.length} file(s), no system fonts needed)` };
  return {
    name: 'chart fonts', ok: false,
    detail: f.files.length ? 'the font files load but draw no text' : `font files missing: ${f.missing.join(', ') || '@expo-google-fonts/inter'}`,
    fix: 'reinstall the dependencies (npm ci); the charts carry the Inter font from @expo-google-fonts/inter',
  };
}

async function snowflakeCheck(s: Settings, log: Logger): Promise<CheckResult> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { checkSnowflakeSignIn } = require('../sources/snowflake') as typeof import('../sources/snowflake');
    const auth = await checkSnowflakeSignIn(s, log);
    return { name: 'snowflake sign-in', ok: true, detail: `signed in to ${s.SNOWFLAKE_ACCOUNT} as ${s.SNOWFLAKE_USER ?? '?'} (${auth})` };
  } catch (e) {
    return { name: 'snowflake sign-in', ok: false, detail: errorText(e).split('\n')[0], fix: 'see docs/snowflake.md: account, user, key pair or token, network access' };
  }
}

/** Runs every check (in order, each independent of the others' outcome). */
export async function runDoctor(s: Settings, log: Logger, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  results.push(await stateFileCheck(s, opts.lockTimeoutMs ?? 5000));
  if (s.KPI_SOURCE === 'snowflake') results.push(await snowflakeCheck(s, log));
  results.push(await sourceCheck(s, log));
  results.push(...(await slackChecks(s, log, opts.slack)));
  results.push(fontCheck());
  return results;
}

/** One line per check: `ok   name: detail` or `FAIL name: detail -> fix: ...`. */
export function formatCheck(r: CheckResult): string {
  return `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}${!r.ok && r.fix ? ` -> fix: ${r.fix}` : ''}`;
}
