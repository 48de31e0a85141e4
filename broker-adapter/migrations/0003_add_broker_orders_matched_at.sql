-- Up Migration

-- The simulated instant of the last matching pass that changed the order. A pass looks at every price
-- traded since the previous pass (but not before this), so a limit order is hit by a dip between two
-- passes, as on an exchange, and a dip that already filled it is not counted twice.
ALTER TABLE broker_orders ADD COLUMN matched_at timestamptz;

-- A report the fill receiver refused as malformed (400): retrying cannot help, and it must not hold
-- up the reports behind it. Only the statements carry it, as for a dropped one.
ALTER TABLE broker_deliveries ADD COLUMN refused_at timestamptz;

-- Down Migration
ALTER TABLE broker_deliveries DROP COLUMN refused_at;
ALTER TABLE broker_orders DROP COLUMN matched_at;
