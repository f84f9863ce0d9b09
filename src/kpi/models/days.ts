/**
 * Calendar days of the trend (contract 5, volume_trend.csv): the window_days days in
 * report_tz ending with the as_of day; and per-day created / resolved / backlog, by
 * priority (the spike rule needs each priority's backlog history).
 *
 * backlog_end_of_day counts cases created before the day's end and not resolved before
 * it (today: open at as_of). It is computed as a running sum of +1 on the created day and
 * -1 on the resolved day over the cases that can be in a backlog (not `ghost`, not
 * `bad_order`); cases created before the first day enter on the first day.
 */
export const daysSql = `
CREATE OR REPLACE TEMP TABLE days AS
SELECT CAST(p.as_of_date - CAST(p.window_days - 1 - i AS INTEGER) AS DATE) AS day, i AS day_index
FROM p, range(p.window_days) r(i)`;

export const dailyByPrioritySql = `
CREATE OR REPLACE TEMP TABLE daily AS
WITH first AS (SELECT min(day) AS d0 FROM days),
by_created AS MATERIALIZED (
  SELECT priority_label, created_day AS day, count(*) AS created,
    coalesce(count_if(ghost OR bad_order), 0) AS created_outside
  FROM m GROUP BY ALL
),
by_resolved AS MATERIALIZED (
  SELECT priority_label, resolved_day AS day, count(*) AS resolved,
    coalesce(count_if(bad_order), 0) AS resolved_outside
  FROM m WHERE eff_resolved_at IS NOT NULL GROUP BY ALL
),
-- +1 on the created day, -1 on the resolved day, for cases that can be in a backlog;
-- days before the first day count on the first day
deltas AS (
  SELECT priority_label, greatest(day, first.d0) AS day, sum(delta) AS delta
  FROM (
    SELECT priority_label, day, created - created_outside AS delta FROM by_created
    UNION ALL
    SELECT priority_label, day, -(resolved - resolved_outside) FROM by_resolved
  ), first
  GROUP BY ALL
),
labels AS (SELECT DISTINCT priority_label FROM by_created)
SELECT d.day, l.priority_label,
  coalesce(c.created, 0) AS created,
  coalesce(r.resolved, 0) AS resolved,
  sum(coalesce(x.delta, 0)) OVER (PARTITION BY l.priority_label ORDER BY d.day) AS backlog_end_of_day,
  coalesce(c.created_outside, 0) - coalesce(r.resolved_outside, 0) AS chain_adjustment
FROM days d CROSS JOIN labels l
LEFT JOIN deltas x ON x.day = d.day AND x.priority_label = l.priority_label
LEFT JOIN by_created c ON c.day = d.day AND c.priority_label = l.priority_label
LEFT JOIN by_resolved r ON r.day = d.day AND r.priority_label = l.priority_label`;

export const volumeTrendSql = `
SELECT strftime(d.day, '%Y-%m-%d') AS date,
  coalesce(sum(x.created), 0) AS created,
  coalesce(sum(x.resolved), 0) AS resolved,
  coalesce(sum(x.created), 0) - coalesce(sum(x.resolved), 0) AS net_change,
  coalesce(sum(x.backlog_end_of_day), 0) AS backlog_end_of_day,
  coalesce(sum(x.chain_adjustment), 0) AS chain_adjustment
FROM days d LEFT JOIN daily x ON x.day = d.day
GROUP BY d.day ORDER BY d.day`;
