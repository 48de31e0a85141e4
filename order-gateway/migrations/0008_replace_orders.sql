-- Up Migration

-- Modify an order (PATCH /v1/orders/{id}): FIX cancel/replace. The old order waits in
-- `pending_replace` while the broker decides and ends `replaced`; the new order carries on. Each
-- points at the other, so either can be found from the other without reading a snapshot.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('pending_new', 'new', 'partially_filled',
  'filled', 'pending_cancel', 'pending_replace', 'canceled', 'rejected', 'expired', 'replaced'));
ALTER TABLE orders ADD COLUMN replaces uuid REFERENCES orders (id);
ALTER TABLE orders ADD COLUMN replaced_by uuid REFERENCES orders (id);
-- One order replaces at most one: a second replacement of the same order is a bug the database refuses.
CREATE UNIQUE INDEX orders_replaces ON orders (replaces) WHERE replaces IS NOT NULL;

-- A pending replace is live: the partial indexes of live orders take it in, with the same predicate
-- as the queries that use them (order.sql.ts OPEN_STATUSES).
DROP INDEX orders_open_by_account;
CREATE INDEX orders_open_by_account ON orders (account_id, seq DESC)
  WHERE status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'pending_replace');
DROP INDEX orders_live_by_activity;
CREATE INDEX orders_live_by_activity ON orders (updated_at)
  WHERE status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'pending_replace');

-- The request server sends a replace as its own request, numbered like cancels: a later replace
-- (after the broker refused an earlier one) takes the row over.
ALTER TABLE broker_submissions DROP CONSTRAINT broker_submissions_kind_check;
ALTER TABLE broker_submissions ADD CONSTRAINT broker_submissions_kind_check
  CHECK (kind IN ('submit', 'cancel', 'replace'));

-- Down Migration
ALTER TABLE broker_submissions DROP CONSTRAINT broker_submissions_kind_check;
ALTER TABLE broker_submissions ADD CONSTRAINT broker_submissions_kind_check CHECK (kind IN ('submit', 'cancel'));
DROP INDEX orders_live_by_activity;
CREATE INDEX orders_live_by_activity ON orders (updated_at)
  WHERE status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel');
DROP INDEX orders_open_by_account;
CREATE INDEX orders_open_by_account ON orders (account_id, seq DESC)
  WHERE status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel');
DROP INDEX orders_replaces;
ALTER TABLE orders DROP COLUMN replaced_by;
ALTER TABLE orders DROP COLUMN replaces;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('pending_new', 'new', 'partially_filled',
  'filled', 'pending_cancel', 'canceled', 'rejected', 'expired'));
