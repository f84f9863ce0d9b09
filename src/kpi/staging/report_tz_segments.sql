-- The stretches of one UTC offset in tz_offsets, oldest first (consecutive quarter hours
-- with the same offset merged): a few per run, split at DST changes. localDay() turns them
-- into a CASE on literals, so calendar days cost no join per case.
WITH islands AS (
  SELECT *, bucket - row_number() OVER (PARTITION BY offset_us ORDER BY bucket) AS island FROM tz_offsets
)
SELECT strftime(min(bucket_start), '%Y-%m-%d %H:%M:%S') AS start, offset_us
FROM islands
GROUP BY offset_us, island ORDER BY min(bucket)
