-- Up Migration

-- What the composition roots (the benchmark, the session, the end-to-end checks) read of the fill
-- receiver and of the simulated broker: these views, never the tables behind them.
CREATE VIEW broker_adapter_received_reports AS
  SELECT sequence, exec_id, received_at FROM fill_receiver_received;

-- The simulated broker's side of the story; created_at is the simulated market's clock,
-- recorded_at the database's.
CREATE VIEW broker_adapter_simulated_orders AS
  SELECT broker_order_id, client_order_id, status, cumulative_quantity, created_at FROM broker_orders;

CREATE VIEW broker_adapter_simulated_trades AS
  SELECT e.exec_id, b.client_order_id, e.created_at, e.recorded_at
  FROM broker_executions e JOIN broker_orders b ON b.broker_order_id = e.broker_order_id
  WHERE e.exec_type = 'trade';

-- Down Migration
DROP VIEW broker_adapter_simulated_trades;
DROP VIEW broker_adapter_simulated_orders;
DROP VIEW broker_adapter_received_reports;
