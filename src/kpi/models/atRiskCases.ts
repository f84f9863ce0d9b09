/**
 * sla_at_risk_cases.csv (contract 5): open cases with sla_elapsed_pct >= risk threshold
 * (`risk_listed`), breached ones included, most urgent first (due_at, then case_id).
 */
/** The file's order, by its own columns (due_at is fixed-width UTC text, so it sorts as time). */
export const AT_RISK_ORDER = 't.due_at, t.case_id';

export const atRiskCasesSql = `
SELECT case_id, CAST(priority AS VARCHAR) AS priority, region, team, assignee, status,
  strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, strftime(due_at, '%Y-%m-%dT%H:%M:%SZ') AS due_at,
  round(target_hours, 2) AS sla_target_hours,
  round((epoch_us(p.as_of) - epoch_us(created_at)) / 3600e6, 2) AS elapsed_hours,
  round((epoch_us(p.as_of) - epoch_us(created_at)) * 100.0 / (epoch_us(due_at) - epoch_us(created_at)), 1) AS sla_elapsed_pct,
  round((epoch_us(due_at) - epoch_us(p.as_of)) / 3600e6, 2) AS hours_to_breach,
  CASE WHEN outcome = 'breached' THEN 'breached' ELSE 'at_risk' END AS risk_level
FROM m, p
WHERE risk_listed
ORDER BY due_at, case_id`;
