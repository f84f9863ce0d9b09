-- The status history (contract 6.3), typed: one row per change with the case id cleaned like
-- the cases' (cleaned_rows.sql), the status as read, changed_at as naive UTC (NULL: empty or
-- unparseable) and may_pause (the status matches some policy's pause_on: only cases with
-- such a change are looked at by the clocks). Must run with the session TimeZone set to the
-- source time zone (prepare.ts). Built with insertion order kept, so that the table's rowid
-- is the read order (ties on changed_at keep it, contract 6.5). Changes after as_of are
-- dropped: they are ignored and not counted.
CREATE OR REPLACE TEMP TABLE status_history AS
SELECT * FROM (
  SELECT {{case_id}} AS case_id, {{status}} AS status, {{changed_at}} AS changed_at
  FROM {{relation}}
) AS typed
WHERE changed_at IS NULL OR changed_at <= {{as_of}}
