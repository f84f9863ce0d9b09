/**
 * The daily digest message: Block Kit blocks plus a plain-text fallback, rendered from the
 * typed report (and the previous run's history row, for "change since" deltas).
 *
 * Rendering only: every number comes from the report; the only arithmetic is the
 * difference between two given numbers. Stays within Block Kit limits whatever the data:
 * at most 50 blocks, header text <= 150 chars, section text <= 3,000, field text <= 2,000,
 * context elements <= 10, and the whole message well under Slack's msg_blocks_too_long
 * threshold (user-supplied strings are escaped and cut).
 */
import type { types } from '@slack/bolt';
import type { AtRiskCase, KpiReport } from '../../contract/report';
import { type RunHistoryRow } from '../../contract/runHistory';
import { DASH, esc, int, localTime, longDate, pct, truncate } from './format';
import { anomalies, anomalySentence } from '../anomalyText';
import { DEMO_NOTICE, DEMO_TAG } from '../demo';
import { ATTENTION_TOP, attentionList, attentionTop, priorityCounts, reportAttention } from '../attention';

export type Block = types.KnownBlock;

export interface DigestMessage {
  /** Notification and fallback text (plain). */
  text: string;
  blocks: Block[];
}

export interface DigestOptions {
  /** KPI_DQ_MIN: below this data-quality score the numbers are marked provisional. */
  dqMin: number;
  /** Cases not yet breached listed (default 5, soonest due first). */
  topCases?: number;
  /** Newly breached cases listed after them (default 3). */
  topBreached?: number;
}

export const LIMITS = {
  blocks: 50,
  header: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  contextElements: 10,
  contextText: 2000,
  /** Our own cap on all block text together (Slack rejects large messages below 40k). */
  totalText: 11_000,
  fallbackText: 3000,
} as const;




/** Text from data for inline use: escaped, one line, cut, formatting characters neutralised. */
function dataText(s: string | null | undefined, max = 40): string {
  if (s === null || s === undefined || s === '') return DASH;
  // Formatting characters only act at word edges (`*bold*`, `_it_`): break those, leave agent_052 alone.
  const oneLine = s.replace(/[\r\n\t]+/g, ' ')
    .replace(/(^|[\s(])([*_~`])/g, '$1\u200b$2')
    .replace(/([*_~`])(?=[\s).,:;!?]|$)/g, '$1\u200b');
  return esc(truncate(oneLine, max));
}

function hrs(v: number): string {
  const a = Math.abs(v);
  return a >= 48 ? `${(a / 24).toFixed(1)} d` : `${a.toFixed(1)} h`;
}



/** "▲ +5" / "▼ −0.4 pts" / "no change"; empty when either side is missing. */
export function delta(cur: number | null | undefined, prev: number | null | undefined, kind: 'count' | 'pct'): string {
  if (cur === null || cur === undefined || prev === null || prev === undefined) return '';
  if (!Number.isFinite(cur) || !Number.isFinite(prev)) return '';
  const d = cur - prev;
  const digits = kind === 'pct' ? 1 : 0;
  const rounded = Number(d.toFixed(digits));
  if (rounded === 0) return '= no change';
  const abs = Math.abs(rounded);
  const body = kind === 'pct' ? `${abs.toFixed(1)} pts` : abs.toLocaleString('en-US');
  return rounded > 0 ? `▲ +${body}` : `▼ −${body}`;
}

function field(title: string, value: string, change: string): types.MrkdwnElement {
  const line = change ? `${value}  _${change}_` : value;
  return { type: 'mrkdwn', text: truncate(`*${title}*\n${line}`, LIMITS.fieldText) };
}

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) } };
}

function context(texts: string[]): types.ContextBlock {
  return {
    type: 'context',
    elements: texts.slice(0, LIMITS.contextElements).map((t) => ({ type: 'mrkdwn' as const, text: truncate(t, LIMITS.contextText) })),
  };
}

function caseLine(c: AtRiskCase): string {
  const icon = c.risk_level === 'breached' ? ':red_circle:' : ':large_orange_circle:';
  const when = c.hours_to_breach === null
    ? `clock paused (${pct(c.sla_elapsed_pct)} of ${Number(c.sla_target_hours.toFixed(2))} h)`
    : c.risk_level === 'breached'
      ? `breached ${hrs(c.hours_to_breach)} ago`
      : `due in ${hrs(c.hours_to_breach)} (${pct(c.sla_elapsed_pct)} of ${Number(c.sla_target_hours.toFixed(2))} h)`;
  const who = c.assignee ? dataText(c.assignee, 30) : '_unassigned_';
  const where = [c.team, c.region].filter((x) => x).map((x) => dataText(x, 25)).join(' · ');
  return truncate(
    `${icon} *${dataText(c.case_id, 40)}* ${c.priority} · ${when} · ${who}${where ? ` · ${where}` : ''}`,
    400,
  );
}

function blockTextLength(b: Block): number {
  return JSON.stringify(b).length;
}

/** Renders the digest. `previous` is an earlier run for the deltas (null: no deltas). */
export function renderDigest(report: KpiReport, previous: RunHistoryRow | null, opts: DigestOptions): DigestMessage {
  const d = report.dailyOps;
  const meta = report.meta;
  const tz = meta.reportTz;
  const provisional = d.data_quality_score < opts.dqMin;
  const topN = opts.topCases ?? 5;
  const prev = previous && previous.ok ? previous : null;

  const required: Block[] = [];
  const optional: Block[] = [];

  // 1. Header + run context
  required.push({
    type: 'header',
    text: { type: 'plain_text', text: truncate(`:bar_chart: Support KPIs · ${longDate(meta.asOfDate)}${meta.demo ? ` · ${DEMO_TAG}` : ''}`, LIMITS.header), emoji: true },
  });
  const ctx = [
    ...(meta.demo ? [`:test_tube: *${DEMO_NOTICE}*`] : []),
    `As of *${localTime(meta.asOf, tz)}* · last ${meta.windowDays} days · source \`${dataText(meta.source.replace(/[^\s:]*[\\/]/g, ''), 40)}\``,
    prev ? `Changes (▲ ▼) are vs the run of ${localTime(prev.as_of, tz)}` : 'No earlier run to compare with',
  ];
  required.push(context(ctx));

  // 2. Data-quality warning first: readers must know before reading numbers.
  if (provisional) {
    required.push(section(
      `:warning: *Provisional numbers*: data quality score is *${d.data_quality_score.toFixed(1)}*, below the minimum of ${opts.dqMin.toFixed(1)}. ` +
      `Missing ${int(report.dataQuality.missing_rows)} · duplicate ${int(report.dataQuality.duplicate_rows)} · invalid SLA ${int(report.dataQuality.invalid_sla_rows)} of ${int(report.dataQuality.total_rows)} rows (see data_quality_score.csv).`,
    ));
  }

  // 3. Key numbers with change since the previous run
  required.push({
    type: 'section',
    text: { type: 'mrkdwn', text: '*Key numbers*' },
    fields: [
      field('Open backlog', int(d.open_backlog), delta(d.open_backlog, prev?.open_backlog, 'count')),
      field('SLA compliance', pct(d.sla_compliance_pct), delta(d.sla_compliance_pct, prev?.sla_compliance_pct, 'pct')),
      field('Created today', int(d.created_today), delta(d.created_today, prev?.created_today, 'count')),
      field('Resolved today', int(d.resolved_today), delta(d.resolved_today, prev?.resolved_today, 'count')),
      field('At risk (open)', int(d.at_risk_cases), delta(d.at_risk_cases, prev?.at_risk_cases, 'count')),
      field('Breached (open)', int(d.breached_open_cases), delta(d.breached_open_cases, prev?.breached_open_cases, 'count')),
      field('First response SLA', pct(d.first_response_compliance_pct), delta(d.first_response_compliance_pct, prev?.first_response_compliance_pct, 'pct')),
      field('Data quality', `${d.data_quality_score.toFixed(1)}${provisional ? ' :warning:' : ''}`, delta(d.data_quality_score, prev?.data_quality_score, 'pct')),
    ].slice(0, LIMITS.fields),
  });

  // 4. SLA compliance by priority
  const slaRows = report.slaSummary.filter((r) => r.priority !== 'ALL');
  if (slaRows.length) {
    required.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*SLA compliance by priority* (resolution, cases created in the last ${meta.windowDays} days)` },
      fields: slaRows.slice(0, LIMITS.fields).map((r) => ({
        type: 'mrkdwn' as const,
        text: truncate(`*${r.priority}* ${pct(r.sla_compliance_pct)}\n${int(r.met)} met · ${int(r.breached)} breached · ${int(r.pending)} pending`, LIMITS.fieldText),
      })),
    });
  }

  // 4b. SLA compliance by policy, only when the report has more than one policy row
  const policyRows = report.slaPolicySummary ?? [];
  if (policyRows.length > 1) {
    required.push({
      type: 'section',
      text: { type: 'mrkdwn', text: '*SLA compliance by policy* (resolution · first response)' },
      fields: policyRows.slice(0, LIMITS.fields).map((r) => ({
        type: 'mrkdwn' as const,
        text: truncate(
          `*${dataText(r.policy, 40)}*${r.calendar ? ` _${dataText(r.calendar, 30)}_` : ''} ${pct(r.sla_compliance_pct)} · FR ${pct(r.first_response_compliance_pct)}
` +
          `${int(r.met)} met · ${int(r.breached)} breached · ${int(r.pending)} pending`,
          LIMITS.fieldText,
        ),
      })),
    });
  }

  // 5. Backlog and spike status
  const byPrio = report.backlogSummary.filter((r) => r.priority !== 'ALL').map((r) => `${r.priority === 'UNKNOWN' ? 'unknown' : r.priority} ${int(r.open_cases)}`);
  const all = report.backlogSpike.find((s) => s.scope === 'ALL');
  const spikes = report.backlogSpike.filter((s) => s.is_spike);
  const lines: string[] = [`*Backlog*: ${int(d.open_backlog)} open${byPrio.length ? ` (${byPrio.join(' · ')})` : ''}`];
  if (all) {
    lines.push(`Growth vs ${meta.spikeBaselineDays}-day baseline (${all.baseline_avg.toFixed(2)}): *${all.growth_pct === null ? DASH : `${all.growth_pct > 0 ? '+' : ''}${all.growth_pct.toFixed(1)}%`}* (spike above ${all.threshold_pct.toFixed(1)}%)`);
  }
  if (spikes.length) {
    const list = spikes.slice(0, 5).map((s) => `${s.scope} ${s.growth_pct === null ? DASH : `+${s.growth_pct.toFixed(1)}%`} (${int(s.backlog_today)} vs ${s.baseline_avg.toFixed(2)})`);
    lines.push(`:rotating_light: *Backlog spike*: ${list.join(' · ')}`);
  } else {
    lines.push(':white_check_mark: No backlog spike');
  }
  // Volume anomalies (contract 7): a line each, only when there is one.
  for (const a of anomalies(report.volumeAnomaly).slice(0, 5)) {
    lines.push(`${a.direction === 'low' ? ':small_red_triangle_down:' : ':small_red_triangle:'} *Volume anomaly*: ${esc(anomalySentence(a))}`);
  }
  required.push(section(lines.join('\n')));

  // 6. Needs attention, in the shared order (src/render/attention.ts): the cases that can
  // still be saved (soonest due first), then the newly breached; older breaches as a count.
  const att = reportAttention(report);
  const ordered = attentionList(att);
  const cases = attentionTop(att, { soon: topN, newlyBreached: opts.topBreached ?? ATTENTION_TOP.newlyBreached });
  const riskLines = [`*At risk: ${int(d.at_risk_cases)} · Breached (open): ${int(d.breached_open_cases)}*`];
  if (cases.length) {
    riskLines.push('Needs attention first (soonest to breach, then newly breached):');
    for (const c of cases) riskLines.push(caseLine(c));
    const more = ordered.length - cases.length;
    if (more > 0) riskLines.push(`_…and ${int(more)} more at risk or newly breached in sla_at_risk_cases.csv (in the thread)_`);
  }
  if (att.oldBreached.count > 0) {
    riskLines.push(`${int(att.oldBreached.count)} breached more than ${att.horizonHours} h ago (${priorityCounts(att.oldBreached.byPriority)}): listed in sla_at_risk_cases.csv (in the thread)`);
  }
  if (!cases.length && att.oldBreached.count === 0) riskLines.push(':white_check_mark: No open case is at risk.');
  required.push(section(riskLines.join('\n')));

  // 7. Optional extras: run warnings, footer
  if (report.warnings.length) {
    const shown = report.warnings.slice(0, 3).map((w) => `• ${dataText(w, 200)}`);
    const more = report.warnings.length - shown.length;
    optional.push(context([`:information_source: ${int(report.warnings.length)} run warning${report.warnings.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more > 0 ? `\n…and ${int(more)} more in the log` : ''}`]));
  }
  optional.push({ type: 'divider' });
  optional.push(context([`Trend chart and today's CSVs are in the thread · run \`${dataText(meta.runId, 60)}\``]));

  // Assemble within limits: required blocks first, optional ones while they fit.
  const blocks: Block[] = [];
  let total = 0;
  for (const b of required) {
    blocks.push(b);
    total += blockTextLength(b);
  }
  for (const b of optional) {
    const len = blockTextLength(b);
    if (blocks.length >= LIMITS.blocks || total + len > LIMITS.totalText) break;
    blocks.push(b);
    total += len;
  }

  return { text: fallbackText(report, prev, provisional, opts.dqMin), blocks: blocks.slice(0, LIMITS.blocks) };
}

function fallbackText(report: KpiReport, prev: RunHistoryRow | null, provisional: boolean, dqMin: number): string {
  const d = report.dailyOps;
  const ch = (s: string) => (s ? ` (${s})` : '');
  const parts = [
    ...(report.meta.demo ? [`[${DEMO_TAG}]`] : []),
    `Support KPIs ${report.meta.asOfDate}:`,
    `open backlog ${int(d.open_backlog)}${ch(delta(d.open_backlog, prev?.open_backlog, 'count'))},`,
    `SLA compliance ${pct(d.sla_compliance_pct)}${ch(delta(d.sla_compliance_pct, prev?.sla_compliance_pct, 'pct'))},`,
    `created today ${int(d.created_today)}, resolved today ${int(d.resolved_today)},`,
    `${int(d.at_risk_cases)} at risk, ${int(d.breached_open_cases)} breached open,`,
    `backlog spike: ${d.backlog_spike ? 'yes' : 'no'},`,
    `data quality ${d.data_quality_score.toFixed(1)}.`,
  ];
  const volume = anomalies(report.volumeAnomaly).find((a) => a.scope === 'ALL') ?? anomalies(report.volumeAnomaly)[0];
  if (volume) parts.push(`Volume anomaly: ${anomalySentence(volume)}.`);
  if (provisional) parts.push(`PROVISIONAL: data quality is below ${dqMin.toFixed(1)}.`);
  return truncate(parts.join(' '), LIMITS.fallbackText);
}
