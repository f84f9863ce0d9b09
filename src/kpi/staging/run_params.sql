-- The run's parameters as a one-row temp table that the models read.
CREATE OR REPLACE TEMPORARY TABLE run_params AS SELECT
  {{as_of}} AS as_of, {{window_start}} AS window_start,
  DATE '{{as_of_date}}' AS as_of_date, {{window_days}}::INTEGER AS window_days,
  {{report_tz}} AS report_tz, {{risk_threshold_pct}}::DOUBLE AS risk_threshold_pct,
  {{spike_threshold_pct}}::DOUBLE AS spike_threshold_pct, {{spike_baseline_days}}::INTEGER AS spike_baseline_days,
  {{spike_min_cases}}::DOUBLE AS spike_min_cases,
  -- volume anomalies (contract 7): the judged day D (the day before as_of's day in report_tz)
  -- and its same-weekday baseline
  DATE '{{anomaly_day}}' AS anomaly_day, {{anomaly_weeks}}::INTEGER AS anomaly_weeks,
  {{anomaly_z}}::DOUBLE AS anomaly_z, {{anomaly_min_cases}}::DOUBLE AS anomaly_min_cases
