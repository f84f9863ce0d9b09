/**
 * daily_ops_summary.txt: the run's facts for a person: an executive summary, the numbers
 * that matter, what changed and what needs attention first. Rendering only.
 */
import type { KpiReport } from '../../contract/report';

const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)}%`);
const signed = (v: number) => (v > 0 ? `+${v}` : `${v}`);

export function renderDailyOpsText(r: KpiReport): string {
  const d = r.dailyOps;
  const dq = r.dataQuality;
  const spikeAll = r.backlogSpike.find((s) => s.scope === 'ALL');
  const trend = r.volumeTrend;
  const yesterday = trend.length >= 2 ? trend[trend.length - 2] : undefined;
  const lines: string[] = [];
  lines.push(`Global support - daily ops summary for ${d.as_of_date}`);
  lines.push(`As of ${d.as_of} (report time zone ${r.meta.reportTz}, ${r.meta.windowDays}-day window, source ${r.meta.source})`);
  lines.push('');
  lines.push('Executive summary');
  const health = d.sla_compliance_pct === null ? 'no SLA outcomes yet in the window' : `SLA compliance is ${pct(d.sla_compliance_pct)} (first response ${pct(d.first_response_compliance_pct)})`;
  lines.push(`- ${health}.`);
  lines.push(`- ${d.open_backlog} cases are open; ${d.breached_open_cases} of them have breached SLA and ${d.at_risk_cases} more are at risk.`);
  if (spikeAll && spikeAll.growth_pct !== null) {
    lines.push(`- Backlog ${spikeAll.is_spike ? 'SPIKE' : 'is within range'}: ${spikeAll.backlog_today} today vs a ${r.meta.spikeBaselineDays}-day average of ${spikeAll.baseline_avg.toFixed(1)} (${spikeAll.growth_pct > 0 ? '+' : ''}${spikeAll.growth_pct.toFixed(1)}%, threshold ${spikeAll.threshold_pct}%).`);
  } else {
    lines.push('- Backlog growth cannot be judged: no baseline yet.');
  }
  lines.push(`- Data quality score ${dq.quality_score.toFixed(1)} / 100 (${dq.total_rows} rows: ${dq.missing_rows} missing fields, ${dq.duplicate_rows} duplicates, ${dq.invalid_sla_rows} invalid for SLA).`);
  lines.push('');
  lines.push('Key numbers');
  lines.push(`  Cases in window ........ ${d.cases_in_window}`);
  lines.push(`  Created today .......... ${d.created_today}`);
  lines.push(`  Resolved today ......... ${d.resolved_today}`);
  lines.push(`  Open backlog ........... ${d.open_backlog}`);
  lines.push(`  SLA compliance ......... ${pct(d.sla_compliance_pct)}`);
  lines.push(`  First response ......... ${pct(d.first_response_compliance_pct)}`);
  lines.push(`  At risk / breached ..... ${d.at_risk_cases} / ${d.breached_open_cases}`);
  lines.push('');
  lines.push('SLA compliance by priority');
  for (const s of r.slaSummary) {
    lines.push(`  ${s.priority.padEnd(4)} ${pct(s.sla_compliance_pct).padStart(6)}  ${String(s.total_cases).padStart(7)} cases, ${s.breached} breached, median resolution ${s.median_resolution_hours === null ? 'n/a' : `${s.median_resolution_hours.toFixed(2)} h`}`);
  }
  lines.push('');
  lines.push('What changed');
  if (yesterday) {
    const today = trend[trend.length - 1];
    lines.push(`  Yesterday (${yesterday.date}): ${yesterday.created} created, ${yesterday.resolved} resolved, net ${signed(yesterday.net_change)}, backlog ${yesterday.backlog_end_of_day} at day end.`);
    lines.push(`  Today so far: ${today.created} created, ${today.resolved} resolved, backlog ${today.backlog_end_of_day} (${signed(today.backlog_end_of_day - yesterday.backlog_end_of_day)} since yesterday).`);
  } else {
    lines.push('  Not enough days in the window to compare.');
  }
  lines.push('');
  lines.push('Needs attention first');
  // Cases that can still be saved come first (soonest to breach), then the breached ones.
  // A case whose clock is paused has no due time (contract 6.2): it comes after the running ones.
  const soon = r.atRiskCases.filter((c) => c.risk_level === 'at_risk').sort((a, b) => (a.hours_to_breach ?? Infinity) - (b.hours_to_breach ?? Infinity)).slice(0, 5);
  const breached = r.atRiskCases.filter((c) => c.risk_level === 'breached');
  if (soon.length === 0 && breached.length === 0) lines.push('  Nothing: no open case is at risk of breaching SLA.');
  for (const c of soon) {
    lines.push(`  ${c.priority} ${c.case_id} (${c.team ?? 'no team'}, ${c.assignee ?? 'unassigned'}): ${c.hours_to_breach === null ? 'clock paused' : `breaches in ${c.hours_to_breach.toFixed(1)} h`}`);
  }
  if (breached.length) {
    const byPriority = ['P1', 'P2', 'P3', 'P4'].map((p) => [p, breached.filter((c) => c.priority === p).length] as const).filter(([, n]) => n > 0);
    const recent = [...breached].sort((a, b) => (b.hours_to_breach ?? -Infinity) - (a.hours_to_breach ?? -Infinity))[0];
    const ago = recent.hours_to_breach === null ? 'clock paused' : `${(-recent.hours_to_breach).toFixed(1)} h ago`;
    lines.push(`  ${breached.length} open cases have breached SLA (${byPriority.map(([p, n]) => `${p} ${n}`).join(', ')}); most recent: ${recent.priority} ${recent.case_id}, ${ago}.`);
  }
  lines.push('  Full list, most urgent first: sla_at_risk_cases.csv');
  for (const s of r.backlogSpike.filter((x) => x.is_spike && x.scope !== 'ALL')) {
    lines.push(`  Backlog spike in ${s.scope}: ${s.backlog_today} open vs ${s.baseline_avg.toFixed(1)} baseline (+${(s.growth_pct ?? 0).toFixed(1)}%).`);
  }
  if (dq.quality_score < 90) lines.push(`  Data quality is ${dq.quality_score.toFixed(1)}: treat these numbers as provisional.`);
  if (r.warnings.length) {
    lines.push('');
    lines.push('Validation warnings');
    for (const w of r.warnings) lines.push(`  - ${w}`);
  }
  return `${lines.join('\n')}\n`;
}
