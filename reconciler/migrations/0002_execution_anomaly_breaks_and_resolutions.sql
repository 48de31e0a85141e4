-- Up Migration

-- A fill the order gateway refused because it broke its order's terms is a break of its own kind,
-- open until an operator resolves it.
ALTER TABLE reconciliation_breaks DROP CONSTRAINT reconciliation_breaks_kind_check;
ALTER TABLE reconciliation_breaks ADD CONSTRAINT reconciliation_breaks_kind_check CHECK (kind IN ('MISSING_EXECUTION',
  'UNKNOWN_EXECUTION', 'EXECUTION_MISMATCH', 'ORDER_STATUS_MISMATCH', 'POSITION_MISMATCH', 'CASH_MISMATCH',
  'EXECUTION_ANOMALY'));

-- An operator's decision on a break: who, when, and the note (also written into `resolution`).
ALTER TABLE reconciliation_breaks ADD COLUMN resolved_at timestamptz;
ALTER TABLE reconciliation_breaks ADD COLUMN resolved_by text;
ALTER TABLE reconciliation_breaks ADD COLUMN note text;

-- A later run skips an anomaly already decided: looked up by its execId.
CREATE INDEX reconciliation_breaks_decided_anomalies ON reconciliation_breaks (exec_id)
  WHERE kind = 'EXECUTION_ANOMALY' AND resolved_at IS NOT NULL;

-- Down Migration
DROP INDEX reconciliation_breaks_decided_anomalies;
ALTER TABLE reconciliation_breaks DROP COLUMN note;
ALTER TABLE reconciliation_breaks DROP COLUMN resolved_by;
ALTER TABLE reconciliation_breaks DROP COLUMN resolved_at;
DELETE FROM reconciliation_breaks WHERE kind = 'EXECUTION_ANOMALY';
ALTER TABLE reconciliation_breaks DROP CONSTRAINT reconciliation_breaks_kind_check;
ALTER TABLE reconciliation_breaks ADD CONSTRAINT reconciliation_breaks_kind_check CHECK (kind IN ('MISSING_EXECUTION',
  'UNKNOWN_EXECUTION', 'EXECUTION_MISMATCH', 'ORDER_STATUS_MISMATCH', 'POSITION_MISMATCH', 'CASH_MISMATCH'));
