-- sla_at_risk_cases.csv (contracts 5 and 6.4): open cases at or above the lowest risk stage
-- (`risk_listed`, set in case_rows), breached ones included, most urgent first (due_at with
-- empty ones last, then case_id). The caller fetches the rows as one JSON text in the order
-- AT_RISK_ORDER. clock_us and resolution_us are the resolution clock at as_of and its target
-- (clock time: business hours where the policy's calendar has them, less pauses).
-- risk_stage: the highest risk stage reached, 100 when breached.
SELECT case_id, CAST(priority AS VARCHAR) AS priority, region, team, assignee, status,
  @strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, @strftime(due_at, '%Y-%m-%dT%H:%M:%SZ') AS due_at,
  round(resolution_us / 3600e6, 2) AS sla_target_hours,
  round(clock_us / 3600e6, 2) AS elapsed_hours,
  round(clock_us * 100.0 / resolution_us, 1) AS sla_elapsed_pct,
  round((@epoch_us(due_at) - @epoch_us(run_params.as_of)) / 3600e6, 2) AS hours_to_breach,
  CASE WHEN outcome = 'breached' THEN 'breached' ELSE 'at_risk' END AS risk_level,
  policy, calendar, clock_state, {{risk_stage}} AS risk_stage
FROM counted_cases, run_params
WHERE risk_listed
ORDER BY due_at NULLS LAST, case_id
