-- Up Migration

-- A broker's bust or correct marks the fill it names instead of deleting it: `busted`, or
-- `corrected` with the correction's own row (`corrects` = the execId it replaces). Only active fills
-- count toward the order's filled quantity.
ALTER TABLE order_fills
  ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'busted', 'corrected')),
  ADD COLUMN corrects text UNIQUE REFERENCES order_fills (exec_id),
  -- The bust or correct report that ended the fill: a redelivered report finds it here.
  ADD COLUMN ended_by text UNIQUE,
  ADD CONSTRAINT order_fills_ended CHECK ((state = 'active') = (ended_by IS NULL));

-- The reconciler compares what stands: the fills that are active.
CREATE OR REPLACE VIEW order_gateway_fills AS
  SELECT f.exec_id, f.order_id, o.account_id, o.symbol, o.side, f.quantity, f.price, f.commission, f.executed_at
  FROM order_fills f JOIN orders o ON o.id = f.order_id
  WHERE f.state = 'active';

CREATE OR REPLACE VIEW order_gateway_recorded_fills AS
  SELECT exec_id, order_id, quantity, price, executed_at, recorded_at, state, corrects FROM order_fills;

-- Busts and corrects applied, with the order and account they touched: what the session reports.
CREATE VIEW order_gateway_trade_corrections AS
  SELECT f.ended_by AS exec_id, f.exec_id AS ref_exec_id, f.state, f.order_id, o.account_id, o.symbol, o.side,
         f.quantity, f.price, c.quantity AS corrected_quantity, c.price AS corrected_price
  FROM order_fills f JOIN orders o ON o.id = f.order_id LEFT JOIN order_fills c ON c.corrects = f.exec_id
  WHERE f.state <> 'active';

-- Down Migration
DROP VIEW order_gateway_trade_corrections;
DROP VIEW order_gateway_recorded_fills;
CREATE VIEW order_gateway_recorded_fills AS
  SELECT exec_id, order_id, quantity, price, executed_at, recorded_at FROM order_fills;
CREATE OR REPLACE VIEW order_gateway_fills AS
  SELECT f.exec_id, f.order_id, o.account_id, o.symbol, o.side, f.quantity, f.price, f.commission, f.executed_at
  FROM order_fills f JOIN orders o ON o.id = f.order_id;
ALTER TABLE order_fills DROP CONSTRAINT order_fills_ended, DROP COLUMN ended_by, DROP COLUMN corrects,
  DROP COLUMN state;
