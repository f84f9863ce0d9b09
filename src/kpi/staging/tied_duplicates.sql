-- How many duplicated ids have several rows sharing their latest updated_at.
SELECT count_if(tied) AS n FROM duplicate_ids
