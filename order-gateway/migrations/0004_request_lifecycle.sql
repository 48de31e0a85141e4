-- Up Migration

-- Compare-and-settle on a number, not on the snapshot's JSON text: a request server whose lease ran
-- out settles nothing once another has moved the row on.
ALTER TABLE broker_submissions ADD COLUMN version integer NOT NULL DEFAULT 0;

-- The n-th cancel of an order. The primary key stays (order_id, kind): a later cancel (after the
-- broker refused an earlier one) takes the row over, a redelivered earlier one changes nothing.
ALTER TABLE broker_submissions ADD COLUMN request_no integer NOT NULL DEFAULT 1;

-- The open-order check and the re-drive of lost requests read only live orders: a partial index keeps
-- them as cheap at a million orders of history as at ten.
CREATE INDEX orders_live_by_activity ON orders (updated_at)
  WHERE status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel');

-- When the open-order check last asked the broker about a live order, and when it may ask again.
-- A row outlives its order's life harmlessly: the check's query starts from the live orders.
CREATE TABLE open_order_checks (
  order_id       uuid PRIMARY KEY REFERENCES orders (id),
  checked_at     timestamptz NOT NULL,
  next_check_at  timestamptz NOT NULL,
  checks         integer NOT NULL DEFAULT 0
);

-- Down Migration
DROP TABLE open_order_checks;
DROP INDEX orders_live_by_activity;
ALTER TABLE broker_submissions DROP COLUMN request_no;
ALTER TABLE broker_submissions DROP COLUMN version;
