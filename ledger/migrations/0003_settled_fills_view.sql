-- Up Migration

-- The fills the ledger has settled, with the account they settled on: what the benchmark and the
-- end-to-end checks read, instead of the ledger's tables.
CREATE VIEW ledger_settled_fills AS
  SELECT f.exec_id, f.hold_id, h.account_id, f.created_at
  FROM ledger_fills f JOIN ledger_holds h ON h.id = f.hold_id;

-- Down Migration
DROP VIEW ledger_settled_fills;
