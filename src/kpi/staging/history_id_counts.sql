-- The status history counted in one pass (contract 6.4, 6.5), grouped by outside_id: NULL
-- for every row whose case_id is among the run's cases (or is missing), else the id (a case
-- the run does not hold: history.ts looks it up in the whole cases input). Per group:
-- history_rows (changes up to as_of and undated ones; later changes are ignored and not
-- counted), invalid_rows (of those, no parseable changed_at or no case id) and dated_rows
-- (of those, the dated ones). Conditional counts instead of a WHERE: a filter on changed_at
-- would be pushed into the read and parse each value again.
CREATE OR REPLACE TEMP TABLE history_id_counts AS
WITH history_rows AS (
  SELECT {{case_id}} AS case_id, {{changed_at}} AS changed_at FROM {{relation}}
), marked AS (
  SELECT case_id, changed_at,
    changed_at IS NULL OR changed_at <= {{as_of}} AS counted,
    {{in_run}} AS in_run
  FROM {{marked_from}}
)
SELECT CASE WHEN NOT in_run THEN case_id END AS outside_id,
  count_if(counted) AS history_rows,
  count_if(counted AND (changed_at IS NULL OR case_id IS NULL)) AS invalid_rows,
  count_if(counted AND changed_at IS NOT NULL) AS dated_rows
FROM marked GROUP BY ALL
