/**
 * Slack messages of the on-call alerts: plain text (notifications, screen readers) plus
 * Block Kit. Pure functions of the stored state, so a message posted late, or edited after
 * an acknowledgement or a resolution, always shows the current truth.
 */
import type { KnownBlock } from '@slack/web-api';
import type { AtRiskCase, KpiReport, Priority, VolumeAnomalyRow } from '../../contract/report';
import { anomalySentence, anomalyTitle } from '../anomalyText';
import { renderCsv } from '../files/csv';
import { esc, formatDuration, formatTime, slackTime } from './format';
import { levelStage, type AlertLevel } from '../../contract/alertLevels';

export const ACK_ACTION = 'kpi_alert_ack';
export const SNOOZE_ACTION = 'kpi_alert_snooze';
export const SNOOZE_MS = 60 * 60 * 1000;

export interface CaseRow {
  case_id: string;
  /** contract/alertLevels.ts: at_risk, stage_<N>, breached. */
  level: AlertLevel;
  thread_id: string;
  rank: number;
  has_reply: boolean;
  priority: Priority | null;
  region: string | null;
  team: string | null;
  assignee: string | null;
  status: string | null;
  created_at: string | null;
  due_at: string | null;
  sla_target_hours: number | null;
  elapsed_hours: number | null;
  sla_elapsed_pct: number | null;
  hours_to_breach: number | null;
  alerted_at: string;
  resolved_at: string | null;
  acked_by: string | null;
  acked_at: string | null;
  snoozed_by: string | null;
  snoozed_until: string | null;
  version: number;
  /** The step the case is at now when it moved on after this reply (one case, one thread); null: still this one. */
  now_level?: string | null;
  now_hours_to_breach?: number | null;
  now_at?: string | null;
  /** Owner mention resolved at alert time (`<@U…>` or `<!subteam^S…>`), or null. */
  mention?: string | null;
  /** SLA policies (contract 6); null (or absent in older rows) without them. */
  policy?: string | null;
  clock_state?: string | null;
  risk_stage?: number | null;
}

/** `breached`, `at 75% of target`, `at risk`: what a level says about the case. */
export function levelText(level: string): string {
  if (level === 'breached') return 'breached';
  const stage = levelStage(level);
  return stage ? `at ${stage}% of target` : 'at risk';
}

/** `Policy: office · Clock: paused · Stage: 75%`; empty for an alert without SLA policies. */
export function policyLine(c: Pick<CaseRow, 'policy' | 'clock_state' | 'risk_stage'>): string {
  if (c.policy == null && c.clock_state == null && c.risk_stage == null) return '';
  const parts = [`Policy: ${c.policy ?? 'none'}`, `Clock: ${c.clock_state ?? 'unknown'}`];
  if (c.risk_stage != null) parts.push(`Stage: ${c.risk_stage}%`);
  return parts.join(' · ');
}

export interface ThreadRow {
  thread_id: string;
  kind: 'cases' | 'spike' | 'health' | 'anomaly';
  channel: string;
  created_at: string;
  n_at_risk: number;
  n_breached: number;
  total: number;
  n_resolved: number;
  replies: number;
  resolved_at: string | null;
  payload: string | null;
  version: number;
}

export interface RenderedMessage {
  text: string;
  blocks?: KnownBlock[];
}





const BARS = '▁▂▃▄▅▆▇█';

/** Unicode sparkline, min..max scaled to eight bar heights. */
export function sparkline(values: number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (max === min) return BARS[3].repeat(values.length);
  return values.map((v) => BARS[Math.min(7, Math.floor(((v - min) / (max - min)) * 7 + 0.5))]).join('');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${num(n)} ${n === 1 ? one : many}`;
}

/** `4 cases newly at risk, 1 newly breached: P1 2, P2 3` */
export function casesHeadline(nAtRisk: number, nBreached: number, byPriority: Record<string, number>): string {
  const parts: string[] = [];
  const total = nAtRisk + nBreached;
  if (nAtRisk > 0) parts.push(`${plural(nAtRisk, 'case')} newly at risk`);
  if (nBreached > 0) parts.push(nAtRisk > 0 ? `${num(nBreached)} newly breached` : `${plural(nBreached, 'case')} newly breached`);
  const prio = Object.entries(byPriority).sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `${p} ${n}`).join(', ');
  return `${parts.join(', ') || plural(total, 'case')}${prio ? `: ${prio}` : ''}`;
}

interface CasesPayload {
  byPriority: Record<string, number>;
  /** The quiet first sweep's summary: what was already open, recorded as known. */
  baseline?: boolean;
  /** New breaches older than the horizon (counted, in the CSV). */
  oldBreached?: number;
  horizonHours?: number;
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

export function renderCasesParent(t: ThreadRow): RenderedMessage {
  const p = (t.payload ? JSON.parse(t.payload) : { byPriority: {} }) as CasesPayload;
  const allResolved = t.total > 0 && t.n_resolved >= t.total;
  let title: string;
  const lines: string[] = [];
  if (p.baseline) {
    const what = [t.n_breached > 0 ? `${num(t.n_breached)} breached` : '', t.n_at_risk > 0 ? `${num(t.n_at_risk)} at-risk` : ''].filter(Boolean).join(' and ');
    title = `${allResolved ? ':white_check_mark: ' : ':clipboard: '}Tracking ${what} open ${t.total === 1 ? 'case' : 'cases'}: CSV in thread`;
    lines.push('Alerting starts here: these were already open, so there is no reply for each. From now on only new steps are alerted (a case newly at risk, a breach, a resolution).');
  } else {
    const headline = casesHeadline(t.n_at_risk, t.n_breached, p.byPriority);
    const icon = allResolved ? ':white_check_mark:' : t.n_breached > 0 ? ':rotating_light:' : ':warning:';
    title = `${icon} ${allResolved ? 'Resolved: ' : ''}${headline}`;
    const old = p.oldBreached ?? 0;
    if (old > 0) lines.push(`${num(old)} of them breached more than ${p.horizonHours ?? 24} h ago: counted here and in the CSV, no reply each.`);
    if (t.total - old > t.replies) lines.push(`The ${t.replies} nearest to breach are in the thread; all ${num(t.total)} in the CSV there.`);
    else if (old > 0) lines.push('All of them are in the CSV in the thread.');
  }
  let progress = '';
  if (allResolved) progress = `All ${num(t.total)} resolved`;
  else if (t.n_resolved > 0) progress = `${num(t.n_resolved)} of ${num(t.total)} resolved`;
  const text = [title, ...lines, progress].filter(Boolean).join('\n');
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*${title}*${lines.length ? `\n${lines.join('\n')}` : ''}` } }];
  if (progress) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: progress }] });
  return { text, blocks };
}

/** Only the two mention forms we ever emit; anything else in the map is dropped. */
export function safeMention(m: string | null | undefined): string | null {
  if (!m) return null;
  return /^<@[UW][A-Z0-9]{2,}>$/.test(m) || /^<!subteam\^S[A-Z0-9]{2,}>$/.test(m) ? m : null;
}

/** What a level says about the case: `breached`, `at 75% of target` (a risk stage), `at risk`. */
const stepName = (level: string | null | undefined) => levelText(level ?? 'at_risk');

function timeToBreach(h: number): string {
  return h < 0 ? `breached ${formatDuration(h)} ago` : `${formatDuration(h)} to breach`;
}

/**
 * A thread reply when a case alerted earlier moves on to a later step (a higher risk stage,
 * or breached): its reply is edited too. `level` is the step it is at now.
 */
export function stepNoticeText(c: Pick<AtRiskCase, 'case_id' | 'priority' | 'risk_level' | 'hours_to_breach' | 'policy' | 'clock_state' | 'risk_stage'>, _now: string, mention: string | null, level: string = c.risk_level): string {
  const who = safeMention(mention);
  const icon = level === 'breached' ? ':red_circle:' : ':large_orange_circle:';
  const step = level === 'breached' ? 'has now breached' : `is now ${levelText(level)}`;
  const policy = policyLine(c);
  return `${icon} \`${esc(c.case_id)}\` (${c.priority}) ${step}: ${c.hours_to_breach === null ? 'clock paused' : timeToBreach(c.hours_to_breach)}.${who ? ` ${who}` : ''} Its reply above shows the current step.${policy ? `\n${esc(policy)}` : ''}`;
}

export function renderCaseReply(c: CaseRow, tz: string): RenderedMessage {
  const nowLevel = c.now_level ?? c.level;
  const moved = Boolean(c.now_level && c.now_level !== c.level);
  const icon = c.resolved_at ? ':white_check_mark:' : nowLevel === 'breached' ? ':red_circle:' : ':large_orange_circle:';
  const headStep = c.resolved_at
    ? `resolved (was ${stepName(nowLevel)})`
    : moved ? `${stepName(nowLevel)} (alerted ${stepName(c.level)})` : `newly ${stepName(c.level)}`;
  const head = `${icon} *${c.priority ?? '?'}* \`${esc(c.case_id)}\` ${headStep}`;
  const h = moved ? c.now_hours_to_breach ?? c.hours_to_breach ?? 0 : c.hours_to_breach ?? 0;
  const seenAt = moved && c.now_at ? ` (at ${formatTime(c.now_at, tz)})` : '';
  const due = c.due_at ? slackTime(c.due_at, tz) : 'unknown';
  const who = safeMention(c.mention);
  const first = c.resolved_at
    ? `Due ${due} · alerted at ${formatTime(c.alerted_at, tz)}`
    : `Due ${due} · ${timeToBreach(h)}${seenAt} · alerted at ${formatTime(c.alerted_at, tz)}`;
  const status = c.resolved_at
    ? `Status: no longer open and at risk (seen ${formatTime(c.resolved_at, tz)})`
    : `Status: ${esc(c.status ?? 'unknown')}`;
  const details = [
    first,
    `${status} · Assignee: ${esc(c.assignee ?? 'unassigned')}${who ? ` (${who})` : ''} · Team: ${esc(c.team ?? 'none')} · Region: ${esc(c.region ?? 'none')}`,
  ];
  const policy = policyLine(c);
  if (policy) details.push(esc(policy));
  // A paused clock has no due time: say so instead of "due unknown".
  if (c.clock_state === 'paused' && !c.due_at) details[0] = `Clock paused: no due time while it waits (at ${formatTime(c.alerted_at, tz)})`;
  const notes: string[] = [];
  if (c.resolved_at) notes.push(`:white_check_mark: Resolved: no longer open and at risk (seen ${formatTime(c.resolved_at, tz)})`);
  if (c.acked_by) notes.push(`:eyes: Acknowledged by <@${esc(c.acked_by)}>${c.acked_at ? ` at ${formatTime(c.acked_at, tz)}` : ''}`);
  if (c.snoozed_until && !c.acked_by && !c.resolved_at) notes.push(`:zzz: Reminders snoozed until ${formatTime(c.snoozed_until, tz)}${c.snoozed_by ? ` by <@${esc(c.snoozed_by)}>` : ''}`);
  const plainHead = `${c.priority ?? '?'} ${c.case_id} ${headStep}`;
  const text = [c.resolved_at ? `Resolved: ${plainHead}` : plainHead, details[0].replace(due, c.due_at ? formatTime(c.due_at, tz) : 'unknown'), details[1], ...(policy ? [policy] : []), ...notes]
    .join('\n');
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `${head}\n${details.join('\n')}` } },
  ];
  if (notes.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: notes.join('\n') }] });
  if (!c.resolved_at && !c.acked_by) {
    const value = JSON.stringify({ c: c.case_id, l: c.level });
    blocks.push({
      type: 'actions',
      block_id: `kpi_alert:${c.level}`,
      elements: [
        { type: 'button', action_id: ACK_ACTION, text: { type: 'plain_text', text: 'Acknowledge' }, style: 'primary', value },
        { type: 'button', action_id: SNOOZE_ACTION, text: { type: 'plain_text', text: 'Snooze 1 h' }, value },
      ],
    });
  }
  return { text, blocks };
}

export interface SpikePayload {
  scope: string;
  as_of_date: string;
  backlog_today: number;
  baseline_avg: number;
  growth_pct: number | null;
  threshold_pct: number;
  baseline_days: number;
  spark: string | null;
  superseded?: boolean;
}

function signedPct(v: number | null): string {
  if (v === null) return 'n/a';
  return `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
}

export function spikeScope(scope: string): string {
  return scope === 'ALL' ? 'all priorities' : scope;
}

export function renderSpikeParent(t: ThreadRow): RenderedMessage {
  const p = JSON.parse(t.payload ?? '{}') as SpikePayload;
  const cleared = Boolean(t.resolved_at);
  const title = `${cleared ? ':white_check_mark: Cleared: b' : ':chart_with_upwards_trend: B'}acklog spike (${spikeScope(p.scope)}) on ${p.as_of_date}`;
  const body = `${num(p.backlog_today)} open today vs ${p.baseline_days}-day baseline ${p.baseline_avg.toFixed(1)} (${signedPct(p.growth_pct)}, threshold +${p.threshold_pct}%)`;
  const spark = p.spark ? `Backlog, last ${p.spark.length} days: ${p.spark}` : '';
  const text = [title, body, spark].filter(Boolean).join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*${title}*\n${body}${spark ? `\n${spark}` : ''}` } }] };
}

export function spikeClearedText(scope: string, backlog: number | null, growth: number | null, baseline: number | null): string {
  if (backlog === null) return `:white_check_mark: Backlog spike (${spikeScope(scope)}) cleared: no ${scope} cases in the backlog any more.`;
  return `:white_check_mark: Backlog spike (${spikeScope(scope)}) cleared: ${backlog} open, ${signedPct(growth)} vs baseline ${baseline?.toFixed(1) ?? 'n/a'}.`;
}

/** A volume-anomaly alert: the volume_anomaly_summary row; `ops`: the copy in the ops channel. */
export type AnomalyPayload = VolumeAnomalyRow & { ops?: boolean };

export function renderAnomalyParent(t: ThreadRow): RenderedMessage {
  const p = JSON.parse(t.payload ?? '{}') as AnomalyPayload;
  const icon = p.direction === 'low' ? ':small_red_triangle_down:' : ':small_red_triangle:';
  const title = `${icon} ${anomalyTitle(p)}`;
  const body = `${anomalySentence(p)}${p.z_score !== null ? ` · robust z ${p.z_score.toFixed(2)}` : ''}`;
  const hint = p.direction === 'low'
    ? (p.ops ? 'Fewer cases than usual often means the source stopped delivering: check the feed and the export.' : 'Check that the source is still delivering (also posted to the ops channel).')
    : 'More cases than usual: check for an incident or a release behind them.';
  const text = [title, body, hint].join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*${esc(title)}*\n${esc(body)}\n${hint}` } }] };
}

export interface HealthPayload {
  check: 'run' | 'freshness';
  cause: string;
  since: string;
  recovered_at?: string;
}

export function renderHealthParent(t: ThreadRow, tz: string): RenderedMessage {
  const p = JSON.parse(t.payload ?? '{}') as HealthPayload;
  const what = p.check === 'run' ? 'KPI pipeline runs are failing' : 'KPI data is stale';
  const title = t.resolved_at
    ? `:white_check_mark: Recovered: ${what.replace('are failing', 'were failing').replace('is stale', 'was stale')} from ${formatTime(p.since, tz)} to ${formatTime(t.resolved_at, tz)}`
    : `${p.check === 'run' ? ':rotating_light:' : ':hourglass:'} ${what} since ${formatTime(p.since, tz)}`;
  const cause = `Cause: ${p.cause}`;
  const extra = t.resolved_at ? '' : (p.check === 'run' ? 'SLA alerts cannot be computed until a run succeeds. No repeats until it recovers.' : 'Check the source feed. No repeats until fresh data arrives.');
  const text = [title, cause, extra].filter(Boolean).join('\n');
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*${title}*\n${esc(cause)}${extra ? `\n${extra}` : ''}` } }] };
}

export function renderThreadParent(t: ThreadRow, tz: string): RenderedMessage {
  if (t.kind === 'cases') return renderCasesParent(t);
  if (t.kind === 'spike') return renderSpikeParent(t);
  if (t.kind === 'anomaly') return renderAnomalyParent(t);
  return renderHealthParent(t, tz);
}

/** The full list of a thread's cases as the contract's sla_at_risk_cases CSV. */
export function renderCasesCsv(rows: CaseRow[]): string {
  const atRiskCases: AtRiskCase[] = rows.map((r) => ({
    case_id: r.case_id, priority: (r.priority ?? 'P4') as Priority, region: r.region, team: r.team, assignee: r.assignee,
    status: r.status, created_at: r.created_at ?? '', due_at: r.due_at ?? '', sla_target_hours: r.sla_target_hours ?? 0,
    elapsed_hours: r.elapsed_hours ?? 0, sla_elapsed_pct: r.sla_elapsed_pct ?? 0, hours_to_breach: r.hours_to_breach ?? 0,
    risk_level: r.level === 'breached' ? 'breached' : 'at_risk',
    // The alert state keeps the policy, clock state and stage of each alerted case, not its calendar.
    policy: r.policy ?? null, calendar: null, clock_state: r.clock_state ?? null, risk_stage: r.risk_stage ?? null,
  })) as unknown as AtRiskCase[];
  return renderCsv({ atRiskCases } as unknown as KpiReport, 'sla_at_risk_cases');
}

/** One reminder per thread for cases nobody acknowledged. */
export function reminderText(rows: { case_id: string; priority: string | null; level: string }[], total: number, afterMinutes: number): string {
  const list = rows.map((r) => `\`${esc(r.case_id)}\` (${r.priority ?? '?'}, ${levelText(r.level)})`).join(', ');
  const more = total > rows.length ? ` and ${num(total - rows.length)} more` : '';
  return `:bell: Still unacknowledged after ${formatDuration(afterMinutes / 60)}: ${list}${more}. Acknowledge or snooze on each case.`;
}
