-- Up Migration

-- Signed-in operators of the ops console. Only the sha256 of the session token is stored, as with API
-- keys: a copy of this table lets nobody in. A row past expires_at is dead whether or not it has been
-- swept yet; signing out deletes it.
CREATE TABLE ops_sessions (
  token_hash  bytea PRIMARY KEY,
  operator    text NOT NULL CHECK (length(operator) BETWEEN 1 AND 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX ops_sessions_by_expiry ON ops_sessions (expires_at);

-- The ops search finds an order by its client order id across accounts; the unique key starts with
-- the account and cannot answer that.
CREATE INDEX orders_by_client_order_id ON orders (client_order_id);

-- Down Migration
DROP INDEX orders_by_client_order_id;
DROP TABLE ops_sessions;
