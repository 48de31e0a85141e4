-- Up Migration

-- Each account's last event number. Taking the next numbers updates this row, and the row stays
-- locked until the writing transaction ends: an account's events are numbered in commit order and
-- without gaps, so a reader that has seen number N has seen every event before it, and resuming
-- "after N" can never skip one that commits late.
CREATE TABLE account_event_counters (
  account_id  uuid PRIMARY KEY,
  last_seq    bigint NOT NULL CHECK (last_seq > 0)
);

-- What a client of the account should see, written in the transaction of the change it describes.
-- `body` is the event as the API sends it (docs/api.md, "Events").
CREATE TABLE account_events (
  account_id  uuid NOT NULL,
  seq         bigint NOT NULL CHECK (seq > 0),
  type        text NOT NULL,
  order_id    uuid,
  at          timestamptz NOT NULL DEFAULT now(),
  body        jsonb NOT NULL,
  PRIMARY KEY (account_id, seq)
);
CREATE INDEX account_events_by_order ON account_events (order_id, seq);

-- Down Migration
DROP TABLE account_events;
DROP TABLE account_event_counters;
