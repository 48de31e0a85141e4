-- Up Migration

-- The simulated instant of the last matching pass that changed the order. A pass looks at every price
-- traded since the previous pass (but not before this), so a limit order is hit by a dip between two
-- passes, as on an exchange, and a dip that already filled it is not counted twice.
ALTER TABLE broker_orders ADD COLUMN matched_at timestamptz;

-- Down Migration
ALTER TABLE broker_orders DROP COLUMN matched_at;
