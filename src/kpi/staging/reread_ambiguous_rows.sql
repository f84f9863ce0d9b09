-- The ambiguous ids' rows of case_rows replaced by the same rows in read order: the ORDER BY
-- keeps reread_rows' order, which is the read order (it was built in order, by a plan
-- without joins).
DELETE FROM case_rows WHERE case_id IN (SELECT case_id FROM ambiguous_ids);
INSERT INTO case_rows SELECT r.* FROM reread_rows r WHERE r.case_id IN (SELECT case_id FROM ambiguous_ids) ORDER BY r.rowid;
DROP TABLE reread_rows;
RESET VARIABLE kpi_ambiguous;
