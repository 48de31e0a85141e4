/** The broker's SQL, kept apart from the code that runs it. */

const ORDER_COLUMNS = `broker_order_id, client_order_id, account, symbol, side, type, quantity, limit_price,
  collar_price, time_in_force, extended_hours, status, cumulative_quantity, cumulative_notional,
  cancel_requested, fills_in_parts, reject_reason, expires_at, report_count, request, trade_date,
  created_at, updated_at`;

export const INSERT_ORDER = `
  INSERT INTO broker_orders (broker_order_id, client_order_id, account, symbol, side, type, quantity,
    limit_price, collar_price, time_in_force, extended_hours, status, fills_in_parts, expires_at,
    request, trade_date, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', $12, $13, $14, $15, $16, $16)
  ON CONFLICT (client_order_id) DO NOTHING
  RETURNING ${ORDER_COLUMNS}`;

export const SELECT_ORDER_BY_CLIENT_ID = `SELECT ${ORDER_COLUMNS} FROM broker_orders WHERE client_order_id = $1`;
export const SELECT_ORDER = `SELECT ${ORDER_COLUMNS} FROM broker_orders WHERE broker_order_id = $1`;
export const LOCK_ORDER = `SELECT ${ORDER_COLUMNS} FROM broker_orders WHERE broker_order_id = $1 FOR UPDATE`;

export const SELECT_OPEN_ORDER_IDS = `
  SELECT broker_order_id FROM broker_orders
  WHERE status IN ('new', 'partially_filled', 'pending_cancel')
  ORDER BY entry`;

export const UPDATE_ORDER = `
  UPDATE broker_orders
  SET status = $2, cumulative_quantity = $3, cumulative_notional = $4, cancel_requested = $5,
      reject_reason = COALESCE($6, reject_reason), report_count = $7, updated_at = $8
  WHERE broker_order_id = $1`;

export const NEXT_SEQUENCE = `UPDATE broker_sequence SET last = last + $1 WHERE id RETURNING last`;

export const INSERT_EXECUTION = `
  INSERT INTO broker_executions (sequence, exec_id, broker_order_id, exec_type, trade_date, last_quantity,
    last_price, side, symbol, report, dropped, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

export const INSERT_DELIVERY = `INSERT INTO broker_deliveries (sequence, due_at) VALUES ($1, $2)`;

export const SELECT_DUE_DELIVERIES = `
  SELECT d.id, d.attempts, e.report
  FROM broker_deliveries d JOIN broker_executions e USING (sequence)
  WHERE d.delivered_at IS NULL AND d.due_at <= $1
  ORDER BY d.due_at, d.id
  LIMIT $2`;

export const MARK_DELIVERED = `UPDATE broker_deliveries SET delivered_at = now(), attempts = attempts + 1 WHERE id = $1`;

export const MARK_FAILED = `
  UPDATE broker_deliveries SET attempts = attempts + 1, last_error = $2 WHERE id = $1`;

export const COUNT_PENDING_DELIVERIES = `SELECT count(*)::int AS pending FROM broker_deliveries WHERE delivered_at IS NULL`;

export const STATEMENT_EXECUTIONS = `
  SELECT report FROM broker_executions WHERE trade_date = $1 AND exec_type = 'trade' ORDER BY sequence`;

export const STATEMENT_ORDERS = `
  SELECT ${ORDER_COLUMNS} FROM broker_orders o
  WHERE trade_date = $1
     OR EXISTS (SELECT 1 FROM broker_executions e WHERE e.broker_order_id = o.broker_order_id AND e.trade_date = $1)
  ORDER BY entry`;

export const STATEMENT_POSITIONS = `
  SELECT symbol, sum(CASE side WHEN 'buy' THEN last_quantity ELSE -last_quantity END) AS quantity
  FROM broker_executions
  WHERE exec_type = 'trade' AND trade_date <= $1
  GROUP BY symbol
  HAVING sum(CASE side WHEN 'buy' THEN last_quantity ELSE -last_quantity END) <> 0
  ORDER BY symbol`;

// round(numeric, 2) rounds half away from zero: on these positive amounts, half-up to the cent.
export const STATEMENT_CASH = `
  SELECT
    COALESCE(sum(CASE side WHEN 'sell' THEN round(last_quantity * last_price, 2)
                           ELSE -round(last_quantity * last_price, 2) END), 0) AS balance,
    COALESCE(sum(round(last_quantity * last_price, 2)) FILTER (WHERE side = 'buy' AND trade_date = $1), 0) AS bought,
    COALESCE(sum(round(last_quantity * last_price, 2)) FILTER (WHERE side = 'sell' AND trade_date = $1), 0) AS sold
  FROM broker_executions
  WHERE exec_type = 'trade' AND trade_date <= $1`;
