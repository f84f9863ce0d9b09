-- Per-case SLA clocks in business time (contract 6.2, 6.3, 6.5), O(1) per case and per
-- status change: no loop over days. B(t) is the business time of the case's calendar
-- since the span's start, found by an ASOF join on business_segments (the last segment
-- starting at or before t); clock time between two instants is B(end) - B(start), and the
-- instant at which B reaches x (B⁻¹) is found by an ASOF join on the cumulative time.
-- The built-in 24x7 calendar has no segments: its B(t) is t itself.
--
-- Inputs (naive UTC TIMESTAMPs):
--   clock_cases(case_id, policy, calendar, created_at, end_at, is_open, first_response_at,
--               resolution_target_s, response_target_s)
--     end_at: resolved_at when resolved at or before as_of (is_open false), else as_of;
--     first_response_at: the first response at or before as_of, NULL when none yet (a
--     resolved case without one takes end_at, contract 4); targets NULL: no SLA target.
--   status_history(case_id, status, changed_at, seq): seq is the file order, which
--     breaks ties on changed_at.
--   business_segments (business_segments.sql).
-- Generated fragments:
--   {{pause_match}}  boolean: does status_history.status pause clock_cases.policy's clock
--                    (columns h.status and c.policy);
--   {{risk_stage}}   the highest risk stage reached, from elapsed_pct and breached.
-- Output case_clocks, one row per case of clock_cases:
--   case_id, resolution_clock_s, paused_s, sla_elapsed_pct, due_at, outcome, clock_state,
--   risk_stage, response_clock_s, response_outcome.
--   Clocks are business seconds (NULL when the clock would end before it starts);
--   outcome / response_outcome: met, breached, pending or NULL (no target); clock_state:
--   running or paused for open cases, NULL for resolved ones; due_at: the first instant
--   the resolution clock reaches its target running without pauses after end_at, NULL
--   while paused at as_of.
--
-- Portable SQL (window functions, ASOF joins), except DuckDB's epoch_us / make_timestamp /
-- to_microseconds for instants as microseconds (Snowflake: DATE_PART(epoch_microsecond, t),
-- TO_TIMESTAMP_NTZ(x, 6), DATEADD(microsecond, x, t)). Everything is computed in whole
-- microseconds, so a clock exactly at its target compares equal. Snowflake writes the
-- ASOF joins as `ASOF JOIN s MATCH_CONDITION (c.t >= s.seg_start) ON c.calendar = s.calendar`
-- (a left join there: unmatched rows keep NULLs, as with ASOF LEFT JOIN here).
CREATE OR REPLACE TEMP TABLE case_clocks AS
WITH calendar_steps AS (
  SELECT calendar, seg_start,
    CAST(round(cum_start * 1000000) AS BIGINT) AS cum_start_us,
    epoch_us(seg_end) - epoch_us(seg_start) AS seg_len_us
  FROM business_segments
),
cases AS (
  SELECT case_id, policy, calendar, created_at, end_at, is_open,
    coalesce(first_response_at, CASE WHEN NOT is_open THEN end_at END) AS response_at,
    CAST(round(resolution_target_s * 1000000) AS BIGINT) AS resolution_target_us,
    CAST(round(response_target_s * 1000000) AS BIGINT) AS response_target_us
  FROM clock_cases
),
-- B at the three instants a case's clocks are read at, one ASOF join each.
business_at_created AS (
  SELECT c.*,
    CASE WHEN c.calendar = '24x7' THEN epoch_us(c.created_at)
      ELSE coalesce(s.cum_start_us + least(epoch_us(c.created_at) - epoch_us(s.seg_start), s.seg_len_us), 0) END AS b_created_us
  FROM cases c ASOF LEFT JOIN calendar_steps s ON c.calendar = s.calendar AND c.created_at >= s.seg_start
),
business_at_end AS (
  SELECT c.*,
    CASE WHEN c.calendar = '24x7' THEN epoch_us(c.end_at)
      ELSE coalesce(s.cum_start_us + least(epoch_us(c.end_at) - epoch_us(s.seg_start), s.seg_len_us), 0) END AS b_end_us
  FROM business_at_created c ASOF LEFT JOIN calendar_steps s ON c.calendar = s.calendar AND c.end_at >= s.seg_start
),
business_marks AS (
  SELECT c.*,
    CASE WHEN c.response_at IS NULL THEN NULL
      WHEN c.calendar = '24x7' THEN epoch_us(c.response_at)
      ELSE coalesce(s.cum_start_us + least(epoch_us(c.response_at) - epoch_us(s.seg_start), s.seg_len_us), 0) END AS b_response_us
  FROM business_at_end c ASOF LEFT JOIN calendar_steps s ON c.calendar = s.calendar AND c.response_at >= s.seg_start
),
-- Status changes up to the clock's end (changes after as_of, or after resolution, do not
-- matter), each lasting until the next change of its case (ties in file order) or the end.
case_changes AS (
  SELECT h.case_id, h.changed_at, h.seq, c.calendar, c.created_at, c.end_at,
    {{pause_match}} AS pauses
  FROM status_history h JOIN clock_cases c ON c.case_id = h.case_id
  WHERE h.changed_at <= c.end_at AND c.end_at >= c.created_at
),
status_stretches AS (
  SELECT *, LEAD(changed_at) OVER (PARTITION BY case_id ORDER BY changed_at, seq) AS next_changed_at
  FROM case_changes
),
-- Paused stretches clipped to [created_at, end_at]; the last one lasts to the end.
paused_stretches AS (
  SELECT case_id, calendar, seq, changed_at,
    greatest(changed_at, created_at) AS pause_from,
    coalesce(next_changed_at, end_at) AS pause_to,
    next_changed_at IS NULL AS lasts_to_end
  FROM status_stretches
  WHERE pauses AND coalesce(next_changed_at, end_at) >= greatest(changed_at, created_at)
),
pause_from_marks AS (
  SELECT p.*,
    CASE WHEN p.calendar = '24x7' THEN epoch_us(p.pause_from)
      ELSE coalesce(s.cum_start_us + least(epoch_us(p.pause_from) - epoch_us(s.seg_start), s.seg_len_us), 0) END AS b_from_us
  FROM paused_stretches p ASOF LEFT JOIN calendar_steps s ON p.calendar = s.calendar AND p.pause_from >= s.seg_start
),
paused_business AS (
  SELECT p.case_id, p.seq, p.changed_at, p.pause_from, p.lasts_to_end, p.b_from_us,
    CASE WHEN p.calendar = '24x7' THEN epoch_us(p.pause_to)
      ELSE coalesce(s.cum_start_us + least(epoch_us(p.pause_to) - epoch_us(s.seg_start), s.seg_len_us), 0) END - p.b_from_us AS paused_us
  FROM pause_from_marks p ASOF LEFT JOIN calendar_steps s ON p.calendar = s.calendar AND p.pause_to >= s.seg_start
),
-- The clock's reading when each pause began: a pause that begins before the clock has
-- reached its target delays due_at, a later one does not.
pauses_in_order AS (
  SELECT p.*, m.resolution_target_us,
    p.b_from_us - m.b_created_us - coalesce(CAST(sum(p.paused_us) OVER (
      PARTITION BY p.case_id ORDER BY p.pause_from, p.changed_at, p.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS BIGINT), 0) AS clock_at_pause_us
  FROM paused_business p JOIN business_marks m ON m.case_id = p.case_id
),
case_pauses AS (
  SELECT case_id,
    CAST(sum(paused_us) AS BIGINT) AS paused_us,
    CAST(sum(CASE WHEN clock_at_pause_us < resolution_target_us THEN paused_us ELSE 0 END) AS BIGINT) AS paused_before_due_us,
    max(CASE WHEN lasts_to_end THEN 1 ELSE 0 END) = 1 AS paused_at_end
  FROM pauses_in_order GROUP BY case_id
),
case_readings AS (
  SELECT m.case_id, m.calendar, m.is_open, m.created_at, m.end_at, m.response_at,
    m.resolution_target_us, m.response_target_us,
    CASE WHEN m.end_at >= m.created_at THEN m.b_end_us - m.b_created_us - coalesce(p.paused_us, 0) END AS clock_us,
    CASE WHEN m.end_at >= m.created_at THEN coalesce(p.paused_us, 0) END AS paused_us,
    m.is_open AND coalesce(p.paused_at_end, false) AS paused_at_as_of,
    CASE WHEN m.end_at >= m.created_at AND NOT (m.is_open AND coalesce(p.paused_at_end, false))
      THEN m.b_created_us + m.resolution_target_us + coalesce(p.paused_before_due_us, 0) END AS due_business_us,
    CASE WHEN m.response_at IS NULL THEN m.b_end_us - m.b_created_us
      WHEN m.response_at >= m.created_at THEN m.b_response_us - m.b_created_us END AS response_clock_us
  FROM business_marks m LEFT JOIN case_pauses p ON p.case_id = m.case_id
),
-- B⁻¹(due_business_us): the segment where the cumulative time first reaches it.
case_due AS (
  SELECT r.*,
    CASE WHEN r.calendar = '24x7' THEN make_timestamp(r.due_business_us)
      WHEN r.due_business_us - s.cum_start_us <= s.seg_len_us THEN s.seg_start + to_microseconds(r.due_business_us - s.cum_start_us)
    END AS due_at
  FROM case_readings r ASOF LEFT JOIN calendar_steps s ON r.calendar = s.calendar AND r.due_business_us > s.cum_start_us
),
case_outcomes AS (
  SELECT *,
    clock_us * 100.0 / resolution_target_us AS elapsed_pct,
    clock_us > resolution_target_us AS breached
  FROM case_due
)
SELECT case_id,
  clock_us / 1e6 AS resolution_clock_s,
  paused_us / 1e6 AS paused_s,
  elapsed_pct AS sla_elapsed_pct,
  due_at,
  CASE WHEN clock_us IS NULL OR resolution_target_us IS NULL THEN NULL
    WHEN breached THEN 'breached' WHEN is_open THEN 'pending' ELSE 'met' END AS outcome,
  CASE WHEN NOT is_open THEN NULL WHEN paused_at_as_of THEN 'paused' ELSE 'running' END AS clock_state,
  CASE WHEN is_open AND clock_us IS NOT NULL AND resolution_target_us IS NOT NULL THEN {{risk_stage}} END AS risk_stage,
  response_clock_us / 1e6 AS response_clock_s,
  CASE WHEN response_clock_us IS NULL OR response_target_us IS NULL THEN NULL
    WHEN response_clock_us > response_target_us THEN 'breached'
    WHEN response_at IS NULL THEN 'pending' ELSE 'met' END AS response_outcome
FROM case_outcomes;
