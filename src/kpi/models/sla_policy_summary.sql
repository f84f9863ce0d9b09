-- sla_policy_summary.csv (contract 6.4, 6.5): the cases of sla_summary.csv (created in the
-- window, known priority) by policy, one row per policy in file order that has such cases,
-- then NO_POLICY (calendar empty) for those no policy covers, if any. policy_order: the
-- policies' names in file order (a VALUES list of name, calendar, position).
WITH created_in_window AS (
  SELECT counted_cases.* FROM counted_cases, run_params
  WHERE counted_cases.created_at >= run_params.window_start AND counted_cases.priority IS NOT NULL
),
per_policy AS (
  SELECT policy, count(*) AS total_cases,
    coalesce(count_if(outcome = 'met'), 0) AS met,
    coalesce(count_if(outcome = 'breached'), 0) AS breached,
    coalesce(count_if(outcome = 'pending'), 0) AS pending,
    coalesce(count_if(fr_outcome = 'met'), 0) AS fr_met,
    coalesce(count_if(fr_outcome = 'breached'), 0) AS fr_breached
  FROM created_in_window GROUP BY policy
),
policy_order AS (SELECT * FROM (VALUES {{policy_order}}) AS v(name, calendar, position))
SELECT coalesce(p.policy, 'NO_POLICY') AS policy, o.calendar, p.total_cases, p.met, p.breached, p.pending,
  CASE WHEN p.met + p.breached > 0 THEN round(p.met * 100.0 / (p.met + p.breached), 1) END AS sla_compliance_pct,
  p.fr_met AS first_response_met, p.fr_breached AS first_response_breached,
  CASE WHEN p.fr_met + p.fr_breached > 0 THEN round(p.fr_met * 100.0 / (p.fr_met + p.fr_breached), 1) END AS first_response_compliance_pct
FROM per_policy p LEFT JOIN policy_order o ON o.name = p.policy
ORDER BY p.policy IS NULL, o.position
