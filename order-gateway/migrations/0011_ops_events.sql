-- Up Migration

-- The operations side's event log: alarms (order anomalies other than ignored duplicates, refused or
-- malformed reports) and parked messages, numbered without gaps in commit order like an account's
-- events (one counter row, locked until the writer commits; alarms are rare enough for that).
-- Triggers write it, so that every path that records an anomaly or parks a message feeds the
-- stream, including those written by hand in SQL.
CREATE TABLE ops_event_counter (
  id        boolean PRIMARY KEY DEFAULT true CHECK (id),
  last_seq  bigint NOT NULL
);
INSERT INTO ops_event_counter (last_seq) VALUES (0);

CREATE TABLE ops_events (
  seq     bigint PRIMARY KEY CHECK (seq > 0),
  type    text NOT NULL CHECK (type IN ('alarm', 'parked')),
  at      timestamptz NOT NULL DEFAULT now(),
  body    jsonb NOT NULL
);

CREATE FUNCTION append_ops_event(event_type text, event_body jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  next_seq bigint;
BEGIN
  UPDATE ops_event_counter SET last_seq = last_seq + 1 RETURNING last_seq INTO next_seq;
  INSERT INTO ops_events (seq, type, body)
    VALUES (next_seq, event_type, event_body || jsonb_build_object('seq', next_seq, 'type', event_type));
  -- Delivered at commit, to every trading server listening: only a wake-up, the rows are the truth.
  PERFORM pg_notify('ops_events', next_seq::text);
END $$;

CREATE FUNCTION ops_event_of_anomaly() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind <> 'IGNORED' THEN
    PERFORM append_ops_event('alarm', jsonb_build_object(
      'at', NEW.recorded_at, 'kind', NEW.kind, 'orderId', NEW.order_id, 'execId', NEW.exec_id,
      'detail', NEW.detail, 'anomalyId', NEW.id::text));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER order_anomalies_to_ops_events AFTER INSERT ON order_anomalies
  FOR EACH ROW EXECUTE FUNCTION ops_event_of_anomaly();

CREATE FUNCTION ops_event_of_dead_letter() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM append_ops_event('parked', jsonb_build_object(
    'at', NEW.parked_at, 'kind', 'MESSAGE_PARKED', 'parkedId', NEW.id, 'consumer', NEW.consumer,
    'topic', NEW.topic, 'attempts', NEW.attempts, 'detail', left(NEW.error, 2000)));
  RETURN NULL;
END $$;
CREATE TRIGGER dead_letters_to_ops_events AFTER INSERT ON dead_letters
  FOR EACH ROW EXECUTE FUNCTION ops_event_of_dead_letter();

-- Down Migration
DROP TRIGGER dead_letters_to_ops_events ON dead_letters;
DROP TRIGGER order_anomalies_to_ops_events ON order_anomalies;
DROP FUNCTION ops_event_of_dead_letter();
DROP FUNCTION ops_event_of_anomaly();
DROP FUNCTION append_ops_event(text, jsonb);
DROP TABLE ops_events;
DROP TABLE ops_event_counter;
