-- Up Migration

-- The broker each order was routed to, for life: its cancels, replaces, inquiries and open-order
-- checks go there, and only that broker's reports are applied to it. Null until the request server
-- sends it (an order waiting for its session, or for a broker, is not bound yet).
ALTER TABLE orders ADD COLUMN broker_id text;

-- Each broker's standing as the request servers see it and ops set it: the drain is an operator's
-- decision and must survive a restart; the health is the last state a request server computed.
CREATE TABLE brokers (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,31}$'),
  drained       boolean NOT NULL DEFAULT false,
  drained_by    text,
  drained_at    timestamptz,
  state         text NOT NULL DEFAULT 'healthy' CHECK (state IN ('healthy', 'degraded', 'down')),
  calls         integer NOT NULL DEFAULT 0,
  failures      integer NOT NULL DEFAULT 0,
  median_latency_ms integer,
  state_since   timestamptz NOT NULL DEFAULT now(),
  observed_at   timestamptz
);

-- Down Migration
DROP TABLE brokers;
ALTER TABLE orders DROP COLUMN broker_id;
