/**
 * sla_at_risk_cases.csv (contract 5): open cases with sla_elapsed_pct >= risk threshold,
 * breached ones included, most urgent first (due_at, then case_id).
 */
export const atRiskCasesSql = `
SELECT case_id, priority, region, team, assignee, status, created_at, due_at,
  round(target_hours, 2) AS sla_target_hours,
  round(elapsed_hours, 2) AS elapsed_hours,
  round(sla_elapsed_pct, 1) AS sla_elapsed_pct,
  round((epoch_us(due_at) - epoch_us(p.as_of)) / 3600e6, 2) AS hours_to_breach,
  CASE WHEN outcome = 'breached' THEN 'breached' ELSE 'at_risk' END AS risk_level
FROM m, p
WHERE is_open AND has_sla AND sla_elapsed_pct >= p.risk_threshold_pct
ORDER BY due_at, case_id`;
