-- The cleaned rows in the run's scope (contract sections 1 to 3, before duplicates), as a
-- SELECT over the source relation; case_rows.sql builds on it. Must run with the session
-- TimeZone set to the source time zone (prepare.ts): casts of naive values to TIMESTAMPTZ
-- then read them in that zone, and text with an offset keeps its offset.
--
-- Columns: case_id, status_raw, region_raw, team_raw, assignee_raw (text as read),
-- created_at, first_response_at, resolved_at, updated_at (naive UTC), priority (kpi_priority,
-- NULL when missing or unknown), priority_label (the priority or UNKNOWN), status_family,
-- dq_missing and dq_invalid (the row's data-quality defects, contract 5), in_window (the
-- row is in the run's scope, not only in the anomaly baseline's).
--
-- Nested levels, each expression computed once: `source_rows` reads the source (the two
-- timestamps the scope needs parsed, text as it is) and is filtered to the run's scope;
-- `in_scope` parses the other two timestamps (only for rows in scope) and looks up the
-- vocabularies; `classified` flags unparseable timestamps and derives status families and
-- blanks; the outer level the row's data-quality defects. The generated fragments come from
-- cleanedRowsSql (clean.ts), which depends on the source's column types.
--
-- The scope (contract 2): a row is in scope when its case was open at some time in the
-- window; rows that cannot be placed in time stay, so that data quality sees them.
--
-- Volume anomalies (contract 7.1) count every case created on the judged days (D and the
-- same weekday of the weeks before, in report_tz), in the window or not: rows outside the
-- window (`in_window` false) created on a judged day enter too. The reports, data quality
-- and the survivor rule of the window's rows ignore them. (The first day with data, which
-- the anomaly baseline also needs, is read from case_rows afterwards, see prepare.ts.)
-- The scope is written as a CASE: DuckDB's filter pushdown replaces each column by its
-- parse, and an OR form parsed them up to six times. When timestamps are parsed from text
-- the build runs with filter pushdown off, so the filter reads the parses of `source_rows`
-- instead of parsing again.
SELECT case_id, status_raw, region_raw, team_raw, assignee_raw,{{extra_columns}}
  created_at, first_response_at, resolved_at, updated_at,
  {{priority}} AS priority,
  coalesce({{priority_label}}, 'UNKNOWN') AS priority_label,
  status_family,
  case_id IS NULL OR (created_at IS NULL AND NOT {{created_at_unparseable}}) OR status_blank OR priority_blank AS dq_missing,
  coalesce((NOT priority_blank AND priority_pos IS NULL)
    OR resolved_at < created_at
    OR first_response_at < created_at
    OR (status_family = 'closed' AND resolved_at IS NULL){{unparseable_timestamps}}, false) AS dq_invalid,
  in_window
FROM (
  SELECT *,{{timestamp_flags}}
    {{status_blank}} AS status_blank,
    {{priority_blank}} AS priority_blank,
    CASE WHEN status_raw IS NULL THEN NULL
      WHEN status_pos IS NOT NULL THEN {{status_family}}
      WHEN {{open_status_prefix}} THEN 'open'::kpi_status_family
      ELSE 'other'::kpi_status_family END AS status_family
  FROM (
    SELECT *, {{parsed_and_looked_up}}
    FROM (
      SELECT *, created_at IS NULL OR coalesce(resolved_at >= {{window_start}}, true) AS in_window
      FROM (SELECT {{source_columns}} FROM {{relation}}{{case_id_filter}}) AS source_rows
      WHERE CASE WHEN created_at IS NULL THEN true WHEN created_at > {{as_of}} THEN false
        WHEN coalesce(resolved_at >= {{window_start}}, true) THEN true
        ELSE {{on_judged_day}} END
    ) AS scoped
  ) AS in_scope
) AS classified
