-- Per day and priority: created, resolved and backlog_end_of_day (the spike rule needs each
-- priority's backlog history, volume_trend their sum).
--
-- backlog_end_of_day counts cases created before the day's end and not resolved before it
-- (today: open at as_of), as a running sum of +1 on the created day and -1 on the resolved
-- day over the cases that can be in a backlog (not `ghost`, not `bad_order`); cases created
-- before the first day enter on the first day. chain_adjustment is what validation needs to
-- check the chain (cases counted as created or resolved that never enter a backlog).
CREATE OR REPLACE TEMPORARY TABLE daily AS
WITH first_day AS (SELECT min(day) AS d0 FROM days),
created_per_day AS @materialized (
  SELECT priority_label, created_day AS day, count(*) AS created,
    coalesce(count_if(ghost OR bad_order), 0) AS created_outside
  FROM counted_cases GROUP BY ALL
),
resolved_per_day AS @materialized (
  SELECT priority_label, resolved_day AS day, count(*) AS resolved,
    coalesce(count_if(bad_order), 0) AS resolved_outside
  FROM counted_cases WHERE eff_resolved_at IS NOT NULL GROUP BY ALL
),
backlog_deltas AS (
  SELECT priority_label, greatest(day, first_day.d0) AS day, sum(delta) AS delta
  FROM (
    SELECT priority_label, day, created - created_outside AS delta FROM created_per_day
    UNION ALL
    SELECT priority_label, day, -(resolved - resolved_outside) FROM resolved_per_day
  ), first_day
  GROUP BY ALL
),
labels AS (SELECT DISTINCT priority_label FROM created_per_day)
SELECT d.day, l.priority_label,
  coalesce(c.created, 0) AS created,
  coalesce(r.resolved, 0) AS resolved,
  sum(coalesce(x.delta, 0)) OVER (PARTITION BY l.priority_label ORDER BY d.day) AS backlog_end_of_day,
  coalesce(c.created_outside, 0) - coalesce(r.resolved_outside, 0) AS chain_adjustment
FROM days d CROSS JOIN labels l
LEFT JOIN backlog_deltas x ON x.day = d.day AND x.priority_label = l.priority_label
LEFT JOIN created_per_day c ON c.day = d.day AND c.priority_label = l.priority_label
LEFT JOIN resolved_per_day r ON r.day = d.day AND r.priority_label = l.priority_label
