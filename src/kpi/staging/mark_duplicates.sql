-- Every row of a duplicated id that is not its survivor is marked `duplicate`: excluded from
-- the KPIs, counted by data quality. `source_duplicate`: not the survivor across every row
-- of case_rows (the volume-anomaly counts, see duplicate_ids.sql).
UPDATE case_rows SET duplicate = coalesce(case_rows.rowid <> d.survivor_rowid, false),
  source_duplicate = case_rows.rowid <> d.source_survivor_rowid
FROM duplicate_ids d WHERE case_rows.case_id = d.case_id
  AND (case_rows.rowid <> d.survivor_rowid OR case_rows.rowid <> d.source_survivor_rowid)
