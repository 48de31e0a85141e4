-- Up Migration

-- Customers and the firm's counter-accounts. Only customer accounts keep balance rows: the
-- counter-accounts take a posting in nearly every entry, so a balance row for them would be one
-- hot row that every transaction in the firm waits on; their balances are summed from postings.
CREATE TABLE ledger_accounts (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
  kind text NOT NULL CHECK (kind IN ('customer', 'omnibus', 'commission', 'external')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, kind)
);
CREATE UNIQUE INDEX ledger_accounts_one_of_each_counter ON ledger_accounts (kind) WHERE kind <> 'customer';
INSERT INTO ledger_accounts (id, kind) VALUES
  ('firm:omnibus', 'omnibus'),
  ('firm:commission', 'commission'),
  ('firm:external', 'external');

CREATE TABLE ledger_entries (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'hold', 'release', 'fill')),
  account_id text NOT NULL REFERENCES ledger_accounts (id),
  reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- A deposit or withdrawal reference names one movement of money: a second one is a mistake.
CREATE UNIQUE INDEX ledger_entries_money_reference ON ledger_entries (account_id, kind, reference)
  WHERE kind IN ('deposit', 'withdrawal');

-- Append-only. Each entry's postings sum to zero per asset (checked at commit, below).
CREATE TABLE ledger_postings (
  id bigserial PRIMARY KEY,
  entry_id uuid NOT NULL REFERENCES ledger_entries (id),
  account_id text NOT NULL REFERENCES ledger_accounts (id),
  asset text NOT NULL CHECK (asset ~ '^(USD|[A-Z][A-Z0-9.]{0,9})$'),
  bucket text NOT NULL CHECK (bucket IN ('available', 'held')),
  amount numeric(28, 6) NOT NULL CHECK (amount <> 0),
  CHECK (asset <> 'USD' OR amount = round(amount, 2))
);

-- Each INSERT into the journal must carry whole entries that sum to zero per asset. Checked once
-- per statement over its new rows: every statement balanced means every entry balanced, at the
-- cost of one scan of rows already in memory instead of a query per posting.
CREATE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unbalanced record;
BEGIN
  SELECT entry_id, asset INTO unbalanced FROM new_postings
   GROUP BY entry_id, asset HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger entry % does not balance in %', unbalanced.entry_id, unbalanced.asset
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_balanced();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger journal is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Customer balances per asset, derived from postings and kept for fast reads; version guards
-- against a writer that updates without holding the account's row lock.
CREATE TABLE ledger_balances (
  account_id text NOT NULL,
  account_kind text NOT NULL DEFAULT 'customer' CHECK (account_kind = 'customer'),
  asset text NOT NULL CHECK (asset ~ '^(USD|[A-Z][A-Z0-9.]{0,9})$'),
  available numeric(28, 6) NOT NULL,
  held numeric(28, 6) NOT NULL,
  total numeric(28, 6) NOT NULL,
  -- Memo for the position's average cost (notional paid, excluding commission); not a posting.
  cost_basis numeric(38, 10) NOT NULL DEFAULT 0 CHECK (cost_basis >= 0),
  version bigint NOT NULL CHECK (version >= 1),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, asset),
  FOREIGN KEY (account_id, account_kind) REFERENCES ledger_accounts (id, kind),
  CHECK (available >= 0 AND held >= 0 AND total = available + held)
);

-- An order's reservation; id = the order's id.
CREATE TABLE ledger_holds (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
  account_id text NOT NULL,
  account_kind text NOT NULL DEFAULT 'customer' CHECK (account_kind = 'customer'),
  side text NOT NULL CHECK (side IN ('buy', 'sell')),
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z][A-Z0-9.]{0,9}$'),
  asset text NOT NULL,
  order_quantity numeric(28, 6) NOT NULL CHECK (order_quantity > 0),
  worst_price numeric(20, 4) NOT NULL CHECK (worst_price > 0),
  original_amount numeric(28, 6) NOT NULL CHECK (original_amount >= 0),
  amount numeric(28, 6) NOT NULL CHECK (amount >= 0 AND amount <= original_amount),
  filled_quantity numeric(28, 6) NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0 AND filled_quantity <= order_quantity),
  gross numeric(38, 10) NOT NULL DEFAULT 0 CHECK (gross >= 0),
  notional numeric(28, 2) NOT NULL DEFAULT 0 CHECK (notional >= 0),
  commission numeric(28, 2) NOT NULL DEFAULT 0 CHECK (commission >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (account_id, account_kind) REFERENCES ledger_accounts (id, kind),
  CHECK ((side = 'buy' AND asset = 'USD') OR (side = 'sell' AND asset = symbol))
);
CREATE INDEX ledger_holds_account ON ledger_holds (account_id);

-- One row per execution: execId makes settlement idempotent.
CREATE TABLE ledger_fills (
  exec_id text PRIMARY KEY CHECK (length(exec_id) BETWEEN 1 AND 128),
  hold_id text NOT NULL REFERENCES ledger_holds (id),
  entry_id uuid NOT NULL UNIQUE REFERENCES ledger_entries (id),
  quantity numeric(28, 6) NOT NULL CHECK (quantity > 0),
  price numeric(20, 4) NOT NULL CHECK (price > 0),
  notional numeric(28, 2) NOT NULL CHECK (notional >= 0),
  commission numeric(28, 2) NOT NULL CHECK (commission >= 0),
  hold_released numeric(28, 6) NOT NULL CHECK (hold_released >= 0),
  at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_fills_hold ON ledger_fills (hold_id);

-- Down Migration
DROP TABLE ledger_fills;
DROP TABLE ledger_holds;
DROP TABLE ledger_balances;
DROP TABLE ledger_postings;
DROP TABLE ledger_entries;
DROP TABLE ledger_accounts;
DROP FUNCTION ledger_append_only();
DROP FUNCTION ledger_entries_balanced();
