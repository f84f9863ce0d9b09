-- data_quality_score.csv's history_rows and invalid_history_rows (contract 6.4, 6.5): rows up
-- to as_of plus undated ones; invalid: no parseable changed_at or no case id, or a case_id
-- that no row of the cases input has (history_unknown_ids, history.ts: the dated rows of
-- each unknown id). From history_id_counts.sql.
CREATE OR REPLACE TEMP TABLE history_counts AS
SELECT CAST(coalesce(sum(history_rows), 0) AS BIGINT) AS history_rows,
  CAST(coalesce(sum(invalid_rows), 0) + coalesce((SELECT sum(dated_rows) FROM history_unknown_ids), 0) AS BIGINT) AS invalid_history_rows
FROM history_id_counts
