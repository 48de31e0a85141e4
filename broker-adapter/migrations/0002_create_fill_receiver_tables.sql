-- Up Migration

-- Every sequence number the fill receiver has put on the bus, and the holes it has seen: a hole is a
-- report the broker created but has not delivered (late, reordered, or dropped). The reconciler
-- reads the open ones.
CREATE TABLE fill_receiver_received (
  sequence     bigint PRIMARY KEY CHECK (sequence > 0),
  exec_id      text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fill_receiver_gaps (
  sequence     bigint PRIMARY KEY CHECK (sequence > 0),
  detected_at  timestamptz NOT NULL DEFAULT now(),
  -- Set when the missing report arrives after all (a late or reordered one).
  filled_at    timestamptz
);
CREATE INDEX fill_receiver_gaps_open ON fill_receiver_gaps (sequence) WHERE filled_at IS NULL;

-- Down Migration
DROP TABLE fill_receiver_gaps;
DROP TABLE fill_receiver_received;
