-- Resolution SLA outcome of the cases resolved on each day of the trend (report_tz days,
-- oldest first): met, breached and the day's compliance. The digest's compliance chart
-- draws it against the goal; not a contract file. A day without a resolved case that has
-- an SLA has no compliance (NULL), not 0%.
WITH resolved_outcomes_per_day AS (
  SELECT resolved_day AS day,
    coalesce(count_if(outcome = 'met'), 0) AS met,
    coalesce(count_if(outcome = 'breached'), 0) AS breached
  FROM counted_cases
  WHERE eff_resolved_at IS NOT NULL AND outcome IS NOT NULL
  GROUP BY ALL
)
SELECT @strftime(d.day, '%Y-%m-%d') AS date,
  coalesce(r.met, 0) AS met,
  coalesce(r.breached, 0) AS breached,
  CASE WHEN coalesce(r.met, 0) + coalesce(r.breached, 0) > 0 THEN round(r.met * 100.0 / (r.met + r.breached), 1) END AS sla_compliance_pct
FROM days d LEFT JOIN resolved_outcomes_per_day r ON r.day = d.day
ORDER BY d.day
