-- backlog_spike_summary.csv (contract 5): ALL first, then each priority P1..P4 that appears
-- among the run's cases. baseline_avg is the mean backlog_end_of_day of the
-- spike_baseline_days days before today; growth_pct is empty and is_spike false when the
-- baseline is 0. A spike also needs backlog_today - baseline_avg >= spike_min_cases
-- (contract 7, unrounded), so 3 cases against 0.1 is not a spike.
WITH backlog_per_scope AS (
  SELECT day, priority_label AS scope, backlog_end_of_day FROM daily WHERE priority_label <> 'UNKNOWN'
  UNION ALL
  SELECT day, 'ALL' AS scope, sum(backlog_end_of_day) FROM daily GROUP BY day
),
scopes_present AS (SELECT DISTINCT priority_label AS scope FROM daily WHERE priority_label <> 'UNKNOWN' UNION SELECT 'ALL'),
today_and_baseline AS (
  SELECT s.scope,
    max(CASE WHEN day = run_params.as_of_date THEN backlog_end_of_day END) AS today,
    avg(CASE WHEN day < run_params.as_of_date AND day >= @add_days(run_params.as_of_date, -run_params.spike_baseline_days) THEN backlog_end_of_day END) AS baseline
  FROM scopes_present s LEFT JOIN backlog_per_scope USING (scope), run_params GROUP BY s.scope
)
SELECT scope, @strftime(run_params.as_of_date, '%Y-%m-%d') AS as_of_date,
  coalesce(today, 0) AS backlog_today,
  round(coalesce(baseline, 0), 2) AS baseline_avg,
  CASE WHEN baseline > 0 THEN round((today - baseline) * 100.0 / baseline, 1) END AS growth_pct,
  run_params.spike_threshold_pct AS threshold_pct,
  coalesce(baseline > 0 AND (today - baseline) * 100.0 / baseline > run_params.spike_threshold_pct
    AND today - baseline >= run_params.spike_min_cases, false) AS is_spike
FROM today_and_baseline, run_params ORDER BY scope <> 'ALL', scope
