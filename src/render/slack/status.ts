/** Block Kit replies that are not reports: help, usage errors, refusals, apologies, status. */
import { ago, context, esc, fields, header, section, when, type Reply } from './format';
import { type HealthReport, type ServiceStatus } from '../../contract/status';

export const HELP_LINES: [string, string][] = [
  ['summary', 'the daily ops summary: backlog, SLA, risk, data quality'],
  ['sla', 'SLA compliance by priority (resolution and first response)'],
  ['backlog', 'open cases by priority and age'],
  ['risk', 'open cases at risk of breaching or breached, most urgent first'],
  ['trend', 'cases created and resolved per day, backlog at day end'],
  ['quality', 'data quality score and its parts'],
  ['explain C-1001', 'why a case\'s SLA clocks read what they read: policy, calendar, running and paused stretches, due, stage'],
  ['status', 'last run, next scheduled runs, data source, health'],
  ['run', 'start a fresh run now (KPI admins only)'],
  ['help', 'this message'],
];

export function renderHelp(command = '/kpi'): Reply {
  const list = HELP_LINES.map(([s, d]) => `• \`${command} ${s}\` — ${d}`).join('\n');
  return {
    text: `${command}: support KPIs. Try ${command} summary`,
    blocks: [
      header('Support KPIs'),
      section(list),
      section(
        '*Filters* (for summary, sla, backlog, risk, trend, quality): `priority=P1` (P1–P4, or urgent/high/normal/low), `region=EMEA`, `team=billing` (quote values with spaces: `team="Tier 2"`), `policy=enterprise` (an SLA policy by name, or `NO_POLICY`), `days=7` (1–365).\n' +
          '*`public`*: answer in the channel and post the CSV there instead of sending it to you privately.',
      ),
      context(`Example: \`${command} sla priority=P1 region=EMEA days=7\``),
    ],
  };
}

export function renderUsageError(error: string, command = '/kpi'): Reply {
  return {
    text: `${error} Try ${command} help.`,
    blocks: [
      section(`:thinking_face: ${esc(error)}`),
      context(`Usage: \`${command} <summary|sla|backlog|risk|trend|quality|status|run|help> [priority=P1] [region=EMEA] [team=…] [policy=…] [days=7] [public]\` · \`${command} explain CASE_ID\` · \`${command} help\` for details`),
    ],
  };
}

export function renderRefusal(message: string): Reply {
  return { text: message, blocks: [section(`:lock: ${esc(message)}`)] };
}

export function renderAdminOnly(): Reply {
  const text = 'Sorry, only KPI admins can start a run. You can still ask for any report: it comes from the latest run.';
  return { text, blocks: [section(`:lock: ${text}`)] };
}

export function renderApology(ref: string, what: string): Reply {
  const text = `Sorry, I couldn't answer ${what} just now. Please try again in a minute; if it keeps failing, give a KPI admin this reference: ${ref}`;
  return {
    text,
    blocks: [section(`:warning: Sorry, I couldn't answer \`${esc(what)}\` just now. Please try again in a minute.`), context(`If it keeps failing, give a KPI admin this reference: \`${esc(ref)}\``)],
  };
}

export function renderWorking(what: string): Reply {
  const text = `Crunching fresh numbers for ${what}… this takes a moment.`;
  return { text, blocks: [context(`:hourglass_flowing_sand: ${esc(text)}`)] };
}

export function renderUploadProblem(where: 'channel' | 'dm', fellBackToDm: boolean): Reply {
  const text =
    where === 'channel'
      ? `I couldn't post the CSV in this channel (invite me with /invite).${fellBackToDm ? ' I sent it to you in a direct message instead.' : ''}`
      : "I couldn't send you the CSV in a direct message. The numbers above are complete; try again later for the file.";
  return { text, blocks: [context(`:paperclip: ${esc(text)}`)] };
}

const HEALTH_TEXT: Record<ServiceStatus['health'], string> = {
  ok: ':large_green_circle: ok',
  stale: ':large_yellow_circle: stale (no successful run recently)',
  failing: ':red_circle: the last run failed',
  unknown: ':white_circle: no run yet',
};

function checkText(c: HealthReport['run']): string {
  if (c.status === 'unknown') return 'not checked yet';
  if (c.status === 'ok') return `ok${c.lastCheckedAt ? ` (checked ${when(c.lastCheckedAt)})` : ''}`;
  return `failing since ${when(c.since)}${c.cause ? `: ${c.cause}` : ''}`;
}

/** `alerts`: the on-call job's checks (getHealth), when available. */
export function renderStatus(s: ServiceStatus, alerts?: HealthReport | null): Reply {
  const last = s.lastRun;
  const lastText = last
    ? `${last.ok ? 'ok' : 'failed'} · finished ${when(last.finishedAt)} (${ago(s.ageSeconds)})${last.asOf ? ` · as of ${when(last.asOf)}` : ''}${last.durationMs !== null ? ` · ${(last.durationMs / 1000).toFixed(1)} s` : ''}`
    : 'no run yet';
  const next = s.nextRuns.length
    ? s.nextRuns.map((n) => `${n.name}: ${n.at ? when(n.at) : 'not scheduled'}`).join('\n')
    : 'nothing scheduled in this process';
  const cache = s.cacheFresh ? `fresh until ${when(s.cacheExpiresAt)}` : s.runInFlight ? 'a run is in progress' : 'the next question starts a run';
  return {
    text: `KPI status: ${s.health}; last run ${lastText}`,
    blocks: [
      header('KPI status'),
      fields([
        ['Health', HEALTH_TEXT[s.health]],
        ['Source', `\`${esc(s.source)}\``],
        ['Last run', esc(lastText)],
        ['Next runs', esc(next)],
        ['Answers', cache],
      ]),
      ...(last && !last.ok && last.error ? [context(`Last error: ${esc(last.error).slice(0, 300)}`)] : []),
      ...(alerts && (alerts.lastSweepAt || alerts.run.status !== 'unknown')
        ? [context(
            [
              `Scheduled runs: ${esc(checkText(alerts.run))}`,
              `Data freshness: ${esc(checkText(alerts.freshness))}`,
              `Open alerted cases: ${alerts.openAlertedCases}`,
              `Last alert sweep: ${when(alerts.lastSweepAt)}`,
            ].join(' · '),
          )]
        : []),
    ],
  };
}
