/**
 * daily_ops_summary.txt: the run's facts for a person: an executive summary, the numbers
 * that matter, what changed and what needs attention first. Rendering only.
 */
import type { KpiReport } from '../../contract/report';
import { anomalies, anomalySentence } from '../anomalyText';
import { formatCount as n } from '../../support/numbers';
import { DEMO_NOTICE } from '../demo';
import { attentionList, attentionTop, priorityCounts, reportAttention } from '../attention';

const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)}%`);
const signed = (v: number) => (v > 0 ? `+${n(v)}` : `${v < 0 ? '-' : ''}${n(Math.abs(v))}`);

export function renderDailyOpsText(r: KpiReport): string {
  const d = r.dailyOps;
  const dq = r.dataQuality;
  const spikeAll = r.backlogSpike.find((s) => s.scope === 'ALL');
  const trend = r.volumeTrend;
  const yesterday = trend.length >= 2 ? trend[trend.length - 2] : undefined;
  const lines: string[] = [];
  // Demo data says so on the first line, before any number.
  if (r.meta.demo) lines.push(`${DEMO_NOTICE} (set KPI_SOURCE to read your own)`);
  lines.push(`Global support - daily ops summary for ${d.as_of_date}`);
  lines.push(`As of ${d.as_of} (report time zone ${r.meta.reportTz}, ${r.meta.windowDays}-day window, source ${r.meta.source})`);
  lines.push('');
  lines.push('Executive summary');
  const slaAll = r.slaSummary.find((x) => x.priority === 'ALL');
  const noTarget = d.sla_compliance_pct === null && d.cases_in_window > 0 && slaAll !== undefined && slaAll.total_cases === 0;
  const health = noTarget ? 'no case has an SLA target: check priorities or the policy'
    : d.sla_compliance_pct === null ? 'no SLA outcomes yet in the window' : `SLA compliance is ${pct(d.sla_compliance_pct)} (first response ${pct(d.first_response_compliance_pct)})`;
  lines.push(`- ${health}.`);
  lines.push(`- ${n(d.open_backlog)} cases are open; ${n(d.breached_open_cases)} of them have breached SLA and ${n(d.at_risk_cases)} more are at risk.`);
  if (spikeAll && spikeAll.growth_pct !== null) {
    lines.push(`- Backlog ${spikeAll.is_spike ? 'SPIKE' : 'is within range'}: ${n(spikeAll.backlog_today)} today vs a ${r.meta.spikeBaselineDays}-day average of ${spikeAll.baseline_avg.toFixed(1)} (${spikeAll.growth_pct > 0 ? '+' : ''}${spikeAll.growth_pct.toFixed(1)}%, threshold ${spikeAll.threshold_pct}%).`);
  } else {
    lines.push('- Backlog growth cannot be judged: no baseline yet.');
  }
  // Volume anomalies (contract 7): lines only when there is one.
  for (const a of anomalies(r.volumeAnomaly)) lines.push(`- Volume anomaly: ${anomalySentence(a)}.`);
  lines.push(`- Data quality score ${dq.quality_score.toFixed(1)} / 100 (${n(dq.total_rows)} rows: ${n(dq.missing_rows)} missing fields, ${n(dq.duplicate_rows)} duplicates, ${n(dq.invalid_sla_rows)} invalid for SLA).`);
  lines.push('');
  lines.push('Key numbers');
  lines.push(`  Cases in window ........ ${n(d.cases_in_window)}`);
  lines.push(`  Created today .......... ${n(d.created_today)}`);
  lines.push(`  Resolved today ......... ${n(d.resolved_today)}`);
  lines.push(`  Open backlog ........... ${n(d.open_backlog)}`);
  lines.push(`  SLA compliance ......... ${pct(d.sla_compliance_pct)}`);
  lines.push(`  First response ......... ${pct(d.first_response_compliance_pct)}`);
  lines.push(`  At risk / breached ..... ${n(d.at_risk_cases)} / ${n(d.breached_open_cases)}`);
  lines.push('');
  lines.push('SLA compliance by priority');
  for (const s of r.slaSummary) {
    lines.push(`  ${s.priority.padEnd(4)} ${pct(s.sla_compliance_pct).padStart(6)}  ${n(s.total_cases).padStart(7)} cases, ${n(s.breached)} breached, median resolution ${s.median_resolution_hours === null ? 'n/a' : `${s.median_resolution_hours.toFixed(2)} h`}`);
  }
  lines.push('');
  lines.push('What changed');
  if (yesterday) {
    const today = trend[trend.length - 1];
    lines.push(`  Yesterday (${yesterday.date}): ${n(yesterday.created)} created, ${n(yesterday.resolved)} resolved, net ${signed(yesterday.net_change)}, backlog ${n(yesterday.backlog_end_of_day)} at day end.`);
    lines.push(`  Today so far: ${n(today.created)} created, ${n(today.resolved)} resolved, backlog ${n(today.backlog_end_of_day)} (${signed(today.backlog_end_of_day - yesterday.backlog_end_of_day)} since yesterday).`);
  } else {
    lines.push('  Not enough days in the window to compare.');
  }
  lines.push('');
  lines.push('Needs attention first');
  // The shared attention order (src/render/attention.ts): cases that can still be saved,
  // soonest due first; then the newly breached; older breaches only as a count.
  const att = reportAttention(r);
  const listed = attentionTop(att);
  if (listed.length === 0 && att.oldBreached.count === 0) lines.push('  Nothing: no open case is at risk of breaching SLA.');
  for (const c of listed) {
    const when = c.hours_to_breach === null ? `${c.risk_level === 'breached' ? 'breached, ' : ''}clock paused`
      : c.risk_level === 'breached' ? `breached ${(-c.hours_to_breach).toFixed(1)} h ago` : `breaches in ${c.hours_to_breach.toFixed(1)} h`;
    lines.push(`  ${c.priority} ${c.case_id} (${c.team ?? 'no team'}, ${c.assignee ?? 'unassigned'}): ${when}`);
  }
  const notListed = attentionList(att).length - listed.length;
  if (notListed > 0) lines.push(`  ... and ${notListed} more at risk or newly breached.`);
  const breached = r.atRiskCases.filter((c) => c.risk_level === 'breached');
  if (breached.length) {
    const byPriority = ['P1', 'P2', 'P3', 'P4'].map((p) => [p, breached.filter((c) => c.priority === p).length] as const).filter(([, n]) => n > 0);
    // The most recent breach: the first with the largest hours_to_breach (a paused clock, none, counts as the smallest).
    let recent = breached[0];
    for (const c of breached) if ((c.hours_to_breach ?? -Infinity) > (recent.hours_to_breach ?? -Infinity)) recent = c;
    const ago = recent.hours_to_breach === null ? 'clock paused' : `${(-recent.hours_to_breach).toFixed(1)} h ago`;
    lines.push(`  ${n(breached.length)} open cases have breached SLA (${byPriority.map(([p, k]) => `${p} ${n(k)}`).join(', ')}); most recent: ${recent.priority} ${recent.case_id}, ${ago}.`);
  }
  if (att.oldBreached.count > 0) {
    lines.push(`  Of these, ${att.oldBreached.count} breached more than ${att.horizonHours} h ago (${priorityCounts(att.oldBreached.byPriority)}): counted here, listed in the CSV.`);
  }
  lines.push('  Full list, most urgent first: sla_at_risk_cases.csv');
  for (const s of r.backlogSpike.filter((x) => x.is_spike && x.scope !== 'ALL')) {
    lines.push(`  Backlog spike in ${s.scope}: ${n(s.backlog_today)} open vs ${s.baseline_avg.toFixed(1)} baseline (+${(s.growth_pct ?? 0).toFixed(1)}%).`);
  }
  if (dq.quality_score < 90) lines.push(`  Data quality is ${dq.quality_score.toFixed(1)}: treat these numbers as provisional.`);
  if (r.warnings.length) {
    lines.push('');
    lines.push('Validation warnings');
    for (const w of r.warnings) lines.push(`  - ${w}`);
  }
  return `${lines.join('\n')}\n`;
}
