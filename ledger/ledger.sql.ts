/** The ledger's SQL, kept apart from the code that runs it. Arrays travel as unnest() parameters so a batch is one statement per table. */

export const insertAccount = `
INSERT INTO ledger_accounts (id, kind) VALUES ($1, 'customer') ON CONFLICT (id) DO NOTHING`;

// ORDER BY under FOR UPDATE locks in id order: two batches over the same accounts cannot deadlock.
export const lockAccounts = `
SELECT id, kind FROM ledger_accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

export const selectAccount = `SELECT id, kind FROM ledger_accounts WHERE id = $1`;

export const selectBalances = `
SELECT account_id, asset, available, held, cost_basis, version
  FROM ledger_balances WHERE account_id = ANY($1::text[])`;

export const updateBalances = `
UPDATE ledger_balances b
   SET available = u.available, held = u.held, total = u.available + u.held,
       cost_basis = u.cost_basis, version = b.version + 1, updated_at = now()
  FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[], $6::bigint[])
       AS u(account_id, asset, available, held, cost_basis, version)
 WHERE b.account_id = u.account_id AND b.asset = u.asset AND b.version = u.version`;

export const insertBalances = `
INSERT INTO ledger_balances (account_id, asset, available, held, total, cost_basis, version)
SELECT account_id, asset, available, held, available + held, cost_basis, 1
  FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[])
       AS u(account_id, asset, available, held, cost_basis)
    ON CONFLICT (account_id, asset) DO NOTHING`;

export const selectMoneyReference = `
SELECT 1 FROM ledger_entries WHERE account_id = $1 AND kind = $2 AND reference = $3`;

export const insertEntries = `
INSERT INTO ledger_entries (id, kind, account_id, reference)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])`;

export const insertPostings = `
INSERT INTO ledger_postings (entry_id, account_id, asset, bucket, amount)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::numeric[])`;

const holdColumns = `
id, account_id, side, symbol, asset, order_quantity, worst_price, original_amount, amount,
filled_quantity, gross, notional, commission`;

export const selectHolds = `SELECT ${holdColumns} FROM ledger_holds WHERE id = ANY($1::text[])`;

export const insertHolds = `
INSERT INTO ledger_holds (${holdColumns})
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[],
                     $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[])`;

export const updateHolds = `
UPDATE ledger_holds h
   SET amount = u.amount, filled_quantity = u.filled_quantity, gross = u.gross,
       notional = u.notional, commission = u.commission, updated_at = now()
  FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[])
       AS u(id, amount, filled_quantity, gross, notional, commission)
 WHERE h.id = u.id`;

export const selectFills = `
SELECT exec_id, notional, commission, hold_released FROM ledger_fills WHERE exec_id = ANY($1::text[])`;

export const insertFills = `
INSERT INTO ledger_fills (exec_id, hold_id, entry_id, quantity, price, notional, commission, hold_released, at)
SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::numeric[], $5::numeric[], $6::numeric[],
                     $7::numeric[], $8::numeric[], $9::timestamptz[])`;

export const selectCustomerTotals = `
SELECT asset, sum(total) AS total, sum(available) AS available, sum(held) AS held
  FROM ledger_balances GROUP BY asset ORDER BY asset`;

export const selectCounterBalances = `
SELECT a.kind, p.asset, sum(p.amount) AS amount
  FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
 WHERE a.kind <> 'customer'
 GROUP BY a.kind, p.asset ORDER BY a.kind, p.asset`;

// ---- invariants: each query returns the rows that break one rule ----

export const unbalancedEntries = `
SELECT entry_id::text, asset, sum(amount)::text AS sum
  FROM ledger_postings GROUP BY entry_id, asset HAVING sum(amount) <> 0 ORDER BY entry_id LIMIT 100`;

export const unbalancedJournal = `
SELECT asset, sum(amount)::text AS sum FROM ledger_postings GROUP BY asset HAVING sum(amount) <> 0`;

export const balancesNotPosted = `
WITH posted AS (
  SELECT p.account_id, p.asset,
         coalesce(sum(p.amount) FILTER (WHERE p.bucket = 'available'), 0) AS available,
         coalesce(sum(p.amount) FILTER (WHERE p.bucket = 'held'), 0) AS held
    FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id AND a.kind = 'customer'
   GROUP BY p.account_id, p.asset)
SELECT coalesce(b.account_id, p.account_id) AS account_id, coalesce(b.asset, p.asset) AS asset,
       b.available::text AS row_available, b.held::text AS row_held,
       p.available::text AS posted_available, p.held::text AS posted_held
  FROM ledger_balances b FULL JOIN posted p ON p.account_id = b.account_id AND p.asset = b.asset
 WHERE coalesce(b.available, 0) <> coalesce(p.available, 0) OR coalesce(b.held, 0) <> coalesce(p.held, 0)
 LIMIT 100`;

export const badTotals = `
SELECT account_id, asset, total::text, available::text, held::text
  FROM ledger_balances WHERE total <> available + held LIMIT 100`;

export const negativeBalances = `
SELECT account_id, asset, total::text, available::text, held::text
  FROM ledger_balances WHERE available < 0 OR held < 0 OR total < 0 LIMIT 100`;

export const heldNotInHolds = `
WITH holds AS (SELECT account_id, asset, sum(amount) AS held FROM ledger_holds GROUP BY account_id, asset)
SELECT coalesce(b.account_id, h.account_id) AS account_id, coalesce(b.asset, h.asset) AS asset,
       b.held::text AS row_held, h.held::text AS holds_held
  FROM ledger_balances b FULL JOIN holds h ON h.account_id = b.account_id AND h.asset = b.asset
 WHERE coalesce(b.held, 0) <> coalesce(h.held, 0)
 LIMIT 100`;

export const holdsNotFilled = `
WITH fills AS (
  SELECT hold_id, sum(quantity) AS quantity, sum(quantity * price) AS gross,
         sum(notional) AS notional, sum(commission) AS commission
    FROM ledger_fills GROUP BY hold_id)
SELECT h.id, h.amount::text, h.order_quantity::text, h.filled_quantity::text,
       f.quantity::text AS fills_quantity, h.notional::text, f.notional::text AS fills_notional,
       h.commission::text, f.commission::text AS fills_commission
  FROM ledger_holds h LEFT JOIN fills f ON f.hold_id = h.id
 WHERE h.amount < 0 OR h.filled_quantity > h.order_quantity
    OR h.filled_quantity <> coalesce(f.quantity, 0) OR h.gross <> coalesce(f.gross, 0)
    OR h.notional <> coalesce(f.notional, 0) OR h.commission <> coalesce(f.commission, 0)
 LIMIT 100`;
