-- case_rows: every row in the run's scope, cleaned (cleaned_rows.sql) and with its per-case
-- KPIs at as_of (contract 4), built in one pass, so no second copy of the cases is made.
-- The run's parameters come in as SQL literals (trusted numbers and times, no join per row).
-- Times are compared in whole microseconds, so a case exactly at its target has met it.
--
-- Columns: case_id, created_at, eff_resolved_at (resolved at or before as_of), updated_at,
-- priority / priority_label, ghost (closed status, no resolved_at: counted in created volume
-- only), bad_order (resolved before created), due_at, outcome and fr_outcome (NULL: no SLA
-- applies), risk_listed (listed in sla_at_risk_cases: open, past the risk threshold,
-- breached or not), created_day / resolved_day (calendar days in report_tz), dq_missing,
-- dq_invalid, duplicate (set by the survivor rule afterwards), in_window (false: a row kept
-- only for the volume-anomaly baseline, see cleaned_rows.sql), source_duplicate (the
-- survivor rule across every row, for the anomaly counts), and the text columns status,
-- region, team, assignee. Strings are the costly part of the table, so text is copied only
-- where a report shows it (the at-risk list), unless slash-command filters need region and
-- team on every row; what follows from the stored columns is derived in counted_cases.
--
-- With an SLA policy file (contract 6), `cleaned_rows` also names each row's policy and the
-- targets are the policy's; policy_columns then adds policy, resolution_us, response_us,
-- fr_at, clock_us (the resolution clock of open cases) and clock_state, and the clocks are
-- elapsed time here. Business-hour calendars and pauses are applied afterwards
-- (case_clocks.sql), which is why text is then kept on every open case with a target
-- (text_kept).
CREATE TABLE {{table}} AS
WITH cleaned AS ({{cleaned_rows}}
), with_targets AS (
  SELECT *,
    CASE WHEN resolved_at <= {{as_of}} THEN resolved_at END AS eff_resolved_at,
    CASE WHEN first_response_at <= {{as_of}} THEN first_response_at END AS eff_first_response_at,
    (resolved_at IS NULL AND coalesce(status_family = 'closed', false)) AS ghost,
    {{resolution_target_us}} AS resolution_us,
    {{response_target_us}} AS response_us
  FROM cleaned
), with_clocks AS (
  SELECT *,
    eff_resolved_at IS NULL AND NOT ghost AS is_open,
    coalesce(eff_resolved_at < created_at, false) AS bad_order,
    coalesce(eff_first_response_at, eff_resolved_at) AS fr_at,
    @epoch_us(created_at) AS created_us,
    @epoch_us(coalesce(eff_resolved_at, {{as_of}})) - @epoch_us(created_at) AS elapsed_us
  FROM with_targets
), with_sla AS (
  SELECT *,
    resolution_us IS NOT NULL AND NOT ghost AND NOT bad_order AS has_sla,
    CASE WHEN resolution_us IS NOT NULL THEN elapsed_us * 100.0 / resolution_us END AS sla_elapsed_pct
  FROM with_clocks
), with_risk AS (
  SELECT *, coalesce(is_open AND has_sla AND sla_elapsed_pct >= {{risk_threshold_pct}}::DOUBLE, false) AS risk_listed
  FROM with_sla
)
SELECT
  case_id, created_at, eff_resolved_at, updated_at, priority, priority_label, ghost, bad_order,
  CASE WHEN resolution_us IS NOT NULL THEN @add_us(created_at, resolution_us) END AS due_at,
  CASE
    WHEN NOT has_sla THEN NULL
    WHEN eff_resolved_at IS NOT NULL THEN CASE WHEN elapsed_us <= resolution_us THEN 'met'::kpi_outcome ELSE 'breached'::kpi_outcome END
    WHEN elapsed_us > resolution_us THEN 'breached'::kpi_outcome
    ELSE 'pending'::kpi_outcome
  END AS outcome,
  CASE
    WHEN response_us IS NULL OR ghost THEN NULL
    WHEN fr_at IS NOT NULL THEN CASE
      WHEN fr_at < created_at THEN NULL
      WHEN @epoch_us(fr_at) - created_us <= response_us THEN 'met'::kpi_outcome ELSE 'breached'::kpi_outcome END
    WHEN @epoch_us({{as_of}}) - created_us > response_us THEN 'breached'::kpi_outcome
    ELSE 'pending'::kpi_outcome
  END AS fr_outcome,
  risk_listed,
  {{created_day}} AS created_day,
  {{resolved_day}} AS resolved_day,
  dq_missing, dq_invalid, false AS duplicate, in_window, false AS source_duplicate,
  CASE WHEN {{text_kept}} THEN nullif(trim(status_raw), '') END AS status,
  {{region}} AS region,
  {{team}} AS team,
  CASE WHEN {{text_kept}} THEN nullif(assignee_raw, '') END AS assignee{{policy_columns}}
FROM with_risk
