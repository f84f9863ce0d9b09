/**
 * Block Kit replies for the report subcommands. Each takes the typed report (already
 * filtered and computed by the pipeline) and lays it out; no KPI is computed here.
 */
import type { CaseFilter, KpiReport } from '../../contract/report';
import { DEMO_NOTICE } from '../demo';
import { attentionList, attentionTop, priorityCounts, reportAttention } from '../attention';
import { DASH, context, divider, esc, fields, header, hours, int, pct, scopeText, section, table, when, type Block, type Reply } from './format';
import { anomalies, anomalySentence } from '../anomalyText';

export type Delivery = 'dm' | 'channel' | 'none';

export interface ReplyContext {
  /** The filter the person asked for (shown in the header). */
  filter: CaseFilter;
  /** Where the CSV goes. */
  delivery: Delivery;
  /** File name of the CSV. */
  csvName?: string;
  /** Served from the cached run? */
  cached?: boolean;
  /** Data-quality minimum (KPI_DQ_MIN) to flag a low score. */
  dqMin?: number;
}

export type ReportView = 'sla' | 'quality' | 'backlog' | 'risk' | 'trend' | 'summary' | 'run';

function footer(report: KpiReport, ctx: ReplyContext): Block[] {
  const m = report.meta;
  const facts = [`As of *${when(m.asOf)}*`, `source \`${esc(m.source)}\``, `run \`${esc(m.runId)}\``];
  if (ctx.cached) facts.push('from the latest run');
  const out: Block[] = [context(facts.join(' · '))];
  if (m.demo) out.push(context(`:test_tube: *${DEMO_NOTICE}*`));
  if (ctx.csvName && ctx.delivery !== 'none') {
    const where = ctx.delivery === 'dm' ? 'sent to you in a direct message from me' : 'posted in this channel';
    out.push(context(`:paperclip: \`${esc(ctx.csvName)}\` ${where}`));
  }
  if (report.warnings.length > 0) {
    out.push(context(`:warning: ${report.warnings.length} data warning${report.warnings.length === 1 ? '' : 's'}: ${esc(report.warnings[0]).slice(0, 200)}${report.warnings.length > 1 ? ' …' : ''}`));
  }
  return out;
}

function title(name: string, report: KpiReport, ctx: ReplyContext): string {
  return `${name} — ${scopeText(report.meta.filter ?? ctx.filter, report.meta.windowDays, true)}`;
}

export function renderSla(report: KpiReport, ctx: ReplyContext): Reply {
  const all = report.slaSummary.find((r) => r.priority === 'ALL');
  const rows = report.slaSummary.map((r) => [
    r.priority, int(r.total_cases), int(r.met), int(r.breached), int(r.pending),
    pct(r.sla_compliance_pct), pct(r.first_response_compliance_pct), hours(r.median_resolution_hours), hours(r.p90_resolution_hours),
  ]);
  const headline = all
    ? `*SLA compliance ${pct(all.sla_compliance_pct)}* (${int(all.met)} met, ${int(all.breached)} breached, ${int(all.pending)} pending) · first response ${pct(all.first_response_compliance_pct)}`
    : 'No cases with a known priority in this scope.';
  const t = title('SLA compliance', report, ctx);
  return {
    text: `${t}: ${all ? pct(all.sla_compliance_pct) : DASH}`,
    blocks: [
      header(t),
      section(headline),
      ...(rows.length ? [section(table(['prio', 'cases', 'met', 'breached', 'pending', 'SLA', 'first resp', 'median', 'p90'], rows))] : []),
      ...footer(report, ctx),
    ],
  };
}

export function renderQuality(report: KpiReport, ctx: ReplyContext): Reply {
  const q = report.dataQuality;
  const low = ctx.dqMin !== undefined && q.quality_score < ctx.dqMin;
  const t = title('Data quality', report, ctx);
  return {
    text: `${t}: score ${q.quality_score.toFixed(1)}`,
    blocks: [
      header(t),
      section(`*Quality score ${q.quality_score.toFixed(1)}* / 100${low ? ` :warning: below the minimum of ${ctx.dqMin}` : ''}`),
      fields([
        ['Rows checked', int(q.total_rows)],
        ['Missing required fields', `${int(q.missing_rows)} (${pct(q.missing_pct)})`],
        ['Duplicates', `${int(q.duplicate_rows)} (${pct(q.duplicate_pct)})`],
        ['Invalid SLA data', `${int(q.invalid_sla_rows)} (${pct(q.invalid_sla_pct)})`],
      ]),
      ...footer(report, ctx),
    ],
  };
}

export function renderBacklog(report: KpiReport, ctx: ReplyContext): Reply {
  const all = report.backlogSummary.find((r) => r.priority === 'ALL');
  const rows = report.backlogSummary.map((r) => [
    r.priority, int(r.open_cases), int(r.at_risk), int(r.breached), hours(r.avg_age_hours), hours(r.max_age_hours),
    int(r.age_0_1d), int(r.age_1_3d), int(r.age_3_7d), int(r.age_7d_plus),
  ]);
  const spike = report.backlogSpike.find((r) => r.scope === 'ALL');
  const spikeText = spike
    ? ` · growth vs ${report.meta.spikeBaselineDays}-day baseline ${pct(spike.growth_pct)}${spike.is_spike ? ' :chart_with_upwards_trend: *spike*' : ''}`
    : '';
  const t = title('Backlog', report, ctx);
  return {
    text: `${t}: ${all ? int(all.open_cases) : '0'} open`,
    blocks: [
      header(t),
      section(all ? `*${int(all.open_cases)} open* · ${int(all.at_risk)} at risk · ${int(all.breached)} breached${spikeText}` : 'No open cases in this scope.'),
      ...(rows.length ? [section(table(['prio', 'open', 'risk', 'breach', 'avg age', 'max age', '<1d', '1-3d', '3-7d', '7d+'], rows))] : []),
      ...footer(report, ctx),
    ],
  };
}

/** "in 3.20 h" / "breached 4,534.87 h ago": never a negative duration. */
export function toBreach(hoursToBreach: number): string {
  const h = Math.abs(hoursToBreach).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return hoursToBreach < 0 ? `breached ${h} h ago` : `in ${h} h`;
}

export function renderRisk(report: KpiReport, ctx: ReplyContext): Reply {
  const d = report.dailyOps;
  // The shared attention order (src/render/attention.ts), as in the digest and the .txt.
  // Only the rows shown are formatted (the list can hold thousands of cases; the CSV has them all).
  const att = reportAttention(report);
  const ordered = attentionList(att);
  const listed = attentionTop(att);
  const rows = listed.map((c) => [
    c.case_id, c.priority, c.team ?? DASH, c.assignee ?? DASH, when(c.due_at).replace(' UTC', ''),
    c.hours_to_breach === null ? 'paused' : toBreach(c.hours_to_breach), c.risk_level === 'breached' ? 'BREACHED' : 'at risk',
  ]);
  const old = att.oldBreached.count > 0
    ? `\n${int(att.oldBreached.count)} breached more than ${att.horizonHours} h ago (${priorityCounts(att.oldBreached.byPriority)}): in the CSV, not listed here.`
    : '';
  const t = title('SLA risk', report, ctx);
  return {
    text: `${t}: ${int(d.at_risk_cases)} at risk, ${int(d.breached_open_cases)} breached`,
    blocks: [
      header(t),
      section(
        `*${int(d.at_risk_cases)} at risk* (≥ ${report.meta.riskThresholdPct}% of the resolution target used) · *${int(d.breached_open_cases)} breached* and still open` +
          (rows.length ? '\nSoonest to breach first, then newly breached:' : ordered.length + att.oldBreached.count === 0 ? '\nNothing at risk right now. :tada:' : '') + old,
      ),
      ...(rows.length ? [section(table(['case', 'prio', 'team', 'assignee', 'due (UTC)', 'to breach', 'level'], rows, listed.length, ordered.length))] : []),
      ...footer(report, ctx),
    ],
  };
}

export function renderTrend(report: KpiReport, ctx: ReplyContext, maxDays = 14): Reply {
  const days = report.volumeTrend.slice(-maxDays);
  const rows = days.map((r) => [r.date, int(r.created), int(r.resolved), r.net_change > 0 ? `+${int(r.net_change)}` : int(r.net_change), int(r.backlog_end_of_day)]);
  const last = report.volumeTrend[report.volumeTrend.length - 1];
  const t = title('Volume trend', report, ctx);
  const note = report.volumeTrend.length > days.length ? `\nLast ${days.length} of ${report.volumeTrend.length} days; every day is in the CSV. Today is partial.` : '\nToday is partial.';
  // Volume anomalies (contract 7): a section only when there is one.
  const unusual = anomalies(report.volumeAnomaly);
  const anomalyBlocks = unusual.length
    ? [section(unusual.map((a) => `${a.direction === 'low' ? ':small_red_triangle_down:' : ':small_red_triangle:'} *Volume anomaly*: ${esc(anomalySentence(a))}`).join('\n'))]
    : [];
  return {
    text: `${t}: ${last ? `${int(last.created)} created, ${int(last.resolved)} resolved today` : 'no days'}`,
    blocks: [
      header(t),
      section(last ? `Today: *${int(last.created)} created*, *${int(last.resolved)} resolved*, backlog ${int(last.backlog_end_of_day)}${note}` : 'No days in this window.'),
      ...anomalyBlocks,
      ...(rows.length ? [section(table(['date', 'created', 'resolved', 'net', 'backlog'], rows, maxDays))] : []),
      ...footer(report, ctx),
    ],
  };
}

export function renderSummary(report: KpiReport, ctx: ReplyContext, name = 'Daily ops summary'): Reply {
  const d = report.dailyOps;
  const t = title(name, report, ctx);
  const attention: string[] = [];
  if (d.breached_open_cases > 0) attention.push(`${int(d.breached_open_cases)} open case${d.breached_open_cases === 1 ? ' has' : 's have'} breached SLA`);
  if (d.at_risk_cases > 0) attention.push(`${int(d.at_risk_cases)} at risk of breaching`);
  if (d.backlog_spike) attention.push(`backlog spike (${pct(d.backlog_growth_pct)} vs baseline)`);
  if (ctx.dqMin !== undefined && d.data_quality_score < ctx.dqMin) attention.push(`data quality ${d.data_quality_score.toFixed(1)} below ${ctx.dqMin}`);
  return {
    text: `${t}: backlog ${int(d.open_backlog)}, SLA ${pct(d.sla_compliance_pct)}, ${int(d.at_risk_cases)} at risk`,
    blocks: [
      header(t),
      fields([
        ['Open backlog', `${int(d.open_backlog)}${d.backlog_growth_pct !== null ? ` (${d.backlog_growth_pct > 0 ? '+' : ''}${pct(d.backlog_growth_pct)})` : ''}`],
        ['Created / resolved today', `${int(d.created_today)} / ${int(d.resolved_today)}`],
        ['SLA compliance', pct(d.sla_compliance_pct)],
        ['First response', pct(d.first_response_compliance_pct)],
        ['At risk / breached open', `${int(d.at_risk_cases)} / ${int(d.breached_open_cases)}`],
        ['Data quality', d.data_quality_score.toFixed(1)],
      ]),
      section(attention.length ? `*Needs attention:* ${attention.join('; ')}.` : 'Nothing needs attention right now. :white_check_mark:'),
      divider(),
      ...footer(report, ctx),
    ],
  };
}

export function renderReport(view: ReportView, report: KpiReport, ctx: ReplyContext): Reply {
  switch (view) {
    case 'sla': return renderSla(report, ctx);
    case 'quality': return renderQuality(report, ctx);
    case 'backlog': return renderBacklog(report, ctx);
    case 'risk': return renderRisk(report, ctx);
    case 'trend': return renderTrend(report, ctx);
    case 'summary': return renderSummary(report, ctx);
    case 'run': return renderSummary(report, ctx, 'Fresh run finished');
  }
}
