/** The ledger's SQL, kept apart from the code that runs it. Arrays travel as unnest() parameters so a batch is one statement per table. */

export const insertAccount = `
INSERT INTO ledger_accounts (id, kind) VALUES ($1, 'customer') ON CONFLICT (id) DO NOTHING`;

// ORDER BY under FOR UPDATE locks in id order: two batches over the same accounts cannot deadlock.
// The accounts are named directly, or as the owners of holds.
export const lockAccounts = `
SELECT id, kind FROM ledger_accounts
 WHERE id IN (SELECT unnest($1::text[]) UNION SELECT account_id FROM ledger_holds WHERE id = ANY($2::text[]))
 ORDER BY id FOR UPDATE`;

// Everything an operation reads after its locks, in one round trip; numbers travel as text.
export const loadBooks = `
SELECT
  (SELECT coalesce(json_agg(json_build_object(
            'account_id', account_id, 'asset', asset, 'available', available::text, 'held', held::text,
            'cost_basis', cost_basis::text, 'version', version::text)), '[]')
     FROM ledger_balances WHERE account_id = ANY($1::text[])) AS balances,
  (SELECT coalesce(json_agg(json_build_object(
            'id', id, 'account_id', account_id, 'side', side, 'symbol', symbol, 'asset', asset,
            'order_quantity', order_quantity::text, 'worst_price', worst_price::text,
            'original_amount', original_amount::text, 'amount', amount::text,
            'filled_quantity', filled_quantity::text, 'gross', gross::text, 'notional', notional::text,
            'commission', commission::text)), '[]')
     FROM ledger_holds WHERE id = ANY($2::text[])) AS holds,
  (SELECT coalesce(json_agg(json_build_object(
            'exec_id', exec_id, 'notional', notional::text, 'commission', commission::text,
            'hold_released', hold_released::text)), '[]')
     FROM ledger_fills WHERE exec_id = ANY($3::text[])) AS fills`;

// Every write of one operation or batch in one statement. Foreign keys between its parts hold
// because they are checked at the end of the statement; the counts let the caller check versions.
export const writeBooks = `
WITH entries AS (
  INSERT INTO ledger_entries (id, kind, account_id, reference)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
), postings AS (
  INSERT INTO ledger_postings (entry_id, account_id, asset, bucket, amount)
  SELECT * FROM unnest($5::uuid[], $6::text[], $7::text[], $8::text[], $9::numeric[])
), updated AS (
  UPDATE ledger_balances b
     SET available = u.available, held = u.held, total = u.available + u.held,
         cost_basis = u.cost_basis, version = b.version + 1, updated_at = now()
    FROM unnest($10::text[], $11::text[], $12::numeric[], $13::numeric[], $14::numeric[], $15::bigint[])
         AS u(account_id, asset, available, held, cost_basis, version)
   WHERE b.account_id = u.account_id AND b.asset = u.asset AND b.version = u.version
  RETURNING 1
), inserted AS (
  INSERT INTO ledger_balances (account_id, asset, available, held, total, cost_basis, version)
  SELECT account_id, asset, available, held, available + held, cost_basis, 1
    FROM unnest($16::text[], $17::text[], $18::numeric[], $19::numeric[], $20::numeric[])
         AS u(account_id, asset, available, held, cost_basis)
      ON CONFLICT (account_id, asset) DO NOTHING
  RETURNING 1
), new_holds AS (
  INSERT INTO ledger_holds (id, account_id, side, symbol, asset, order_quantity, worst_price, original_amount, amount,
                            filled_quantity, gross, notional, commission)
  SELECT * FROM unnest($21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::numeric[], $27::numeric[],
                       $28::numeric[], $29::numeric[], $30::numeric[], $31::numeric[], $32::numeric[], $33::numeric[])
), changed_holds AS (
  UPDATE ledger_holds h
     SET amount = u.amount, filled_quantity = u.filled_quantity, gross = u.gross,
         notional = u.notional, commission = u.commission, updated_at = now()
    FROM unnest($34::text[], $35::numeric[], $36::numeric[], $37::numeric[], $38::numeric[], $39::numeric[])
         AS u(id, amount, filled_quantity, gross, notional, commission)
   WHERE h.id = u.id
), fills AS (
  INSERT INTO ledger_fills (exec_id, hold_id, entry_id, quantity, price, notional, commission, hold_released, at)
  SELECT * FROM unnest($40::text[], $41::text[], $42::uuid[], $43::numeric[], $44::numeric[], $45::numeric[],
                       $46::numeric[], $47::numeric[], $48::timestamptz[])
)
SELECT (SELECT count(*) FROM updated)::int AS updated, (SELECT count(*) FROM inserted)::int AS inserted`;

export const selectAccount = `SELECT id, kind FROM ledger_accounts WHERE id = $1`;

// Accounts with every balance of theirs, in one round trip (the event log reads them on every change).
export const selectAccountsWithBalances = `
SELECT a.id, a.kind,
       (SELECT coalesce(json_agg(json_build_object(
                 'account_id', b.account_id, 'asset', b.asset, 'available', b.available::text,
                 'held', b.held::text, 'cost_basis', b.cost_basis::text, 'version', b.version::text)), '[]')
          FROM ledger_balances b WHERE b.account_id = a.id) AS balances
  FROM ledger_accounts a WHERE a.id = ANY($1::text[])`;

export const selectBalances = `
SELECT account_id, asset, available, held, cost_basis, version
  FROM ledger_balances WHERE account_id = ANY($1::text[])`;

export const selectMoneyReference = `
SELECT 1 FROM ledger_entries WHERE account_id = $1 AND kind = $2 AND reference = $3`;

export const selectHolds = `
SELECT id, account_id, side, symbol, asset, order_quantity, worst_price, original_amount, amount,
       filled_quantity, gross, notional, commission
  FROM ledger_holds WHERE id = ANY($1::text[])`;

export const selectCustomerTotals = `
SELECT asset, sum(total) AS total, sum(available) AS available, sum(held) AS held
  FROM ledger_balances GROUP BY asset ORDER BY asset`;

export const selectCounterBalances = `
SELECT a.kind, p.asset, sum(p.amount) AS amount
  FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
 WHERE a.kind <> 'customer'
 GROUP BY a.kind, p.asset ORDER BY a.kind, p.asset`;

/**
 * The entries of an order's hold, release and fills with their postings, for the ops timeline. The
 * fills come through ledger_fills (keyed by execId); hold and release entries by their reference.
 */
export const selectJournalOf = `
SELECT e.id, e.kind, e.reference, e.created_at, p.account_id, p.asset, p.bucket, p.amount::text AS amount
  FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id
 WHERE (e.reference = $1 AND e.kind IN ('hold', 'release'))
    OR e.id IN (SELECT entry_id FROM ledger_fills WHERE exec_id = ANY($2::text[]))
 ORDER BY e.created_at, e.id, p.id`;

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
