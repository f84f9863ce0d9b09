-- Every row of a duplicated id that is not its survivor is marked `duplicate`: excluded from
-- the KPIs, counted by data quality.
UPDATE case_rows SET duplicate = true
FROM duplicate_ids d WHERE case_rows.case_id = d.case_id AND case_rows.rowid <> d.survivor_rowid
