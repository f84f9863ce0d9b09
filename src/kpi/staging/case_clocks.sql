-- The SLA clocks of the cases whose policy has a business-hours calendar or pauses (contract
-- 6.2, 6.3, 6.5), applied to case_rows after it is built (and its duplicates marked): the
-- resolution clock, outcome, first-response outcome, clock_state, the at-risk listing and,
-- for the listed cases, due_at. case_rows holds the elapsed-time (24x7) reading of every row
-- before; only the rows of clock_cases change.
--
-- B(t), the business time of a calendar since the span's start, is one equality join on
-- clock_buckets: the calendar's time cut into fixed buckets (bucket_us per calendar), each
-- with the business time before its start (cum_us) and its at most two business pieces
-- [a1, b1) and [a2, b2) as offsets from its start (an empty piece: a = b = 0), so
--   B(t) = cum_us + clamp(off - a1, 0, b1 - a1) + clamp(off - a2, 0, b2 - a2), off = t - start.
-- The built-in 24x7 calendar has no buckets: its B(t) is t. The inverse (due_at) is an ASOF
-- join on the cumulative time, only for the listed cases. Pauses: each status change up to
-- the clock's end lasts until the next change of its case (ties in file order); only cases
-- whose policy pauses and that have a pausing change are looked at.
--
-- Built in steps through temp tables. Portable SQL (joins, window functions, ASOF join),
-- except DuckDB's epoch_us / make_timestamp for instants as microseconds.
CREATE OR REPLACE TEMP TABLE clock_cases AS
WITH chosen AS (
  SELECT rowid AS row_key, case_id, policy, {{calendar}} AS calendar, {{bucket_us}} AS bucket_us, {{may_pause}} AS may_pause,
    created_at, coalesce(eff_resolved_at, {{as_of}}) AS end_at, eff_resolved_at IS NULL AS is_open,
    fr_at AS response_at, resolution_us, response_us
  FROM case_rows
  WHERE policy IN ({{clock_policies}}) AND NOT duplicate AND NOT ghost AND created_at IS NOT NULL
    AND (resolution_us IS NOT NULL OR response_us IS NOT NULL)
)
-- The bucket of each instant B is read at (the response only where it is not the end):
-- plain columns, so that every lookup is an equality (hash) join.
SELECT *,
  CAST(floor(epoch_us(created_at) / bucket_us) AS BIGINT) AS created_bucket,
  CAST(floor(epoch_us(end_at) / bucket_us) AS BIGINT) AS end_bucket,
  CASE WHEN response_at <> end_at THEN CAST(floor(epoch_us(response_at) / bucket_us) AS BIGINT) END AS response_bucket
FROM chosen;

CREATE OR REPLACE TEMP TABLE clock_marks AS
WITH at_created AS (
  SELECT c.*, CASE WHEN c.calendar = '24x7' THEN epoch_us(c.created_at) ELSE coalesce(s.cum_us
      + least(greatest(epoch_us(c.created_at) - s.start_us - s.a1, 0), s.b1 - s.a1)
      + least(greatest(epoch_us(c.created_at) - s.start_us - s.a2, 0), s.b2 - s.a2), 0) END AS b_created_us
  FROM clock_cases c LEFT JOIN clock_buckets s
    ON s.calendar = c.calendar AND s.bucket = c.created_bucket
), at_end AS (
  SELECT c.*, CASE WHEN c.calendar = '24x7' THEN epoch_us(c.end_at) ELSE coalesce(s.cum_us
      + least(greatest(epoch_us(c.end_at) - s.start_us - s.a1, 0), s.b1 - s.a1)
      + least(greatest(epoch_us(c.end_at) - s.start_us - s.a2, 0), s.b2 - s.a2), 0) END AS b_end_us
  FROM at_created c LEFT JOIN clock_buckets s
    ON s.calendar = c.calendar AND s.bucket = c.end_bucket
)
-- The response is read only where it is not the end (a resolved case without a response).
SELECT c.*, CASE WHEN c.response_at IS NULL THEN NULL WHEN c.response_at = c.end_at THEN c.b_end_us
    WHEN c.calendar = '24x7' THEN epoch_us(c.response_at) ELSE coalesce(s.cum_us
      + least(greatest(epoch_us(c.response_at) - s.start_us - s.a1, 0), s.b1 - s.a1)
      + least(greatest(epoch_us(c.response_at) - s.start_us - s.a2, 0), s.b2 - s.a2), 0) END AS b_response_us
FROM at_end c LEFT JOIN clock_buckets s
  ON s.calendar = c.calendar AND s.bucket = c.response_bucket;

CREATE OR REPLACE TEMP TABLE clock_pauses AS
WITH history_statuses AS (
  SELECT DISTINCT status FROM status_history WHERE status IS NOT NULL
), pausing_statuses AS (
  -- The statuses some policy pauses in: the patterns are tested once per distinct status,
  -- the changes are matched to them by equality.
  SELECT status FROM history_statuses WHERE {{any_pause}}
), pausing_ids AS (
  -- Cases with a change to a status some policy pauses in: only their changes matter.
  SELECT DISTINCT h.case_id FROM status_history h JOIN pausing_statuses s ON s.status = h.status
  WHERE h.changed_at IS NOT NULL
), pause_cases AS (
  SELECT row_key, case_id, policy, calendar, bucket_us, created_at, end_at FROM clock_cases
  WHERE may_pause AND end_at >= created_at AND case_id IN (SELECT case_id FROM pausing_ids)
), case_changes AS (
  SELECT c.row_key, c.calendar, c.bucket_us, c.created_at, c.end_at, h.changed_at, h.rowid AS seq, {{pause_match}} AS pauses
  FROM status_history h JOIN pause_cases c ON c.case_id = h.case_id
  WHERE h.changed_at <= c.end_at
), status_stretches AS (
  SELECT *, LEAD(changed_at) OVER (PARTITION BY row_key ORDER BY changed_at, seq) AS next_changed_at
  FROM case_changes
), paused_stretches AS (
  -- Clipped to [created_at, end_at]; the last one lasts to the end.
  SELECT row_key, calendar, bucket_us, seq, changed_at,
    greatest(changed_at, created_at) AS pause_from,
    coalesce(next_changed_at, end_at) AS pause_to,
    next_changed_at IS NULL AS lasts_to_end
  FROM status_stretches
  WHERE pauses AND coalesce(next_changed_at, end_at) >= greatest(changed_at, created_at)
), paused_buckets AS (
  SELECT *, CAST(floor(epoch_us(pause_from) / bucket_us) AS BIGINT) AS from_bucket,
    CAST(floor(epoch_us(pause_to) / bucket_us) AS BIGINT) AS to_bucket
  FROM paused_stretches
), pause_from_marks AS (
  SELECT p.*, CASE WHEN p.calendar = '24x7' THEN epoch_us(p.pause_from) ELSE coalesce(s.cum_us
      + least(greatest(epoch_us(p.pause_from) - s.start_us - s.a1, 0), s.b1 - s.a1)
      + least(greatest(epoch_us(p.pause_from) - s.start_us - s.a2, 0), s.b2 - s.a2), 0) END AS b_from_us
  FROM paused_buckets p LEFT JOIN clock_buckets s
    ON s.calendar = p.calendar AND s.bucket = p.from_bucket
), paused_business AS (
  SELECT p.*, CASE WHEN p.calendar = '24x7' THEN epoch_us(p.pause_to) ELSE coalesce(s.cum_us
      + least(greatest(epoch_us(p.pause_to) - s.start_us - s.a1, 0), s.b1 - s.a1)
      + least(greatest(epoch_us(p.pause_to) - s.start_us - s.a2, 0), s.b2 - s.a2), 0) END - p.b_from_us AS paused_us
  FROM pause_from_marks p LEFT JOIN clock_buckets s
    ON s.calendar = p.calendar AND s.bucket = p.to_bucket
), pauses_in_order AS (
  -- The clock's reading when each pause began: a pause that begins before the clock has
  -- reached its target delays due_at, a later one does not.
  SELECT p.*, m.resolution_us,
    p.b_from_us - m.b_created_us - coalesce(CAST(sum(p.paused_us) OVER (
      PARTITION BY p.row_key ORDER BY p.pause_from, p.changed_at, p.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS BIGINT), 0) AS clock_at_pause_us
  FROM paused_business p JOIN clock_marks m ON m.row_key = p.row_key
)
SELECT row_key,
  CAST(sum(paused_us) AS BIGINT) AS paused_us,
  CAST(sum(CASE WHEN clock_at_pause_us < resolution_us THEN paused_us ELSE 0 END) AS BIGINT) AS paused_before_due_us,
  max(CASE WHEN lasts_to_end THEN 1 ELSE 0 END) = 1 AS paused_at_end
FROM pauses_in_order GROUP BY row_key;

CREATE OR REPLACE TEMP TABLE clock_results AS
WITH readings AS (
  SELECT m.row_key, m.calendar, m.is_open, m.resolution_us, m.response_us, m.response_at,
    CASE WHEN m.end_at >= m.created_at THEN m.b_end_us - m.b_created_us - coalesce(p.paused_us, 0) END AS clock_us,
    m.is_open AND coalesce(p.paused_at_end, false) AS paused_now,
    m.b_created_us + m.resolution_us + coalesce(p.paused_before_due_us, 0) AS due_business_us,
    CASE WHEN m.response_at IS NULL THEN m.b_end_us - m.b_created_us
      WHEN m.response_at >= m.created_at THEN m.b_response_us - m.b_created_us END AS response_clock_us
  FROM clock_marks m LEFT JOIN clock_pauses p ON p.row_key = m.row_key
)
SELECT row_key, calendar, due_business_us, paused_now,
  CASE WHEN clock_us IS NULL OR resolution_us IS NULL THEN NULL
    WHEN clock_us > resolution_us THEN 'breached'::kpi_outcome
    WHEN is_open THEN 'pending'::kpi_outcome ELSE 'met'::kpi_outcome END AS outcome,
  CASE WHEN response_us IS NULL OR response_clock_us IS NULL THEN NULL
    WHEN response_at IS NOT NULL THEN CASE WHEN response_clock_us <= response_us THEN 'met'::kpi_outcome ELSE 'breached'::kpi_outcome END
    WHEN response_clock_us > response_us THEN 'breached'::kpi_outcome
    ELSE 'pending'::kpi_outcome END AS fr_outcome,
  coalesce(is_open AND clock_us IS NOT NULL AND clock_us * 100.0 / resolution_us >= {{risk_threshold_pct}}::DOUBLE, false) AS risk_listed,
  CASE WHEN is_open THEN clock_us END AS clock_us,
  CASE WHEN NOT is_open THEN NULL WHEN paused_now THEN 'paused' ELSE 'running' END AS clock_state
FROM readings;

-- B⁻¹ for the listed cases not paused at as_of: the bucket where the cumulative time first
-- reaches the due reading (buckets with business time only, so cum_us is strictly increasing).
CREATE OR REPLACE TEMP TABLE clock_due AS
WITH listed AS (SELECT * FROM clock_results WHERE risk_listed AND NOT paused_now),
business_buckets AS (SELECT * FROM clock_buckets WHERE b1 > a1)
SELECT r.row_key,
  CASE WHEN r.calendar = '24x7' THEN make_timestamp(r.due_business_us)
    WHEN r.due_business_us - s.cum_us <= s.b1 - s.a1 THEN make_timestamp(s.start_us + s.a1 + (r.due_business_us - s.cum_us))
    WHEN r.due_business_us - s.cum_us <= (s.b1 - s.a1) + (s.b2 - s.a2) THEN make_timestamp(s.start_us + s.a2 + (r.due_business_us - s.cum_us - (s.b1 - s.a1)))
  END AS due_at
FROM listed r ASOF LEFT JOIN business_buckets s ON r.calendar = s.calendar AND r.due_business_us > s.cum_us;

UPDATE case_rows SET outcome = r.outcome, fr_outcome = r.fr_outcome, risk_listed = r.risk_listed,
  clock_us = r.clock_us, clock_state = r.clock_state, due_at = r.due_at
FROM (SELECT c.*, d.due_at FROM clock_results c LEFT JOIN clock_due d ON d.row_key = c.row_key) r
WHERE case_rows.rowid = r.row_key;

DROP TABLE clock_cases; DROP TABLE clock_marks; DROP TABLE clock_pauses; DROP TABLE clock_results; DROP TABLE clock_due
