-- Up Migration

-- Cancel/replace at the simulated broker: the old order ends `replaced`, the new one names it.
ALTER TABLE broker_orders DROP CONSTRAINT broker_orders_status_check;
ALTER TABLE broker_orders ADD CONSTRAINT broker_orders_status_check CHECK (status IN
  ('new', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'rejected', 'expired', 'replaced'));
ALTER TABLE broker_orders ADD COLUMN replaces text REFERENCES broker_orders (broker_order_id);
CREATE UNIQUE INDEX broker_orders_replaces ON broker_orders (replaces) WHERE replaces IS NOT NULL;

-- Down Migration
DROP INDEX broker_orders_replaces;
ALTER TABLE broker_orders DROP COLUMN replaces;
ALTER TABLE broker_orders DROP CONSTRAINT broker_orders_status_check;
ALTER TABLE broker_orders ADD CONSTRAINT broker_orders_status_check CHECK (status IN
  ('new', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'rejected', 'expired'));
