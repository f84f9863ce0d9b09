-- The status history (contract 6.3), typed: one row per change with the case id cleaned like
-- the cases' (cleaned_rows.sql), the status as read, changed_at as naive UTC (NULL: empty or
-- unparseable) and seq, the read order (ties on changed_at keep it). Must run with the session
-- TimeZone set to the source time zone and insertion order kept (prepare.ts).
-- Changes after as_of are dropped: they are ignored and not counted (contract 6.5).
CREATE OR REPLACE TEMP TABLE history_read AS
SELECT * FROM (
  SELECT {{case_id}} AS case_id, {{status}} AS status, {{changed_at}} AS changed_at,
    row_number() OVER () AS seq
  FROM {{relation}}
) AS typed
WHERE changed_at IS NULL OR changed_at <= {{as_of}};

-- The changes the clocks read: a known case and a parseable changed_at.
CREATE OR REPLACE TEMP TABLE status_history AS
SELECT case_id, status, changed_at, seq FROM history_read
WHERE changed_at IS NOT NULL AND case_id IS NOT NULL
