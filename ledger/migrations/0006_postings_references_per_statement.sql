-- Up Migration

-- A posting's entry and account were checked by two row-level foreign keys: six postings a fill make
-- twelve lookups, each locking the row it finds FOR KEY SHARE. The firm's counter-accounts are in
-- nearly every entry, so concurrent batches kept sharing those two rows' locks (multixacts): measured,
-- about half of a batch's time in the database. The same rule is now checked once per statement over
-- its new postings, beside the balance check; no lock is needed because what a posting names can never
-- go away: entries are append-only (0001) and accounts are never deleted or renamed (below).
ALTER TABLE ledger_postings
  DROP CONSTRAINT ledger_postings_entry_id_fkey,
  DROP CONSTRAINT ledger_postings_account_id_fkey;

CREATE OR REPLACE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unbalanced record;
  dangling text;
BEGIN
  SELECT entry_id, asset INTO unbalanced FROM new_postings
   GROUP BY entry_id, asset HAVING sum(amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger entry % does not balance in %', unbalanced.entry_id, unbalanced.asset
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT p.entry_id INTO dangling FROM (SELECT DISTINCT entry_id FROM new_postings) p
   WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.id = p.entry_id) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'a posting names entry %, which does not exist', dangling
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  SELECT p.account_id INTO dangling FROM (SELECT DISTINCT account_id FROM new_postings) p
   WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = p.account_id) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'a posting names account %, which does not exist', dangling
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;

-- The journal names accounts forever: one that postings name can never disappear or change its id.
CREATE FUNCTION ledger_accounts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger accounts are never deleted or renamed' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER ledger_accounts_kept BEFORE DELETE OR UPDATE OF id ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_kept();
CREATE TRIGGER ledger_accounts_kept_truncate BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_kept();

-- Down Migration
DROP TRIGGER ledger_accounts_kept_truncate ON ledger_accounts;
DROP TRIGGER ledger_accounts_kept ON ledger_accounts;
DROP FUNCTION ledger_accounts_kept();
CREATE OR REPLACE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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
ALTER TABLE ledger_postings
  ADD CONSTRAINT ledger_postings_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES ledger_entries (id),
  ADD CONSTRAINT ledger_postings_account_id_fkey FOREIGN KEY (account_id) REFERENCES ledger_accounts (id);
