-- backlog_summary.csv (contract 5): open cases at as_of, one row per priority present
-- (P1..P4, then UNKNOWN), then ALL. Age buckets by age in days: [0,1), [1,3), [3,7), [7,inf).
WITH open_cases AS (
  SELECT *, (@epoch_us(run_params.as_of) - @epoch_us(created_at)) / 3600e6 AS age_hours
  FROM counted_cases, run_params WHERE is_open
),
per_priority AS (
  SELECT coalesce(priority_label, 'ALL') AS priority, grouping(priority_label) AS is_all,
    count(*) AS open_cases,
    coalesce(count_if(at_risk), 0) AS at_risk,
    coalesce(count_if(outcome = 'breached'), 0) AS breached,
    avg(age_hours) AS avg_age, max(age_hours) AS max_age,
    coalesce(count_if(age_hours < 24), 0) AS age_0_1d,
    coalesce(count_if(age_hours >= 24 AND age_hours < 72), 0) AS age_1_3d,
    coalesce(count_if(age_hours >= 72 AND age_hours < 168), 0) AS age_3_7d,
    coalesce(count_if(age_hours >= 168), 0) AS age_7d_plus
  FROM open_cases
  GROUP BY ROLLUP (priority_label)
)
SELECT priority, open_cases, at_risk, breached,
  round(avg_age, 2) AS avg_age_hours, round(max_age, 2) AS max_age_hours,
  age_0_1d, age_1_3d, age_3_7d, age_7d_plus
FROM per_priority ORDER BY is_all, priority = 'UNKNOWN', priority
