-- sla_at_risk_cases.csv (contract 5): open cases with sla_elapsed_pct >= the risk threshold
-- (`risk_listed`, set in case_rows), breached ones included, most urgent first (due_at, then
-- case_id). The caller fetches the rows as one JSON text in the order AT_RISK_ORDER.
SELECT case_id, CAST(priority AS VARCHAR) AS priority, region, team, assignee, status,
  strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, strftime(due_at, '%Y-%m-%dT%H:%M:%SZ') AS due_at,
  round(target_hours, 2) AS sla_target_hours,
  round((epoch_us(run_params.as_of) - epoch_us(created_at)) / 3600e6, 2) AS elapsed_hours,
  round((epoch_us(run_params.as_of) - epoch_us(created_at)) * 100.0 / (epoch_us(due_at) - epoch_us(created_at)), 1) AS sla_elapsed_pct,
  round((epoch_us(due_at) - epoch_us(run_params.as_of)) / 3600e6, 2) AS hours_to_breach,
  CASE WHEN outcome = 'breached' THEN 'breached' ELSE 'at_risk' END AS risk_level
FROM counted_cases, run_params
WHERE risk_listed
ORDER BY due_at, case_id
