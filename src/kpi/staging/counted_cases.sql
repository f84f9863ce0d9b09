-- The cases the reports count (survivors that can be placed in time, open at some time in
-- the window), with what follows from case_rows' stored columns: is_open, has_sla, at_risk
-- (listed and not yet breached), resolution_hours (resolved cases with an SLA), target_hours.
-- Derived here rather than stored: the per-case table stays narrow. policy_columns: the
-- policy columns (contract 6): without a policy file the built-in `default` policy on 24x7
-- (clock_us the elapsed time of open cases, resolution_us the target), with one the calendar
-- of each row's policy (the other columns are stored in case_rows).
CREATE OR REPLACE TEMPORARY VIEW counted_cases AS
SELECT *,
  eff_resolved_at IS NULL AND NOT ghost AS is_open,
  outcome IS NOT NULL AS has_sla,
  risk_listed AND outcome = 'pending' AS at_risk,
  CASE WHEN outcome IS NOT NULL AND eff_resolved_at IS NOT NULL THEN (@epoch_us(eff_resolved_at) - @epoch_us(created_at)) / 3600e6 END AS resolution_hours,
  (@epoch_us(due_at) - @epoch_us(created_at)) / 3600e6 AS target_hours{{policy_columns}}
FROM {{cases}}
