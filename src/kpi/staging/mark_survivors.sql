-- The rows of duplicate_rows (survivors.sql) marked in case_rows.
UPDATE case_rows SET duplicate = d.duplicate, source_duplicate = d.source_duplicate
FROM duplicate_rows d WHERE case_rows.row_key = d.row_key
