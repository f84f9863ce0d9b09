-- Each known priority's end-of-day backlog over the trend's days, oldest first (the Slack
-- sparklines and the per-priority spike alerts; not a contract file).
SELECT priority_label AS priority, list(backlog_end_of_day ORDER BY day) AS backlog
FROM daily WHERE priority_label <> 'UNKNOWN' GROUP BY 1 ORDER BY 1
