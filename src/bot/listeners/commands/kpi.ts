/**
 * `/kpi <sub> [filters] [public]`.
 *
 * The listener acks first (Slack wants an answer within 3 s), then does the work and
 * answers through the response_url: an ephemeral Block Kit summary (in the channel with
 * `public`) and the report's CSV, uploaded to a DM with the person who asked (or into the
 * channel with `public`). Problems become a short message; errors are logged with a
 * reference the person can quote, never shown as a stack trace.
 */
import { randomBytes } from 'node:crypto';
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Settings } from '../../../config/settings';
import { redact, type Logger } from '../../../support/log';
import { renderCsv, type ReportFile } from '../../../render/files/csv';
import { accessPolicy, checkAccess, isAdmin, type AccessPolicy } from '../../access';
import { uploadFiles } from '../../../slack-api/client';
import type { Reply } from '../../../render/slack/format';
import { renderAdminOnly, renderApology, renderHelp, renderRefusal, renderStatus, renderUploadProblem, renderUsageError, renderWorking } from '../../../render/slack/status';
import { renderReport, type Delivery, type ReportView } from '../../../render/slack/replies';
import type { ReportService } from '../../../pipeline/runCache';
import { shortError } from '../../../support/errors';
import type { CaseFilter, KpiReport } from '../../../contract/report';
import { getHealth } from '../../../alerts/health';
import { parseKpiCommand, type Subcommand } from './parse';
import { postResponse, type PostResponseOptions } from '../../../slack-api/respond';
import type { Limiter } from '../../../support/limit';
import type { CaseExplanation } from '../../../kpi/explain';
import { CaseNotFoundError, explainFromSource } from '../../../pipeline/explain';
import { renderExplainBlocks, renderExplainNotFound } from '../../../render/slack/explain';

export const KPI_COMMAND = '/kpi';

/** The CSV each report subcommand sends. */
export const CSV_FOR: Record<Exclude<Subcommand, 'help' | 'status' | 'explain'>, ReportFile> = {
  sla: 'sla_summary',
  quality: 'data_quality_score',
  backlog: 'backlog_summary',
  risk: 'sla_at_risk_cases',
  trend: 'volume_trend',
  summary: 'daily_ops_summary',
  run: 'daily_ops_summary',
};

export interface KpiCommandDeps {
  settings: Settings;
  reports: ReportService;
  log: Logger;
  policy?: AccessPolicy;
  /** response_url retry tuning (tests use short waits). */
  respondOptions?: PostResponseOptions;
  /** Work still running after ack; stop() waits for it. */
  inflight?: Set<Promise<unknown>>;
  /** Limits concurrent deliveries (Slack calls after the ack); default: no limit. */
  limiter?: Limiter;
  /** Remembers each person's DM channel (conversations.open once per person). */
  dmCache?: Map<string, string>;
  /** `/kpi explain`: explains one case; default: read from the configured source (pipeline/explain.ts). */
  explain?: (caseId: string) => Promise<CaseExplanation>;
}

/** The fields of a slash command payload this handler reads (HTTP form or Socket Mode JSON). */
export interface KpiCommandInput {
  command: string;
  text: string;
  user_id: string;
  channel_id: string;
  channel_name?: string;
  response_url: string;
  trigger_id?: string;
}

export type KpiOutcome =
  | { kind: 'help' | 'status' | 'usage' | 'refused' | 'admin-only' }
  | { kind: 'explain'; found: boolean }
  | { kind: 'report'; sub: Subcommand; delivery: Delivery; csv: string; fileName: string }
  | { kind: 'error'; ref: string };

/** The Bolt listener: ack, then the work. */
export function kpiCommandListener(deps: KpiCommandDeps) {
  return async ({ ack, command, client, logger }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    try {
      await ack();
    } catch (e) {
      logger.error(`ack of ${KPI_COMMAND} failed: ${shortError(e)}`);
      return;
    }
    const work = handleKpiCommand(command as KpiCommandInput, client, deps);
    if (deps.inflight) {
      deps.inflight.add(work);
      void work.finally(() => deps.inflight?.delete(work));
    }
    await work;
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<null>((ok) => { timer = setTimeout(() => ok(null), ms); })]).finally(() => clearTimeout(timer));
}

/** A report's CSVs, rendered once per report (a burst of /kpi risk renders one file, not fifty). */
const csvMemo = new WeakMap<KpiReport, Map<ReportFile, string>>();
export function csvOf(report: KpiReport, file: ReportFile): string {
  let m = csvMemo.get(report);
  if (!m) {
    m = new Map();
    csvMemo.set(report, m);
  }
  let csv = m.get(file);
  if (csv === undefined) {
    csv = renderCsv(report, file);
    m.set(file, csv);
  }
  return csv;
}

export function newRef(): string {
  return `kpi-${randomBytes(4).toString('hex')}`;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
}

export function csvFileName(file: ReportFile, report: KpiReport, filter: CaseFilter): string {
  const parts: string[] = [file, report.meta.asOfDate];
  if (filter.priority) parts.push(filter.priority);
  if (filter.region) parts.push(safeName(filter.region));
  if (filter.team) parts.push(`team-${safeName(filter.team)}`);
  if (filter.policy) parts.push(`policy-${safeName(filter.policy)}`);
  parts.push(`${report.meta.windowDays}d`);
  return `${parts.filter(Boolean).join('_')}.csv`;
}

/**
 * A policy= value that names no policy of the run (sla_policy_summary: the policies with
 * cases in the window, and NO_POLICY): the usage message, so a typo does not read as "no
 * cases". Null when the name is known or the run lists no policies.
 */
export function unknownPolicy(report: KpiReport, policy: string): string | null {
  const names = (report.slaPolicySummary ?? []).map((r) => r.policy);
  if (names.length === 0) return null;
  const want = policy.trim().toLowerCase();
  if (want === 'no_policy' || names.some((n) => n.toLowerCase() === want)) return null;
  const list = names.includes('NO_POLICY') ? names : [...names, 'NO_POLICY'];
  return `No cases under a policy named "${policy.replace(/[`*_~<>]/g, '').slice(0, 40)}" in this run. Policies with cases: ${list.join(', ')}.`;
}

function slackErrorCode(e: unknown): string | undefined {
  const d = (e as { data?: { error?: unknown } } | undefined)?.data;
  return typeof d?.error === 'string' ? d.error : undefined;
}

/** Everything after the ack. Never throws: failures end in an apology with a reference. */
export async function handleKpiCommand(cmd: KpiCommandInput, client: WebClient, deps: KpiCommandDeps): Promise<KpiOutcome> {
  const { reports, settings } = deps;
  const log = deps.log.child({ component: 'slash', user: cmd.user_id, channel: cmd.channel_id });
  const name = cmd.command || KPI_COMMAND;
  const limited = <T>(fn: () => Promise<T>): Promise<T> => (deps.limiter ? deps.limiter.run(fn) : fn());
  const post = (r: Reply, inChannel = false) =>
    postResponse(cmd.response_url, { response_type: inChannel ? 'in_channel' : 'ephemeral', text: r.text, blocks: r.blocks }, deps.respondOptions);
  const reply = (r: Reply, inChannel = false) => limited(() => post(r, inChannel));
  const what = `${name} ${cmd.text ?? ''}`.trim();
  const started = Date.now();
  try {
    const policy = deps.policy ?? accessPolicy(settings);
    const access = checkAccess(policy, { userId: cmd.user_id, channelId: cmd.channel_id, channelName: cmd.channel_name });
    if (!access.ok) {
      log.info({ reason: access.reason }, 'slash command refused');
      await reply(renderRefusal(access.message));
      return { kind: 'refused' };
    }
    const parsed = parseKpiCommand(cmd.text);
    if (!parsed.ok) {
      await reply(renderUsageError(parsed.error, name));
      return { kind: 'usage' };
    }
    const { sub } = parsed;
    if (sub === 'help') {
      await reply(renderHelp(name), parsed.public);
      return { kind: 'help' };
    }
    if (sub === 'status') {
      const [, alerts] = await Promise.all([
        reports.loadHistory({ maxAgeMs: 5000 }),
        withTimeout(getHealth(settings.KPI_STATE_PATH).catch(() => null), 2000),
      ]);
      await reply(renderStatus(reports.status(), alerts), parsed.public);
      return { kind: 'status' };
    }
    if (sub === 'explain') {
      const caseId = parsed.caseId!;
      await reply(renderWorking(what));
      const explain = deps.explain ?? ((id: string) => explainFromSource({ settings, caseId: id, log: deps.log }));
      try {
        const e = await explain(caseId);
        await reply(renderExplainBlocks(e), parsed.public);
        log.info({ sub, ms: Date.now() - started }, 'slash command answered');
        return { kind: 'explain', found: true };
      } catch (e) {
        if (!(e instanceof CaseNotFoundError)) throw e;
        await reply(renderExplainNotFound(e.message));
        return { kind: 'explain', found: false };
      }
    }
    let answer;
    if (sub === 'run') {
      if (!isAdmin(policy, cmd.user_id)) {
        await reply(renderAdminOnly());
        return { kind: 'admin-only' };
      }
      log.info('forced run requested');
      await reply(renderWorking(what));
      answer = await reports.refresh();
    } else {
      if (!reports.isFresh()) await reply(renderWorking(what));
      if (parsed.filter.policy) {
        const unknown = unknownPolicy((await reports.get()).report, parsed.filter.policy);
        if (unknown) {
          await reply(renderUsageError(unknown, name));
          return { kind: 'usage' };
        }
      }
      answer = await reports.get({ filter: parsed.filter, windowDays: parsed.windowDays });
    }
    const report = answer.report;
    const file = CSV_FOR[sub];
    const csv = csvOf(report, file);
    const fileName = csvFileName(file, report, parsed.filter);
    const delivery: Delivery = parsed.public ? 'channel' : 'dm';
    const view: ReportView = sub;
    const rendered = renderReport(view, report, {
      filter: parsed.filter, delivery, csvName: fileName, cached: answer.cached, dqMin: settings.KPI_DQ_MIN,
    });
    // One delivery slot for the answer and its CSV (they go out in parallel).
    await limited(() => Promise.all([
      post(rendered, parsed.public),
      deliverCsv(client, cmd, { fileName, csv, title: rendered.text, public: parsed.public }, log, deps.dmCache).then(async (problem) => {
        if (problem) await post(renderUploadProblem(problem.where, problem.fellBack));
      }),
    ]));
    log.info({ sub, cached: answer.cached, ms: Date.now() - started, rows: csv.split('\r\n').length - 2 }, 'slash command answered');
    return { kind: 'report', sub, delivery, csv, fileName };
  } catch (e) {
    const ref = newRef();
    log.error({ ref, err: redact(shortError(e)), text: redact(cmd.text ?? '') }, 'slash command failed');
    try {
      await reply(renderApology(ref, what));
    } catch (e2) {
      log.error({ ref, err: redact(shortError(e2)) }, 'could not post the apology either');
    }
    return { kind: 'error', ref };
  }
}

interface CsvDelivery {
  fileName: string;
  csv: string;
  title: string;
  public: boolean;
}

/** Uploads the CSV; returns a problem to tell the person about, or undefined when delivered. */
async function deliverCsv(
  client: WebClient,
  cmd: KpiCommandInput,
  d: CsvDelivery,
  log: Logger,
  dmCache?: Map<string, string>,
): Promise<{ where: 'channel' | 'dm'; fellBack: boolean } | undefined> {
  const files = [{ filename: d.fileName, content: d.csv, title: d.fileName }];
  if (d.public) {
    try {
      await uploadFiles(client, { channel: cmd.channel_id, files });
      return undefined;
    } catch (e) {
      const code = slackErrorCode(e);
      log.warn({ err: redact(shortError(e)), code }, 'CSV upload into the channel failed');
      const ok = await toDm(client, cmd, files, log, dmCache);
      return { where: 'channel', fellBack: ok };
    }
  }
  const ok = await toDm(client, cmd, files, log, dmCache);
  return ok ? undefined : { where: 'dm', fellBack: false };
}

const DM_CACHE_MAX = 5000;

async function toDm(
  client: WebClient,
  cmd: KpiCommandInput,
  files: { filename: string; content: string; title: string }[],
  log: Logger,
  dmCache?: Map<string, string>,
): Promise<boolean> {
  try {
    let channel = dmCache?.get(cmd.user_id);
    if (!channel) {
      const dm = await client.conversations.open({ users: cmd.user_id });
      channel = dm.channel?.id;
      if (!channel) throw new Error('conversations.open returned no channel');
      if (dmCache) {
        if (dmCache.size >= DM_CACHE_MAX) dmCache.clear();
        dmCache.set(cmd.user_id, channel);
      }
    }
    await uploadFiles(client, { channel, files });
    return true;
  } catch (e) {
    // A DM that no longer works (app uninstalled and reinstalled...) is asked for again next time.
    dmCache?.delete(cmd.user_id);
    log.warn({ err: redact(shortError(e)), code: slackErrorCode(e) }, 'CSV upload to the DM failed');
    return false;
  }
}
