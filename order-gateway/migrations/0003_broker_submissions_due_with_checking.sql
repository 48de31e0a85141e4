-- Up Migration

-- The request server's claim asks for rows in 'queued', 'unknown', 'sending' or 'checking'; an index
-- whose predicate leaves out 'checking' cannot answer that, so every claim scanned the whole table,
-- which grows by one row per order forever.
CREATE INDEX broker_submissions_due_all ON broker_submissions (next_attempt_at)
  WHERE state IN ('queued', 'unknown', 'sending', 'checking');
DROP INDEX broker_submissions_due;

-- Down Migration
CREATE INDEX broker_submissions_due ON broker_submissions (next_attempt_at)
  WHERE state IN ('queued', 'unknown', 'sending');
DROP INDEX broker_submissions_due_all;
