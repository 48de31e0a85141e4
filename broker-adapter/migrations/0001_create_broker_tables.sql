-- Up Migration

-- The simulated broker's own books: it shares nothing with the ledger or the order gateway.
CREATE TABLE broker_orders (
  broker_order_id      text PRIMARY KEY,
  -- Arrival order, to list orders that arrive within one simulated instant.
  entry                bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  client_order_id      text NOT NULL UNIQUE,
  account              text NOT NULL,
  symbol               text NOT NULL,
  side                 text NOT NULL CHECK (side IN ('buy', 'sell')),
  type                 text NOT NULL CHECK (type IN ('market', 'limit')),
  quantity             numeric NOT NULL CHECK (quantity > 0),
  limit_price          numeric CHECK (limit_price > 0),
  collar_price         numeric CHECK (collar_price > 0),
  time_in_force        text NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc')),
  extended_hours       boolean NOT NULL,
  status               text NOT NULL CHECK (status IN
                         ('new', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'rejected', 'expired')),
  cumulative_quantity  numeric NOT NULL DEFAULT 0 CHECK (cumulative_quantity >= 0 AND cumulative_quantity <= quantity),
  cumulative_notional  numeric NOT NULL DEFAULT 0 CHECK (cumulative_notional >= 0),
  cancel_requested     boolean NOT NULL DEFAULT false,
  fills_in_parts       boolean NOT NULL DEFAULT false,
  reject_reason        text,
  expires_at           timestamptz,
  report_count         integer NOT NULL DEFAULT 0,
  -- The request as first received: a resubmission must match it.
  request              jsonb NOT NULL,
  trade_date           date NOT NULL,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  CHECK (status <> 'filled' OR cumulative_quantity = quantity),
  CHECK ((type = 'limit') = (limit_price IS NOT NULL))
);
CREATE INDEX broker_orders_open ON broker_orders (entry)
  WHERE status IN ('new', 'partially_filled', 'pending_cancel');
CREATE INDEX broker_orders_trade_date ON broker_orders (trade_date);

-- One counter for the whole broker, taken inside the transaction that creates the report, so
-- sequence numbers have no holes (a rolled back sequence would leave one and fake a gap).
CREATE TABLE broker_sequence (
  id        boolean PRIMARY KEY DEFAULT true CHECK (id),
  last      bigint NOT NULL
);
INSERT INTO broker_sequence (id, last) VALUES (true, 0);

CREATE TABLE broker_executions (
  sequence         bigint PRIMARY KEY CHECK (sequence > 0),
  exec_id          text NOT NULL UNIQUE,
  broker_order_id  text NOT NULL REFERENCES broker_orders (broker_order_id),
  exec_type        text NOT NULL,
  trade_date       date NOT NULL,
  last_quantity    numeric NOT NULL CHECK (last_quantity >= 0),
  last_price       numeric NOT NULL CHECK (last_price >= 0),
  side             text NOT NULL CHECK (side IN ('buy', 'sell')),
  symbol           text NOT NULL,
  -- The report exactly as pushed (or as it would have been, when dropped).
  report           jsonb NOT NULL,
  dropped          boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL
);
CREATE INDEX broker_executions_trade_date ON broker_executions (trade_date) WHERE exec_type = 'trade';
CREATE INDEX broker_executions_order ON broker_executions (broker_order_id);

-- What the pusher still owes the fill receiver; a duplicate fault makes two rows for one report.
CREATE TABLE broker_deliveries (
  id          bigserial PRIMARY KEY,
  sequence    bigint NOT NULL REFERENCES broker_executions (sequence),
  due_at      timestamptz NOT NULL,
  attempts    integer NOT NULL DEFAULT 0,
  last_error  text,
  delivered_at timestamptz
);
CREATE INDEX broker_deliveries_pending ON broker_deliveries (due_at, id) WHERE delivered_at IS NULL;

-- Down Migration
DROP TABLE broker_deliveries;
DROP TABLE broker_executions;
DROP TABLE broker_sequence;
DROP TABLE broker_orders;
