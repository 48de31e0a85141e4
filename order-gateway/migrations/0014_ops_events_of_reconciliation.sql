-- Up Migration

-- The operations stream also tells of each finished reconciliation run (written by the reconciler's
-- trigger through append_ops_event, so a run finished by any process reaches every listener).
ALTER TABLE ops_events DROP CONSTRAINT ops_events_type_check;
ALTER TABLE ops_events ADD CONSTRAINT ops_events_type_check CHECK (type IN ('alarm', 'parked', 'reconciliation'));

-- Down Migration
DELETE FROM ops_events WHERE type = 'reconciliation';
ALTER TABLE ops_events DROP CONSTRAINT ops_events_type_check;
ALTER TABLE ops_events ADD CONSTRAINT ops_events_type_check CHECK (type IN ('alarm', 'parked'));
