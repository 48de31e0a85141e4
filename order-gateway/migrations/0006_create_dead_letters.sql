-- Up Migration

-- Messages a consumer could not handle for a reason other than the domain's own refusals (a write
-- that fails, a bug), after a bounded number of attempts: set aside so that their partition moves
-- on, until an operator replays them after a fix. Kept apart from parked_reports, which holds
-- reports of orders not known yet and is retried by itself every second: these wait for a person,
-- come from any consumer (reports, order requests), and keep the message exactly as it arrived,
-- as bytes, since what broke it may not even be storable as jsonb or text (a \u0000 inside).
CREATE TABLE dead_letters (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  consumer        text NOT NULL,
  topic           text NOT NULL,
  topic_partition integer NOT NULL,
  message_offset  text NOT NULL,
  message_key     bytea NOT NULL,
  message_value   bytea NOT NULL,
  headers         bytea NOT NULL,
  error           text NOT NULL,
  attempts        integer NOT NULL,
  parked_at       timestamptz NOT NULL DEFAULT now(),
  replayed_at     timestamptz,
  replayed_by     text,
  -- A message parked twice (its batch redelivered to another member meanwhile) is one dead letter.
  UNIQUE (consumer, topic, topic_partition, message_offset)
);
CREATE INDEX dead_letters_waiting ON dead_letters (parked_at) WHERE replayed_at IS NULL;

-- Down Migration
DROP TABLE dead_letters;
