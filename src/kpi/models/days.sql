-- The trend's calendar days (contract 5, volume_trend.csv): the window_days days in
-- report_tz ending with the as_of day.
CREATE OR REPLACE TEMP TABLE days AS
SELECT CAST(run_params.as_of_date - CAST(run_params.window_days - 1 - i AS INTEGER) AS DATE) AS day, i AS day_index
FROM run_params, range(run_params.window_days) r(i)
