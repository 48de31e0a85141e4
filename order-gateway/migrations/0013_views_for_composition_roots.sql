-- Up Migration

-- What the composition roots (the benchmark, the session, the end-to-end checks) read of the order
-- gateway: they see these views, never the tables behind them, so the tables stay free to change.
-- Times are the database's clock (created_at, recorded_at, updated_at) or the market's (executed_at).
CREATE VIEW order_gateway_order_states AS
  SELECT id, account_id, client_order_id, symbol, side, quantity, time_in_force, status, filled_quantity,
         created_at, updated_at
  FROM orders;

CREATE VIEW order_gateway_recorded_fills AS
  SELECT exec_id, order_id, quantity, price, executed_at, recorded_at FROM order_fills;

-- The request server's calls to the broker: one submit and at most one cancel per order.
CREATE VIEW order_gateway_broker_calls AS
  SELECT order_id, kind, state, coalesce((request ->> 'extendedHours')::boolean, false) AS extended_hours,
         created_at, updated_at
  FROM broker_submissions;

CREATE VIEW order_gateway_outbox_messages AS
  SELECT id, topic, payload ->> 'orderId' AS order_id, created_at, sent_at FROM outbox;

CREATE VIEW order_gateway_parked_reports AS
  SELECT exec_id, order_id, attempts, parked_at FROM parked_reports;

-- Down Migration
DROP VIEW order_gateway_parked_reports;
DROP VIEW order_gateway_outbox_messages;
DROP VIEW order_gateway_broker_calls;
DROP VIEW order_gateway_recorded_fills;
DROP VIEW order_gateway_order_states;
