-- Duplicates in warehouse compute (contract 3): the survivor rule of duplicate_ids.sql and
-- mark_duplicates.sql in plain SQL that both engines run, on case_rows' row_key (given at
-- its build: Snowflake has no rowid). The survivor is the row with the latest updated_at (a
-- missing one ranks lowest); `duplicate` marks the other rows of the id when it has a
-- survivor in the run's window, `source_duplicate` the others across every row (the
-- volume-anomaly counts, contract 7.1).
--
-- A warehouse has no read order, so "among equals, the one read last" cannot be asked of
-- it: rows sharing the latest updated_at are ranked by their stored columns
-- ({{tie_order}}), which is deterministic. Tied rows equal in every stored column give
-- the same reports whichever survives, as in local compute; tied rows that differ are
-- decided by that order here and by the read order locally (docs/snowflake.md).
CREATE OR REPLACE TEMPORARY TABLE duplicate_rows AS
WITH repeated_ids AS (
  SELECT case_id FROM case_rows WHERE case_id IS NOT NULL GROUP BY case_id HAVING count(*) > 1
),
candidates AS (
  SELECT case_rows.*, coalesce(@epoch_us(updated_at), -9223372036854775807) AS version
  FROM case_rows WHERE case_id IN (SELECT case_id FROM repeated_ids)
),
ranked AS (
  SELECT row_key, case_id, in_window,
    ROW_NUMBER() OVER (PARTITION BY case_id, in_window ORDER BY version DESC, {{tie_order}}) AS window_rank,
    ROW_NUMBER() OVER (PARTITION BY case_id ORDER BY version DESC, {{tie_order}}) AS source_rank
  FROM candidates
),
window_survivors AS (
  SELECT case_id, row_key AS survivor_key FROM ranked WHERE in_window AND window_rank = 1
)
SELECT r.row_key,
  coalesce(r.row_key <> w.survivor_key, false) AS duplicate,
  r.source_rank <> 1 AS source_duplicate
FROM ranked r LEFT JOIN window_survivors w ON w.case_id = r.case_id
