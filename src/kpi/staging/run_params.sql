-- The run's parameters as a one-row temp table that the models read.
CREATE OR REPLACE TEMP TABLE run_params AS SELECT
  {{as_of}} AS as_of, {{window_start}} AS window_start,
  DATE '{{as_of_date}}' AS as_of_date, {{window_days}}::INTEGER AS window_days,
  {{report_tz}} AS report_tz, {{risk_threshold_pct}}::DOUBLE AS risk_threshold_pct,
  {{spike_threshold_pct}}::DOUBLE AS spike_threshold_pct, {{spike_baseline_days}}::INTEGER AS spike_baseline_days
