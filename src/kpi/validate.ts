/**
 * Validation after each run: the numbers must reconcile. Problems become warnings (logged,
 * listed in the JSON summary); they never fail the run.
 */
import type { KpiReport } from '../contract/report';

export function validateReport(r: KpiReport): string[] {
  const w: string[] = [];
  const inRange = (name: string, v: number | null) => {
    if (v !== null && (v < 0 || v > 100 || !Number.isFinite(v))) w.push(`${name} is ${v}, outside 0..100`);
  };

  // sla_summary: ALL equals the sum of its parts; met + breached + pending <= total; ranges.
  const parts = r.slaSummary.filter((x) => x.priority !== 'ALL');
  const all = r.slaSummary.find((x) => x.priority === 'ALL');
  if (!all) w.push('sla_summary has no ALL row');
  else {
    for (const k of ['total_cases', 'resolved_cases', 'open_cases', 'met', 'breached', 'pending'] as const) {
      const sum = parts.reduce((a, x) => a + x[k], 0);
      if (sum !== all[k]) w.push(`sla_summary: ALL ${k} ${all[k]} != sum of priorities ${sum}`);
    }
  }
  for (const x of r.slaSummary) {
    if (x.met + x.breached + x.pending > x.total_cases) w.push(`sla_summary ${x.priority}: met + breached + pending > total_cases`);
    if (x.resolved_cases + x.open_cases > x.total_cases) w.push(`sla_summary ${x.priority}: resolved + open > total_cases`);
    inRange(`sla_summary ${x.priority} sla_compliance_pct`, x.sla_compliance_pct);
    inRange(`sla_summary ${x.priority} first_response_compliance_pct`, x.first_response_compliance_pct);
    if (x.median_resolution_hours !== null && x.p90_resolution_hours !== null && x.median_resolution_hours > x.p90_resolution_hours) {
      w.push(`sla_summary ${x.priority}: median_resolution_hours > p90_resolution_hours`);
    }
  }

  // backlog_summary: ALL equals the sum; buckets add up to open_cases.
  const bparts = r.backlogSummary.filter((x) => x.priority !== 'ALL');
  const ball = r.backlogSummary.find((x) => x.priority === 'ALL');
  if (!ball) w.push('backlog_summary has no ALL row');
  else {
    for (const k of ['open_cases', 'at_risk', 'breached', 'age_0_1d', 'age_1_3d', 'age_3_7d', 'age_7d_plus'] as const) {
      const sum = bparts.reduce((a, x) => a + x[k], 0);
      if (sum !== ball[k]) w.push(`backlog_summary: ALL ${k} ${ball[k]} != sum of priorities ${sum}`);
    }
  }
  for (const x of r.backlogSummary) {
    const buckets = x.age_0_1d + x.age_1_3d + x.age_3_7d + x.age_7d_plus;
    if (buckets !== x.open_cases) w.push(`backlog_summary ${x.priority}: age buckets ${buckets} != open_cases ${x.open_cases}`);
    if (x.at_risk + x.breached > x.open_cases) w.push(`backlog_summary ${x.priority}: at_risk + breached > open_cases`);
  }

  // volume_trend: the backlog chain holds day to day; today's backlog is the open backlog.
  const v = r.volumeTrend;
  for (let i = 1; i < v.length; i++) {
    const adj = r.meta.backlogChainAdjustment[i] ?? 0;
    const expected = v[i - 1].backlog_end_of_day + v[i].net_change - adj;
    if (expected !== v[i].backlog_end_of_day) {
      w.push(`volume_trend ${v[i].date}: backlog_end_of_day ${v[i].backlog_end_of_day} != previous ${v[i - 1].backlog_end_of_day} + net_change ${v[i].net_change}${adj ? ` - ${adj} not backlogged` : ''}`);
    }
  }
  if (v.length && ball && v[v.length - 1].backlog_end_of_day !== ball.open_cases) {
    w.push(`volume_trend: today's backlog_end_of_day ${v[v.length - 1].backlog_end_of_day} != open backlog ${ball.open_cases}`);
  }

  // at-risk list agrees with the backlog summary.
  const atRisk = r.atRiskCases.filter((c) => c.risk_level === 'at_risk').length;
  const breached = r.atRiskCases.filter((c) => c.risk_level === 'breached').length;
  if (ball && atRisk !== ball.at_risk) w.push(`sla_at_risk_cases: ${atRisk} at_risk rows != backlog_summary at_risk ${ball.at_risk}`);
  if (ball && breached !== ball.breached) w.push(`sla_at_risk_cases: ${breached} breached rows != backlog_summary breached ${ball.breached}`);

  const dq = r.dataQuality;
  for (const k of ['missing_pct', 'duplicate_pct', 'invalid_sla_pct', 'quality_score'] as const) inRange(`data_quality ${k}`, dq[k]);
  if (dq.missing_rows > dq.total_rows || dq.duplicate_rows > dq.total_rows || dq.invalid_sla_rows > dq.total_rows) {
    w.push('data_quality: a defect count exceeds total_rows');
  }
  if (r.dataQuality.total_rows === 0) w.push("no rows in the run's window (the source is empty or holds other dates): every file was written with headers and zero counts");
  return w;
}
