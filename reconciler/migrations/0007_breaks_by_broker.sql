-- Up Migration

-- Several brokers: each one's statements are staged side by side, marked with their broker, and each
-- break names the broker it was found at (null for positions and cash, which reconcile as the sum
-- across brokers). Staging holds only a running run's rows, which the next run fetches again.
TRUNCATE reconciliation_staged_executions, reconciliation_staged_orders;
ALTER TABLE reconciliation_staged_executions ADD COLUMN broker text NOT NULL;
ALTER TABLE reconciliation_staged_orders ADD COLUMN broker text NOT NULL;
-- An order listed by two brokers is staged twice, so the comparison sees it (an order must never exist at two).
ALTER TABLE reconciliation_staged_orders DROP CONSTRAINT reconciliation_staged_orders_pkey;
ALTER TABLE reconciliation_staged_orders ADD PRIMARY KEY (run_id, client_order_id, broker);
ALTER TABLE reconciliation_breaks ADD COLUMN broker text;
CREATE INDEX reconciliation_breaks_open_by_broker ON reconciliation_breaks (broker, kind) WHERE open;

-- Down Migration
DROP INDEX reconciliation_breaks_open_by_broker;
ALTER TABLE reconciliation_breaks DROP COLUMN broker;
TRUNCATE reconciliation_staged_executions, reconciliation_staged_orders;
ALTER TABLE reconciliation_staged_orders DROP CONSTRAINT reconciliation_staged_orders_pkey;
ALTER TABLE reconciliation_staged_orders ADD PRIMARY KEY (run_id, client_order_id);
ALTER TABLE reconciliation_staged_orders DROP COLUMN broker;
ALTER TABLE reconciliation_staged_executions DROP COLUMN broker;
