-- Duplicates (contract 3): the survivor is the row with the latest updated_at (a missing one
-- ranks lowest), among equals the one read last. Only ids that occur more than once are
-- ranked: finding them is a plain count, ranking them is a small job. `tied`: several rows
-- share the latest updated_at.
--
-- Two survivors per id: `survivor_rowid` among the rows in the run's window (the window
-- filter applies to rows first, then duplicates: the reports and data quality), and
-- `source_survivor_rowid` among every row of case_rows, whose out-of-window rows are there
-- for the volume-anomaly baseline (contract 7.1: one row per case_id across the source).
--
-- case_rows is built without keeping the read order (prepare.ts), so its rowid is not the
-- read order. Tied rows that are equal in every stored column give the same reports
-- whichever survives; the rows of ids whose tied rows differ (ambiguous_ids.sql) are read
-- again in read order (reread_ambiguous_rows.sql), so that among them a higher rowid is a
-- later read.
CREATE OR REPLACE TEMP TABLE duplicate_ids AS
WITH repeated_ids AS (SELECT case_id FROM case_rows WHERE case_id IS NOT NULL GROUP BY case_id HAVING count(*) > 1),
candidates AS (
  SELECT rowid AS row_id, case_id, in_window, coalesce(epoch_us(updated_at), -9223372036854775807) AS version
  FROM case_rows WHERE case_id IN (SELECT case_id FROM repeated_ids)
),
ranked AS (SELECT *, max(version) FILTER (WHERE in_window) OVER (PARTITION BY case_id) AS latest FROM candidates)
SELECT case_id, max_by(row_id, (version, row_id)) FILTER (WHERE in_window) AS survivor_rowid, max(latest) AS latest,
  count_if(in_window AND version = latest) > 1 AS tied,
  max_by(row_id, (version, row_id)) AS source_survivor_rowid
FROM ranked GROUP BY case_id
