-- The facts of daily_ops_summary.csv (contract 5) that are not taken from another report:
-- cases_in_window (cleaned cases in the run's scope, unknown priorities and closed cases
-- without resolved_at included), the open backlog, at-risk and breached open cases, and the
-- newest created_at (for staleness checks). compute.ts adds the rest from the other reports.
SELECT count(*) AS cases_in_window,
  coalesce(count_if(is_open), 0) AS open_backlog,
  coalesce(count_if(at_risk), 0) AS at_risk_cases,
  coalesce(count_if(is_open AND outcome = 'breached'), 0) AS breached_open_cases,
  max(created_at) AS newest
FROM counted_cases
