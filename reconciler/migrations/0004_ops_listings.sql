-- Up Migration

-- The ops listings page runs newest first and count each run's open breaks; both read these indexes
-- instead of every run and every break ever found.
CREATE INDEX reconciliation_runs_newest ON reconciliation_runs (started_at DESC, id DESC);
CREATE INDEX reconciliation_breaks_open ON reconciliation_breaks (run_id, kind) WHERE open;

-- Down Migration
DROP INDEX reconciliation_breaks_open;
DROP INDEX reconciliation_runs_newest;
