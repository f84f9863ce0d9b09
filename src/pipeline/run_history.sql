-- run_history: one row per pipeline run, successful or not (the digest compares against the
-- previous one; /kpi status shows the last).
CREATE TABLE IF NOT EXISTS run_history (
  run_id VARCHAR PRIMARY KEY,
  started_at TIMESTAMP NOT NULL,
  as_of TIMESTAMP NOT NULL,
  as_of_date DATE NOT NULL,
  source VARCHAR NOT NULL,
  trigger VARCHAR NOT NULL,
  ok BOOLEAN NOT NULL,
  error VARCHAR,
  cases_in_window BIGINT,
  created_today BIGINT,
  resolved_today BIGINT,
  open_backlog BIGINT,
  at_risk_cases BIGINT,
  breached_open_cases BIGINT,
  sla_compliance_pct DOUBLE,
  first_response_compliance_pct DOUBLE,
  backlog_growth_pct DOUBLE,
  backlog_spike BOOLEAN,
  data_quality_score DOUBLE,
  warnings BIGINT,
  total_ms DOUBLE,
  timings VARCHAR
);
