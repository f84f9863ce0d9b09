-- volume_anomaly_summary.csv (contract 7): the cases created on the last complete day D
-- (anomaly_day, in report_tz) against the same weekday of the previous anomaly_weeks weeks,
-- one row per scope: ALL first, then each priority P1..P4 that appears among the run's cases
-- (the labels of `daily`).
--
-- {{created_cases}}: the counted cases in case_rows (contract 7.1: a case_id and a parseable
-- created_at at or before as_of, one row per case_id by the survivor rule over every row of
-- case_rows, in the window or not), with created_day and priority_label. case_rows holds
-- every source row created on the judged days (cleaned_rows.sql), so their counts are the
-- whole source's. A baseline week has data when its day is on or after the first day with
-- data of the whole source (first_created_day, staged by prepare.ts); such a day without
-- cases counts 0. Median and MAD are percentile_cont(0.5): the mean of the two middle values of
-- an even count. scale = max(1.4826 * MAD, sqrt(max(median, 1))), never below 1. Fewer than 3
-- weeks with data: no judgement (z_score empty, is_anomaly false); none: no band either.
WITH scopes AS (
  SELECT 'ALL' AS scope, 0 AS scope_order
  UNION ALL
  SELECT DISTINCT CAST(priority_label AS VARCHAR), 1 FROM daily WHERE priority_label <> 'UNKNOWN'
),
judged_days AS (
  SELECT i AS weeks_back, @add_days(run_params.anomaly_day, -7 * i) AS day
  FROM run_params, @series({{judged_weeks}})
),
first_day_with_data AS (SELECT day AS d0 FROM first_created_day),
created_on_judged_days AS (
  SELECT created_day AS day, priority_label, count(*) AS n FROM {{created_cases}}
  WHERE created_day IN (SELECT day FROM judged_days) GROUP BY ALL
),
created_per_scope_and_day AS (
  SELECT s.scope, s.scope_order, j.weeks_back, j.day, coalesce(sum(c.n), 0) AS n
  FROM scopes s CROSS JOIN judged_days j
  LEFT JOIN created_on_judged_days c ON c.day = j.day AND (s.scope = 'ALL' OR CAST(c.priority_label AS VARCHAR) = s.scope)
  GROUP BY ALL
),
baseline_weeks AS (
  SELECT x.scope, x.n FROM created_per_scope_and_day x, first_day_with_data f
  WHERE x.weeks_back >= 1 AND x.day >= f.d0
),
baseline_median AS (
  SELECT scope, count(*) AS baseline_days, percentile_cont(0.5) WITHIN GROUP (ORDER BY n) AS med FROM baseline_weeks GROUP BY scope
),
baseline_mad AS (
  SELECT b.scope, percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(b.n - m.med)) AS mad
  FROM baseline_weeks b JOIN baseline_median m USING (scope) GROUP BY b.scope
),
baseline_scale AS (
  SELECT scope, m.baseline_days, m.med, greatest(1.4826 * d.mad, sqrt(greatest(m.med, 1))) AS scale
  FROM baseline_median m JOIN baseline_mad d USING (scope)
),
judged AS (
  SELECT x.scope, x.scope_order, x.n AS created, coalesce(s.baseline_days, 0) AS baseline_days, s.med, s.scale,
    CASE WHEN s.baseline_days >= 3 THEN (x.n - s.med) / s.scale END AS z
  FROM created_per_scope_and_day x LEFT JOIN baseline_scale s USING (scope)
  WHERE x.weeks_back = 0
),
flagged AS (
  SELECT judged.*, coalesce(abs(z) >= run_params.anomaly_z AND abs(created - med) >= run_params.anomaly_min_cases, false) AS is_anomaly
  FROM judged, run_params
)
SELECT scope, @strftime(run_params.anomaly_day, '%Y-%m-%d') AS date, @dayname(run_params.anomaly_day) AS weekday,
  created,
  round(med, 2) AS baseline_median,
  CASE WHEN med IS NOT NULL THEN round(greatest(0, med - run_params.anomaly_z * scale), 2) END AS baseline_low,
  round(med + run_params.anomaly_z * scale, 2) AS baseline_high,
  round(z, 2) AS z_score,
  is_anomaly,
  CASE WHEN is_anomaly THEN CASE WHEN created > med THEN 'high' WHEN created < med THEN 'low' END END AS direction,
  baseline_days
FROM flagged, run_params ORDER BY scope_order, scope
