-- The counts of data_quality_score.csv (contract 5) over every row in the run's scope
-- (case_rows' rows in the window, before duplicates are dropped); the percentages and the score are computed
-- from them in compute.ts (dataQualityScore), on the file's own 1-decimal percentages. The
-- status history's counts (contract 6.4) come from history_counts (staging/history.ts).
SELECT
  count(*) AS total_rows,
  coalesce(count_if(dq_missing), 0) AS missing_rows,
  coalesce(count_if(duplicate), 0) AS duplicate_rows,
  coalesce(count_if(dq_invalid), 0) AS invalid_sla_rows,
  (SELECT history_rows FROM history_counts) AS history_rows,
  (SELECT invalid_history_rows FROM history_counts) AS invalid_history_rows
FROM case_rows WHERE in_window
