-- Up Migration

-- A fill that breaks its order's terms is recorded once per execution, however often the broker
-- (or a repair) delivers its report.
ALTER TABLE order_anomalies ADD COLUMN exec_id text;
CREATE UNIQUE INDEX order_anomalies_fill_outside_terms ON order_anomalies (exec_id) WHERE kind = 'FILL_OUTSIDE_TERMS';
CREATE INDEX order_anomalies_newest ON order_anomalies (id DESC);

-- When the broker accepted the order, on the broker's clock (its report's transactTime, or the time
-- its answer to our submission carries). The order's trade date is the New York date of this instant,
-- not of created_at: an order placed after the close is traded on the next trading day, and a
-- simulated market's clock is not the database's.
ALTER TABLE orders ADD COLUMN broker_accepted_at timestamptz;

-- The published read model gains the trade date; readers keep their columns.
CREATE OR REPLACE VIEW order_gateway_orders AS
  SELECT id AS order_id, account_id, client_order_id, symbol, side, type, quantity, limit_price, time_in_force,
         status, filled_quantity, broker_order_id, created_at, updated_at,
         (COALESCE(broker_accepted_at, created_at) AT TIME ZONE 'America/New_York')::date AS trade_date
  FROM orders;

-- Fills the order gateway refused because they break their order's terms: the reconciler reads this
-- view (never the table) to count each as a break until an operator decides.
CREATE VIEW order_gateway_execution_anomalies AS
  SELECT a.id AS anomaly_id, a.exec_id, a.order_id, a.event ->> 'symbol' AS symbol, a.detail,
         (a.event ->> 'at')::timestamptz AS executed_at, a.recorded_at
  FROM order_anomalies a
  WHERE a.kind = 'FILL_OUTSIDE_TERMS';

-- Down Migration
DROP VIEW order_gateway_execution_anomalies;
DROP VIEW order_gateway_orders;
CREATE VIEW order_gateway_orders AS
  SELECT id AS order_id, account_id, client_order_id, symbol, side, type, quantity, limit_price, time_in_force,
         status, filled_quantity, broker_order_id, created_at, updated_at
  FROM orders;
ALTER TABLE orders DROP COLUMN broker_accepted_at;
DROP INDEX order_anomalies_newest;
DROP INDEX order_anomalies_fill_outside_terms;
ALTER TABLE order_anomalies DROP COLUMN exec_id;
