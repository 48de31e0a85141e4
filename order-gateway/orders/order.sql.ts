export const ORDER_COLUMNS = `
  id, seq, account_id, client_order_id, request_hash, symbol, side, type, quantity, limit_price, worst_price,
  time_in_force, extended_hours, status, filled_quantity, filled_notional, commission, reject_reason,
  broker_order_id, broker_accepted_at, machine_version, snapshot, version, created_at, updated_at, replaces,
  replaced_by, broker_id`;

/** A duplicate (account, clientOrderId) inserts nothing: the unique key settles races, not a read. */
export const INSERT_ORDER_IF_NEW = `
  INSERT INTO orders (id, account_id, client_order_id, request_hash, symbol, side, type, quantity, limit_price,
    worst_price, time_in_force, extended_hours, status, machine_version, snapshot)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
  ON CONFLICT (account_id, client_order_id) DO NOTHING
  RETURNING ${ORDER_COLUMNS}`;

/**
 * Several new orders in one statement (a group commit's placements), in the order given; a duplicate
 * (account, clientOrderId) inserts nothing, as one by one.
 */
export const INSERT_ORDERS_IF_NEW = `
  INSERT INTO orders (id, account_id, client_order_id, request_hash, symbol, side, type, quantity, limit_price,
    worst_price, time_in_force, extended_hours, status, machine_version, snapshot)
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::numeric[], $9::numeric[], $10::numeric[], $11::text[], $12::boolean[], $13::text[], $14::text[], $15::jsonb[])
  ON CONFLICT (account_id, client_order_id) DO NOTHING
  RETURNING ${ORDER_COLUMNS}`;

/** Orders a group commit's placement refused: they were inserted in its transaction, and nothing else refers to them. */
export const DELETE_REFUSED_ORDERS = `DELETE FROM orders WHERE id = ANY($1::uuid[]) AND status = 'pending_new'`;

/**
 * An order's fills as one JSON column of the order's own row: one statement reads the order and its
 * fills from one snapshot, so the body never shows a filledQuantity its fills do not add up to.
 * Decimals travel as text: a JSON number would come back as a float.
 */
export const FILLS_OF_ROW = `
  (SELECT COALESCE(json_agg(json_build_object('exec_id', f.exec_id, 'order_id', f.order_id, 'quantity', f.quantity::text,
            'price', f.price::text, 'commission', f.commission::text, 'executed_at', f.executed_at)
          ORDER BY f.executed_at, f.exec_id), '[]'::json)
   FROM order_fills f WHERE f.order_id = orders.id) AS fills`;

export const ORDER_BY_CLIENT_ORDER_ID = `
  SELECT ${ORDER_COLUMNS}, ${FILLS_OF_ROW} FROM orders WHERE account_id = $1 AND client_order_id = $2`;

export const ORDERS_BY_CLIENT_ORDER_IDS = `
  SELECT ${ORDER_COLUMNS}, ${FILLS_OF_ROW} FROM orders
  WHERE (account_id, client_order_id) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))`;

export const ORDER_OF_ACCOUNT = `
  SELECT ${ORDER_COLUMNS}, ${FILLS_OF_ROW} FROM orders WHERE id = $1 AND account_id = $2`;

export const LOCK_ORDER_OF_ACCOUNT = `
  SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 AND account_id = $2 FOR UPDATE`;

export const LOCK_ORDERS = `
  SELECT ${ORDER_COLUMNS} FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`;

export const UPDATE_ORDER_STATE = `
  UPDATE orders SET status = $3, filled_quantity = $4, filled_notional = $5, commission = commission + $6,
    reject_reason = $7, broker_order_id = $8, snapshot = $9, version = version + 1, updated_at = now(),
    broker_accepted_at = LEAST(broker_accepted_at, $10::timestamptz), replaced_by = COALESCE($11, replaced_by)
  WHERE id = $1 AND version = $2`;

/**
 * The order that carries on after a replace, linked to the one it replaces. Its clientOrderId was
 * free when the replace was asked; if the client used it since, the insert does nothing and the
 * caller falls back to the order id.
 */
export const INSERT_REPLACEMENT = `
  INSERT INTO orders (id, account_id, client_order_id, request_hash, symbol, side, type, quantity, limit_price,
    worst_price, time_in_force, extended_hours, status, machine_version, snapshot, broker_order_id,
    broker_accepted_at, replaces, broker_id)
  -- It lives at the broker that replaced the old order: the same broker, for life.
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
    (SELECT broker_id FROM orders WHERE id = $18))
  ON CONFLICT (account_id, client_order_id) DO NOTHING
  RETURNING ${ORDER_COLUMNS}`;

// The predicate of the orders_open_by_account index: queries that repeat it read only that index.
const OPEN_STATUSES = `status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel', 'pending_replace')`;

const STATUS_FILTER = {
  open: `AND ${OPEN_STATUSES}`,
  closed: `AND status IN ('filled', 'canceled', 'rejected', 'expired', 'replaced')`,
  all: '',
} as const;

export function listOrdersSql(status: keyof typeof STATUS_FILTER): string {
  return `
    SELECT ${ORDER_COLUMNS}, ${FILLS_OF_ROW} FROM orders
    WHERE account_id = $1 AND ($2::bigint IS NULL OR seq < $2) ${STATUS_FILTER[status]}
    ORDER BY seq DESC LIMIT $3`;
}

// Stops counting one past the cap: the answer is "over" or the exact number, never a full scan.
export const COUNT_OPEN_ORDERS = `
  SELECT count(*)::int AS open FROM (
    SELECT 1 FROM orders WHERE account_id = $1 AND ${OPEN_STATUSES} LIMIT $2
  ) open_orders`;

/** COUNT_OPEN_ORDERS for several accounts at once, each counted up to its own cap. */
export const COUNT_OPEN_ORDERS_OF_ACCOUNTS = `
  SELECT wanted.account_id::text, (
    SELECT count(*)::int FROM (
      SELECT 1 FROM orders WHERE account_id = wanted.account_id AND ${OPEN_STATUSES} LIMIT wanted.up_to
    ) open_orders) AS open
  FROM unnest($1::uuid[], $2::int[]) AS wanted(account_id, up_to)`;

export const FILLS_OF_ORDERS = `
  SELECT exec_id, order_id, quantity, price, commission, executed_at FROM order_fills
  WHERE order_id = ANY($1::uuid[]) ORDER BY executed_at, exec_id`;

export const INSERT_FILLS = `
  INSERT INTO order_fills (exec_id, order_id, quantity, price, commission, executed_at)
  SELECT * FROM unnest($1::text[], $2::uuid[], $3::numeric[], $4::numeric[], $5::numeric[], $6::timestamptz[])
  ON CONFLICT (exec_id) DO NOTHING`;

// A fill outside its order's terms is recorded once, however often its report is delivered.
export const INSERT_ANOMALIES = `
  INSERT INTO order_anomalies (order_id, kind, detail, event, exec_id)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[])
  ON CONFLICT (exec_id) WHERE kind = 'FILL_OUTSIDE_TERMS' DO NOTHING`;
