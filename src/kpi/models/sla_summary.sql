-- sla_summary.csv (contract 5): cases created in the window with a known priority, one row
-- per priority present (P1..P4), then ALL. Median and p90 use linear interpolation
-- (quantile_cont, both from one sort), as numpy/pandas do.
WITH created_in_window AS (
  SELECT counted_cases.* FROM counted_cases, run_params
  WHERE counted_cases.created_at >= run_params.window_start AND counted_cases.priority IS NOT NULL
),
per_priority AS (
  SELECT coalesce(priority, 'ALL') AS priority, grouping(priority) AS is_all,
    count(*) AS total_cases,
    coalesce(count_if(eff_resolved_at IS NOT NULL), 0) AS resolved_cases,
    coalesce(count_if(is_open), 0) AS open_cases,
    coalesce(count_if(outcome = 'met'), 0) AS met,
    coalesce(count_if(outcome = 'breached'), 0) AS breached,
    coalesce(count_if(outcome = 'pending'), 0) AS pending,
    avg(resolution_hours) AS avg_h,
    @quantiles(resolution_hours, 0.5, 0.9) AS q_h,
    coalesce(count_if(fr_outcome = 'met'), 0) AS fr_met,
    coalesce(count_if(fr_outcome = 'breached'), 0) AS fr_breached
  FROM created_in_window GROUP BY ROLLUP (priority)
)
SELECT priority, total_cases, resolved_cases, open_cases, met, breached, pending,
  CASE WHEN met + breached > 0 THEN round(met * 100.0 / (met + breached), 1) END AS sla_compliance_pct,
  round(avg_h, 2) AS avg_resolution_hours,
  round(@quantile_item(q_h, 1), 2) AS median_resolution_hours,
  round(@quantile_item(q_h, 2), 2) AS p90_resolution_hours,
  CASE WHEN fr_met + fr_breached > 0 THEN round(fr_met * 100.0 / (fr_met + fr_breached), 1) END AS first_response_compliance_pct
FROM per_priority ORDER BY is_all, priority
