-- report_tz's UTC offset for every quarter hour from the day before the trend's first day
-- (or before the volume-anomaly baseline's first day, when that is earlier) to as_of (exact
-- across DST changes, which happen on quarter hours).
CREATE OR REPLACE TEMP TABLE tz_offsets AS
WITH quarter_hours AS (
  SELECT range AS bucket FROM run_params, range(
    epoch_us(timezone('UTC', timezone(run_params.report_tz, CAST(least(run_params.as_of_date - run_params.window_days, run_params.anomaly_day - 7 * run_params.anomaly_weeks - 1) AS TIMESTAMP)))) // 900000000,
    epoch_us(run_params.as_of) // 900000000 + 2)
)
SELECT bucket, make_timestamp(bucket * 900000000) AS bucket_start,
  epoch_us(timezone(run_params.report_tz, to_timestamp(bucket * 900))) - bucket * 900000000 AS offset_us
FROM quarter_hours, run_params
