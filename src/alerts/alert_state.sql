-- Alert state in the embedded database (see docs/alerts.md).
--
-- - alert_thread: one row per Slack thread the alerts start: a sweep's case alert
--   ("cases:..."), a backlog spike ("spike:<scope>:<date>"), a pipeline health incident
--   ("health:<check>:<n>").
-- - alert_case: one row per (case, level) ever alerted: the "once per step" memory. Levels:
--   at_risk, stage_<N> (a higher risk stage), breached (contract/alertLevels.ts). A row is
--   inserted in the same transaction that decides to alert, so the decision and the claim
--   are one step; restarts, overlapping sweeps and a second process see it. (case_id,
--   level) is unique by construction: only the sweep's transaction inserts, and
--   transactions on the file are serialised. No PRIMARY KEY index: maintaining an ART
--   index made a first sweep over a large at-risk list many times slower.
-- - alert_outbox: every message to post, keyed by an idempotency key (msg_id). A row is
--   'pending' until Slack has answered with its ts, then 'sent'. A pending row has an owner
--   (claim_id) and a lease (claimed_at); a sweep that finds a pending row whose lease ran
--   out takes it over. `attempts` counts posts that may have reached Slack: before
--   re-posting such a row the deliverer looks for it in Slack (message metadata), so a
--   crash between "Slack posted it" and "we recorded it" neither loses nor repeats it.
-- - alert_health: pipeline health checks ('run', 'freshness') and the last sweep.
--
-- Edits (chat.update) are idempotent, so they need no claim: `version` counts state
-- changes, `shown_version` the version Slack shows; a row with version > shown_version is
-- re-rendered and updated.
CREATE TABLE IF NOT EXISTS alert_thread (
  thread_id VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  channel VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL,
  n_at_risk INTEGER NOT NULL DEFAULT 0,
  n_breached INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  n_resolved INTEGER NOT NULL DEFAULT 0,
  replies INTEGER NOT NULL DEFAULT 0,
  resolved_at TIMESTAMP,
  payload VARCHAR,
  version INTEGER NOT NULL DEFAULT 1,
  shown_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS alert_case (
  case_id VARCHAR NOT NULL,
  level VARCHAR NOT NULL,
  thread_id VARCHAR NOT NULL,
  rank INTEGER NOT NULL,
  has_reply BOOLEAN NOT NULL,
  priority VARCHAR,
  region VARCHAR,
  team VARCHAR,
  assignee VARCHAR,
  status VARCHAR,
  created_at VARCHAR,
  due_at VARCHAR,
  sla_target_hours DOUBLE,
  elapsed_hours DOUBLE,
  sla_elapsed_pct DOUBLE,
  hours_to_breach DOUBLE,
  alerted_at TIMESTAMP NOT NULL,
  resolved_at TIMESTAMP,
  acked_by VARCHAR,
  acked_at TIMESTAMP,
  snoozed_by VARCHAR,
  snoozed_until TIMESTAMP,
  reminded_at TIMESTAMP,
  version INTEGER NOT NULL DEFAULT 1,
  shown_version INTEGER NOT NULL DEFAULT 0
);
-- SLA policies (contract 6): the case's policy, clock state and risk stage when alerted,
-- shown in its reply. Added to files made before them; NULL for alerts without policies.
ALTER TABLE alert_case ADD COLUMN IF NOT EXISTS policy VARCHAR;
ALTER TABLE alert_case ADD COLUMN IF NOT EXISTS clock_state VARCHAR;
ALTER TABLE alert_case ADD COLUMN IF NOT EXISTS risk_stage DOUBLE;
CREATE TABLE IF NOT EXISTS alert_outbox (
  msg_id VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  thread_id VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  channel VARCHAR NOT NULL,
  channel_id VARCHAR,
  case_id VARCHAR,
  level VARCHAR,
  text VARCHAR,
  broadcast BOOLEAN NOT NULL DEFAULT false,
  state VARCHAR NOT NULL,
  claim_id VARCHAR,
  claimed_at TIMESTAMP,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error VARCHAR,
  ts VARCHAR,
  created_at TIMESTAMP NOT NULL,
  sent_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS alert_health (
  check_name VARCHAR PRIMARY KEY,
  status VARCHAR NOT NULL,
  since TIMESTAMP,
  cause VARCHAR,
  thread_id VARCHAR,
  incidents INTEGER NOT NULL DEFAULT 0,
  last_checked_at TIMESTAMP,
  last_ok_at TIMESTAMP,
  detail VARCHAR
);
-- Later steps of a case shown on its first reply (one case, one thread): the step it is at
-- now, its hours to breach then and when it got there. NULL: the step of the row itself.
ALTER TABLE alert_case ADD COLUMN IF NOT EXISTS now_level VARCHAR;
ALTER TABLE alert_case ADD COLUMN IF NOT EXISTS now_hours_to_breach DOUBLE;
ALTER TABLE alert_case ADD COLUMN IF NOT EXISTS now_at TIMESTAMP;
-- The owner mention (<@U…> / <!subteam^S…>) resolved when the case was alerted.
ALTER TABLE alert_case ADD COLUMN IF NOT EXISTS mention VARCHAR;
