-- Up Migration

-- The order gateway's published read model for reconciliation: other components read these views,
-- never the tables behind them, so the tables stay free to change.
CREATE VIEW order_gateway_fills AS
  SELECT f.exec_id, f.order_id, o.account_id, o.symbol, o.side, f.quantity, f.price, f.commission, f.executed_at
  FROM order_fills f JOIN orders o ON o.id = f.order_id;

CREATE VIEW order_gateway_orders AS
  SELECT id AS order_id, account_id, client_order_id, symbol, side, type, quantity, limit_price, time_in_force,
         status, filled_quantity, broker_order_id, created_at, updated_at
  FROM orders;

-- Down Migration
DROP VIEW order_gateway_orders;
DROP VIEW order_gateway_fills;
