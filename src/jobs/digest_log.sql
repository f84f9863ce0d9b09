-- digest_log: one row per (day, channel) the daily digest was claimed for; ts once posted.
-- The claim makes the digest go out once a day, across restarts and processes.
CREATE TABLE IF NOT EXISTS digest_log (
  digest_date DATE NOT NULL,
  channel VARCHAR NOT NULL,
  claimed_at TIMESTAMP NOT NULL,
  ts VARCHAR,
  PRIMARY KEY (digest_date, channel)
);
