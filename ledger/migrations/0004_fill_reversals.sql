-- Up Migration

-- A broker's bust (trade cancel) or correct takes a settled fill back. History is never edited: the
-- fill stays in ledger_fills, and a new journal entry of kind 'reversal' posts the opposite of what
-- the fill moved; this table names that entry and what it took back from the order's hold progress.
-- A correction is a reversal followed by an ordinary fill under the correction's execId.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
  CHECK (kind IN ('deposit', 'withdrawal', 'hold', 'release', 'fill', 'reversal'));

CREATE TABLE ledger_fill_reversals (
  -- The bust's or correct's own execId: a redelivered report finds its row and changes nothing.
  exec_id text PRIMARY KEY CHECK (length(exec_id) BETWEEN 1 AND 128),
  -- A fill is taken back at most once.
  reversed_exec_id text NOT NULL UNIQUE REFERENCES ledger_fills (exec_id),
  hold_id text NOT NULL REFERENCES ledger_holds (id),
  entry_id uuid NOT NULL UNIQUE REFERENCES ledger_entries (id),
  quantity numeric(28, 6) NOT NULL CHECK (quantity > 0),
  gross numeric(38, 10) NOT NULL CHECK (gross >= 0),
  notional numeric(28, 2) NOT NULL,
  commission numeric(28, 2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_fill_reversals_hold ON ledger_fill_reversals (hold_id);

-- A bust of shares the customer has already sold (or of a sale whose cash is spent) leaves a negative
-- balance. It is never hidden nor netted: it is allowed only with one of these rows, written in the
-- same transaction as the reversal, which operators see as an alarm until the balance is made good.
CREATE TABLE ledger_flagged_balances (
  id bigserial PRIMARY KEY,
  account_id text NOT NULL,
  asset text NOT NULL,
  -- The reversal that made it negative, and the balance it left.
  exec_id text NOT NULL REFERENCES ledger_fill_reversals (exec_id),
  available numeric(28, 6) NOT NULL CHECK (available < 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (exec_id, asset)
);
CREATE INDEX ledger_flagged_balances_account ON ledger_flagged_balances (account_id, asset);

-- `available` may go below zero only for a flagged account and asset; held and the total rule stay.
ALTER TABLE ledger_balances DROP CONSTRAINT ledger_balances_check;
ALTER TABLE ledger_balances ADD CONSTRAINT ledger_balances_check CHECK (held >= 0 AND total = available + held);

CREATE FUNCTION ledger_negative_balance_flagged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Checked at commit against the row as it is then: a balance made good meanwhile passes.
  IF EXISTS (SELECT 1 FROM ledger_balances b WHERE b.account_id = NEW.account_id AND b.asset = NEW.asset
               AND b.available < 0)
     AND NOT EXISTS (SELECT 1 FROM ledger_flagged_balances f
                      WHERE f.account_id = NEW.account_id AND f.asset = NEW.asset) THEN
    RAISE EXCEPTION 'negative balance of % % without a flagged bust', NEW.account_id, NEW.asset
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
-- WHEN keeps the ordinary path free: the function runs only for a row written negative.
CREATE CONSTRAINT TRIGGER ledger_balances_negative_flagged AFTER INSERT OR UPDATE ON ledger_balances
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.available < 0)
  EXECUTE FUNCTION ledger_negative_balance_flagged();

-- Down Migration
DROP TRIGGER ledger_balances_negative_flagged ON ledger_balances;
DROP FUNCTION ledger_negative_balance_flagged();
ALTER TABLE ledger_balances DROP CONSTRAINT ledger_balances_check;
ALTER TABLE ledger_balances ADD CONSTRAINT ledger_balances_check
  CHECK (available >= 0 AND held >= 0 AND total = available + held);
DROP TABLE ledger_flagged_balances;
DROP TABLE ledger_fill_reversals;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
  CHECK (kind IN ('deposit', 'withdrawal', 'hold', 'release', 'fill'));
