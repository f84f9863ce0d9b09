-- The trend's calendar days (contract 5, volume_trend.csv): the window_days days in
-- report_tz ending with the as_of day (the series has run_params.window_days rows).
CREATE OR REPLACE TEMPORARY TABLE days AS
SELECT @add_days(run_params.as_of_date, i - (run_params.window_days - 1)) AS day, i AS day_index
FROM run_params, @series({{window_days}})
