-- Up Migration

-- Customer accounts as the trading API knows them: who they are and how they authenticate.
-- Their money and shares live in the ledger's tables, under the same id.
CREATE TABLE gateway_accounts (
  id            uuid PRIMARY KEY,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- sha256 of the API key: the key itself is shown once and never stored.
  api_key_hash  bytea NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id                uuid PRIMARY KEY,
  -- Newest-first listing and cursors follow this, not the clock.
  seq               bigserial NOT NULL UNIQUE,
  account_id        uuid NOT NULL REFERENCES gateway_accounts (id),
  client_order_id   text NOT NULL CHECK (client_order_id ~ '^[A-Za-z0-9._-]{1,64}$'),
  -- Fingerprint of the request body: the same id with another body is an idempotency conflict.
  request_hash      text NOT NULL,
  symbol            text NOT NULL,
  side              text NOT NULL CHECK (side IN ('buy', 'sell')),
  type              text NOT NULL CHECK (type IN ('market', 'limit')),
  quantity          numeric(24, 6) NOT NULL CHECK (quantity > 0),
  limit_price       numeric(24, 4) CHECK (limit_price > 0),
  -- The protection price sent with a market order, and the price the hold was computed at.
  worst_price       numeric(24, 4) NOT NULL CHECK (worst_price > 0),
  time_in_force     text NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc')),
  extended_hours    boolean NOT NULL,
  status            text NOT NULL CHECK (status IN ('pending_new', 'new', 'partially_filled', 'filled',
                      'pending_cancel', 'canceled', 'rejected', 'expired')),
  filled_quantity   numeric(24, 6) NOT NULL DEFAULT 0,
  filled_notional   numeric(36, 10) NOT NULL DEFAULT 0,
  commission        numeric(24, 2) NOT NULL DEFAULT 0,
  reject_reason     text,
  broker_order_id   text,
  machine_version   text NOT NULL,
  snapshot          jsonb NOT NULL,
  version           integer NOT NULL DEFAULT 0,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, client_order_id),
  CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
  CHECK ((type = 'limit') = (limit_price IS NOT NULL))
);
CREATE INDEX orders_by_account ON orders (account_id, seq DESC);
CREATE INDEX orders_open_by_account ON orders (account_id, seq DESC)
  WHERE status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel');

-- One row per execution applied: the primary key is what makes a duplicate report harmless.
CREATE TABLE order_fills (
  exec_id      text PRIMARY KEY,
  order_id     uuid NOT NULL REFERENCES orders (id),
  quantity     numeric(24, 6) NOT NULL CHECK (quantity > 0),
  price        numeric(24, 4) NOT NULL CHECK (price > 0),
  commission   numeric(24, 2) NOT NULL CHECK (commission >= 0),
  executed_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_fills_by_order ON order_fills (order_id, executed_at);

-- Every event offered to an order's machine that changed nothing, and every alarm: recorded, not lost.
CREATE TABLE order_anomalies (
  id           bigserial PRIMARY KEY,
  order_id     uuid,
  kind         text NOT NULL,
  detail       text NOT NULL,
  event        jsonb,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_anomalies_by_order ON order_anomalies (order_id);

-- Reports for orders we do not know (yet): kept and retried, never dropped.
CREATE TABLE parked_reports (
  exec_id      text PRIMARY KEY,
  order_id     text NOT NULL,
  report       jsonb NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  parked_at    timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: rows written with the change that caused them, relayed to the bus after commit.
CREATE TABLE outbox (
  id          bigserial PRIMARY KEY,
  topic       text NOT NULL,
  message_key text NOT NULL,
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- The request server's work: one row per order or cancel to send to the broker, with its own machine.
CREATE TABLE broker_submissions (
  order_id          uuid NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('submit', 'cancel')),
  account_id        uuid NOT NULL,
  request           jsonb NOT NULL,
  state             text NOT NULL,
  snapshot          jsonb NOT NULL,
  machine_version   text NOT NULL,
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  last_error        text,
  broker_order_id   text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, kind)
);
CREATE INDEX broker_submissions_due ON broker_submissions (next_attempt_at)
  WHERE state IN ('queued', 'unknown', 'sending');

-- Down Migration
DROP TABLE broker_submissions;
DROP TABLE outbox;
DROP TABLE parked_reports;
DROP TABLE order_anomalies;
DROP TABLE order_fills;
DROP TABLE orders;
DROP TABLE gateway_accounts;
