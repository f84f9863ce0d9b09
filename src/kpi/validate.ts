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

  w.push(...validateVolumeAnomaly(r));

  const dq = r.dataQuality;
  for (const k of ['missing_pct', 'duplicate_pct', 'invalid_sla_pct', 'quality_score'] as const) inRange(`data_quality ${k}`, dq[k]);
  if (dq.missing_rows > dq.total_rows || dq.duplicate_rows > dq.total_rows || dq.invalid_sla_rows > dq.total_rows) {
    w.push('data_quality: a defect count exceeds total_rows');
  }
  if (r.dataQuality.total_rows === 0) w.push("no rows in the run's window (the source is empty or holds other dates): every file was written with headers and zero counts");
  return w;
}

/**
 * volume_anomaly_summary (contract 7): one row per scope (ALL first, the same scopes as the
 * spike summary), the day before as_of's day, a band around the median, a judgement only with
 * at least 3 baseline weeks, and a direction that agrees with the judgement.
 */
export function validateVolumeAnomaly(r: KpiReport): string[] {
  const w: string[] = [];
  const rows = r.volumeAnomaly;
  if (rows[0]?.scope !== 'ALL') w.push('volume_anomaly_summary has no ALL row first');
  const scopes = rows.map((x) => x.scope).join(',');
  const spikeScopes = r.backlogSpike.map((x) => x.scope).join(',');
  if (scopes !== spikeScopes) w.push(`volume_anomaly_summary scopes ${scopes} != backlog_spike_summary scopes ${spikeScopes}`);
  const expectedDay = new Date(Date.parse(`${r.meta.asOfDate}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const all = rows.find((x) => x.scope === 'ALL');
  const partsCreated = rows.filter((x) => x.scope !== 'ALL').reduce((a, x) => a + x.created, 0);
  if (all && all.created < partsCreated) w.push(`volume_anomaly_summary: ALL created ${all.created} < sum of priorities ${partsCreated}`);
  for (const x of rows) {
    const name = `volume_anomaly_summary ${x.scope}`;
    if (x.date !== expectedDay) w.push(`${name}: date ${x.date} is not the day before ${r.meta.asOfDate}`);
    if (x.created < 0 || x.baseline_days < 0) w.push(`${name}: negative count`);
    const band = [x.baseline_median, x.baseline_low, x.baseline_high];
    if (x.baseline_days === 0 && (band.some((v) => v !== null) || x.z_score !== null)) w.push(`${name}: no baseline week but a baseline or z_score`);
    if (x.baseline_days > 0 && band.some((v) => v === null)) w.push(`${name}: baseline weeks but no baseline`);
    if (x.baseline_days < 3 && (x.z_score !== null || x.is_anomaly)) w.push(`${name}: fewer than 3 baseline weeks but judged`);
    if (x.baseline_days >= 3 && x.z_score === null) w.push(`${name}: ${x.baseline_days} baseline weeks but no z_score`);
    if (x.baseline_median !== null && x.baseline_low !== null && x.baseline_high !== null
      && !(x.baseline_low >= 0 && x.baseline_low <= x.baseline_median && x.baseline_median <= x.baseline_high)) {
      w.push(`${name}: band ${x.baseline_low}..${x.baseline_high} does not hold the median ${x.baseline_median} (or is below 0)`);
    }
    if (!x.is_anomaly && x.direction !== null) w.push(`${name}: direction ${x.direction} without an anomaly`);
    if (x.is_anomaly && x.baseline_median !== null && x.direction !== (x.created > x.baseline_median ? 'high' : 'low') && x.created !== x.baseline_median) {
      w.push(`${name}: direction ${x.direction} disagrees with created ${x.created} against median ${x.baseline_median}`);
    }
  }
  return w;
}
