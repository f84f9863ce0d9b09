-- Each known priority's end-of-day backlog over the trend's days, oldest first (the Slack
-- sparklines and the per-priority spike alerts; not a contract file): one row per priority
-- and day, gathered into one list per priority by compute.ts.
SELECT CAST(priority_label AS VARCHAR) AS priority, backlog_end_of_day AS backlog
FROM daily WHERE priority_label <> 'UNKNOWN' ORDER BY priority, day
