-- volume_trend.csv (contract 5): one row per day of the trend, oldest first.
SELECT @strftime(d.day, '%Y-%m-%d') AS date,
  coalesce(sum(x.created), 0) AS created,
  coalesce(sum(x.resolved), 0) AS resolved,
  coalesce(sum(x.created), 0) - coalesce(sum(x.resolved), 0) AS net_change,
  coalesce(sum(x.backlog_end_of_day), 0) AS backlog_end_of_day,
  coalesce(sum(x.chain_adjustment), 0) AS chain_adjustment
FROM days d LEFT JOIN daily x ON x.day = d.day
GROUP BY d.day ORDER BY d.day
