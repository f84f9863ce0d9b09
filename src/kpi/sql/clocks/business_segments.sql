-- The business calendars of a run as real UTC instants (contract 6.2, 6.5): one row per
-- business interval, built in TypeScript (kpi/businessCalendar.ts, businessSegments) for
-- the span the run needs and appended here. Naive UTC times; cum_start is the business
-- seconds of the calendar from the span's start to seg_start, so that business time
-- since that start at an instant t in or after a segment is
--   cum_start + least(t - seg_start, seg_end - seg_start).
-- Segments of one calendar are disjoint and never touch (touching ones are merged), none
-- is empty. The built-in 24x7 calendar has no rows: its business time is elapsed time.
CREATE OR REPLACE TEMP TABLE business_segments (
  calendar VARCHAR NOT NULL,
  seg_start TIMESTAMP NOT NULL,
  seg_end TIMESTAMP NOT NULL,
  cum_start DOUBLE NOT NULL
);
