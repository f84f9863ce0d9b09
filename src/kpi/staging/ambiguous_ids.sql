-- The duplicated ids whose tied rows (sharing the latest updated_at, the same version as in
-- duplicate_ids.sql) differ in some stored column: only the read order decides between them.
CREATE OR REPLACE TEMP TABLE ambiguous_ids AS
WITH tied_ids AS (SELECT case_id, latest FROM duplicate_ids WHERE tied),
tied_id_rows AS (SELECT * EXCLUDE (duplicate) FROM case_rows WHERE in_window AND case_id IN (SELECT case_id FROM tied_ids)),
latest_rows AS (
  SELECT r.* FROM tied_id_rows r JOIN tied_ids USING (case_id)
  WHERE coalesce(epoch_us(r.updated_at), -9223372036854775807) = tied_ids.latest
),
variants_per_id AS (SELECT case_id, count(DISTINCT row(*COLUMNS(*))) AS variants FROM latest_rows GROUP BY case_id)
SELECT case_id FROM variants_per_id WHERE variants > 1
