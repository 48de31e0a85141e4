-- Up Migration

-- When the broker made each report, in real time (the database's clock). `created_at` is the simulated
-- market's clock, which a session or a test moves by hand; latencies from the broker's execution to
-- our ledger need an instant on the same clock as the ledger's.
ALTER TABLE broker_executions ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now();

-- Down Migration
ALTER TABLE broker_executions DROP COLUMN recorded_at;
