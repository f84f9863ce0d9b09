/**
 * sla_at_risk_cases.csv (contract 5): open cases with sla_elapsed_pct >= risk threshold,
 * breached ones included, most urgent first (due_at, then case_id).
 */
export const atRiskCasesSql = `
WITH r AS (SELECT m.* FROM m, p WHERE m.is_open AND m.has_sla AND m.sla_elapsed_pct >= p.risk_threshold_pct)
SELECT s.case_id, r.priority, s.region, s.team, s.assignee, s.status,
  strftime(r.created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, strftime(r.due_at, '%Y-%m-%dT%H:%M:%SZ') AS due_at,
  round(r.target_hours, 2) AS sla_target_hours,
  round(r.elapsed_hours, 2) AS elapsed_hours,
  round(r.sla_elapsed_pct, 1) AS sla_elapsed_pct,
  round((epoch_us(r.due_at) - epoch_us(p.as_of)) / 3600e6, 2) AS hours_to_breach,
  CASE WHEN r.outcome = 'breached' THEN 'breached' ELSE 'at_risk' END AS risk_level
FROM r JOIN scoped_rows s ON s.rowid = r.rid, p
ORDER BY r.due_at, s.case_id`;
