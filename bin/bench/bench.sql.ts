/**
 * SQL of the end-to-end benchmark: its ceiling table, the generated history, and what it reads back.
 * It reads the components' published views only; the history is bulk-written into their tables,
 * as their own repositories would leave it (a million rows one call at a time would take hours).
 */

export const CREATE_BARE_INSERT_TABLE = `
  CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial PRIMARY KEY, payload text NOT NULL)`;

export const BARE_INSERT = `INSERT INTO bench_bare_insert (payload) VALUES ($1)`;

// History: $1 first number, $2 last number, $3 number of accounts the history is spread over.
// Every row is a finished order exactly as the live path leaves it (filled, acknowledged, settled),
// with deterministic ids (md5 of a label) so that the tables' keys and indexes grow as in real use.
// The journal's postings are left out (no index the hot path reads grows with them).
const historyOrderId = `md5('bench-order-' || g)::uuid`;
const historyAccountId = `md5('bench-account-' || (g % $3))::uuid`;

export const HISTORY_ACCOUNTS = `
  WITH accounts AS (
    SELECT md5('bench-account-' || a)::uuid AS id, a FROM generate_series(0, $1::int - 1) a
  ), gateway AS (
    INSERT INTO gateway_accounts (id, name)
    SELECT id, 'history ' || a FROM accounts
    ON CONFLICT DO NOTHING
  )
  INSERT INTO ledger_accounts (id, kind) SELECT id::text, 'customer' FROM accounts ON CONFLICT DO NOTHING`;

export const HISTORY_ORDERS = `
  INSERT INTO orders (id, account_id, client_order_id, request_hash, symbol, side, type, quantity, worst_price,
                      time_in_force, extended_hours, status, filled_quantity, filled_notional, commission,
                      broker_order_id, machine_version, snapshot, created_at, updated_at)
  SELECT ${historyOrderId}, ${historyAccountId}, 'history-' || g, md5('request-' || g),
         (ARRAY['AAPL','MSFT','NVDA','TSLA','AMZN','GOOGL','META'])[1 + g % 7], 'buy', 'market', 1, 200,
         'day', false, 'filled', 1, 187.5, 0.19, 'history-' || g, 'bench-history', '{}'::jsonb,
         now() - interval '1 day' - g * interval '1 second', now() - interval '1 day' - g * interval '1 second'
  FROM generate_series($1::bigint, $2::bigint) g`;

export const HISTORY_FILLS = `
  INSERT INTO order_fills (exec_id, order_id, quantity, price, commission, executed_at, recorded_at)
  SELECT 'history-' || g, ${historyOrderId}, 1, 187.5, 0.19,
         now() - interval '1 day' - g * interval '1 second', now() - interval '1 day' - g * interval '1 second'
  FROM generate_series($1::bigint, $2::bigint) g`;

export const HISTORY_SUBMISSIONS = `
  INSERT INTO broker_submissions (order_id, kind, account_id, request, state, snapshot, machine_version,
                                  attempts, next_attempt_at, broker_order_id, created_at, updated_at)
  SELECT ${historyOrderId}, 'submit', ${historyAccountId}, '{}'::jsonb, 'acknowledged', '{}'::jsonb,
         'bench-history', 1, now() - interval '1 day', 'history-' || g,
         now() - interval '1 day' - g * interval '1 second', now() - interval '1 day' - g * interval '1 second'
  FROM generate_series($1::bigint, $2::bigint) g`;

export const HISTORY_BROKER_ORDERS = `
  INSERT INTO broker_orders (broker_order_id, client_order_id, account, symbol, side, type, quantity,
                             time_in_force, extended_hours, status, cumulative_quantity, cumulative_notional,
                             request, trade_date, created_at, updated_at)
  SELECT 'history-' || g, (${historyOrderId})::text, (${historyAccountId})::text, 'AAPL', 'buy', 'market', 1,
         'day', false, 'filled', 1, 187.5, '{}'::jsonb, current_date - 1, now() - interval '1 day', now() - interval '1 day'
  FROM generate_series($1::bigint, $2::bigint) g`;

export const HISTORY_LEDGER = `
  WITH holds AS (
    INSERT INTO ledger_holds (id, account_id, side, symbol, asset, order_quantity, worst_price, original_amount,
                              amount, filled_quantity, gross, notional, commission)
    SELECT (${historyOrderId})::text, (${historyAccountId})::text, 'buy', 'AAPL', 'USD', 1, 200, 200.20, 0, 1,
           187.5, 187.5, 0.19
    FROM generate_series($1::bigint, $2::bigint) g
  ), entries AS (
    INSERT INTO ledger_entries (id, kind, account_id, reference)
    SELECT md5('bench-entry-' || g)::uuid, 'fill', (${historyAccountId})::text, 'history-' || g
    FROM generate_series($1::bigint, $2::bigint) g
  )
  INSERT INTO ledger_fills (exec_id, hold_id, entry_id, quantity, price, notional, commission, hold_released, at)
  SELECT 'history-' || g, (${historyOrderId})::text, md5('bench-entry-' || g)::uuid, 1, 187.5, 187.5, 0.19, 200.20,
         now() - interval '1 day'
  FROM generate_series($1::bigint, $2::bigint) g`;

export const COUNT_ORDERS = `SELECT count(*)::bigint AS n FROM order_gateway_order_states`;

// When each order of a phase passed each stage of its path, as epoch milliseconds. Every stamp is
// the now() of the transaction that wrote the row (its start), on the same machine's clock as the
// clients. 'acknowledged' is the submission's update to that state after the broker answered;
// 'filled' is its last order_fills row, written in the same transaction as the ledger's settlement.
export const PHASE_STAGES = `
  SELECT o.client_order_id,
         (extract(epoch FROM o.created_at) * 1000)::float8 AS committed,
         (SELECT extract(epoch FROM min(x.sent_at)) * 1000 FROM order_gateway_outbox_messages x
           WHERE x.topic = 'order-requests' AND x.order_id = o.id::text)::float8 AS relayed,
         (extract(epoch FROM s.created_at) * 1000)::float8 AS queued,
         (CASE WHEN s.state = 'acknowledged' THEN extract(epoch FROM s.updated_at) * 1000 END)::float8 AS acknowledged,
         (SELECT extract(epoch FROM min(e.created_at)) * 1000 FROM broker_adapter_simulated_trades e
           WHERE e.client_order_id = o.id::text)::float8 AS executed,
         (SELECT extract(epoch FROM min(r.received_at)) * 1000 FROM order_gateway_recorded_fills f
           JOIN broker_adapter_received_reports r ON r.exec_id = f.exec_id WHERE f.order_id = o.id)::float8 AS received,
         (SELECT extract(epoch FROM max(f.recorded_at)) * 1000 FROM order_gateway_recorded_fills f WHERE f.order_id = o.id)::float8 AS filled
  FROM order_gateway_order_states o
  LEFT JOIN order_gateway_broker_calls s ON s.order_id = o.id AND s.kind = 'submit'
  WHERE o.account_id = ANY($1::uuid[]) AND o.client_order_id LIKE $2`;

// Fills recorded in the order book, and settled in the ledger, inside a wall-clock window.
export const FILLS_IN_WINDOW = `
  SELECT
    (SELECT count(*) FROM order_gateway_recorded_fills f JOIN order_gateway_order_states o ON o.id = f.order_id
      WHERE o.account_id = ANY($1::uuid[]) AND f.recorded_at >= to_timestamp($2 / 1000.0) AND f.recorded_at < to_timestamp($3 / 1000.0))::int AS filled,
    (SELECT count(*) FROM ledger_settled_fills lf
      WHERE lf.account_id = ANY($4::text[]) AND lf.created_at >= to_timestamp($2 / 1000.0) AND lf.created_at < to_timestamp($3 / 1000.0))::int AS settled`;

export const UNFILLED_OF_PHASE = `
  SELECT count(*)::int AS n FROM order_gateway_order_states
  WHERE account_id = ANY($1::uuid[]) AND client_order_id LIKE $2 AND status <> 'filled'`;
