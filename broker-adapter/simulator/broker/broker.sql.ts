/** The broker's SQL, kept apart from the code that runs it. */

const ORDER_COLUMNS = `broker_order_id, client_order_id, account, symbol, side, type, quantity, limit_price,
  collar_price, time_in_force, extended_hours, status, cumulative_quantity, cumulative_notional,
  cancel_requested, fills_in_parts, reject_reason, expires_at, report_count, request, trade_date,
  created_at, updated_at, matched_at, replaces`;

export const INSERT_ORDER = `
  INSERT INTO broker_orders (broker_order_id, client_order_id, account, symbol, side, type, quantity,
    limit_price, collar_price, time_in_force, extended_hours, status, fills_in_parts, expires_at,
    request, trade_date, created_at, updated_at, replaces)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', $12, $13, $14, $15, $16, $16, $17)
  ON CONFLICT (client_order_id) DO NOTHING
  RETURNING ${ORDER_COLUMNS}`;

export const SELECT_ORDER_BY_CLIENT_ID = `SELECT ${ORDER_COLUMNS} FROM broker_orders WHERE client_order_id = $1`;
export const SELECT_ORDER = `SELECT ${ORDER_COLUMNS} FROM broker_orders WHERE broker_order_id = $1`;
export const LOCK_ORDER = `SELECT ${ORDER_COLUMNS} FROM broker_orders WHERE broker_order_id = $1 FOR UPDATE`;

export const SELECT_OPEN_ORDERS = `
  SELECT ${ORDER_COLUMNS} FROM broker_orders
  WHERE status IN ('new', 'partially_filled', 'pending_cancel')
  ORDER BY entry`;

export const UPDATE_ORDER = `
  UPDATE broker_orders
  SET status = $2, cumulative_quantity = $3, cumulative_notional = $4, cancel_requested = $5,
      reject_reason = COALESCE($6, reject_reason), report_count = $7, updated_at = $8,
      matched_at = COALESCE($9, matched_at)
  WHERE broker_order_id = $1
  RETURNING ${ORDER_COLUMNS}`;

/**
 * Numbers and stores a batch of reports in one statement: $1 is a JSON array of
 * {report (without its sequence), dropped, deliveries: [due times]}. The sequence counter's row lock
 * is held from here to the commit, so this is the last statement of the transaction: every report
 * of the broker queues on it, and the shorter it is held the more orders per second.
 */
export const INSERT_REPORTS = `
  WITH items AS (
    SELECT x.item, x.n FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(item, n)
  ), seq AS (
    UPDATE broker_sequence SET last = last + (SELECT count(*) FROM items) WHERE id
    RETURNING last - (SELECT count(*) FROM items) AS base
  ), execs AS (
    INSERT INTO broker_executions (sequence, exec_id, broker_order_id, exec_type, trade_date, last_quantity,
      last_price, side, symbol, report, dropped, created_at)
    SELECT seq.base + items.n,
           items.item #>> '{report,execId}',
           items.item #>> '{report,brokerOrderId}',
           items.item #>> '{report,execType}',
           $2::date,
           (items.item #>> '{report,lastQuantity}')::numeric,
           (items.item #>> '{report,lastPrice}')::numeric,
           items.item #>> '{report,side}',
           items.item #>> '{report,symbol}',
           jsonb_set(items.item -> 'report', '{sequence}', to_jsonb(seq.base + items.n)),
           (items.item ->> 'dropped')::boolean,
           $3::timestamptz
    FROM items, seq
    RETURNING sequence, exec_id
  )
  INSERT INTO broker_deliveries (sequence, due_at)
  SELECT execs.sequence, (due.value #>> '{}')::timestamptz
  FROM execs
  JOIN items ON items.item #>> '{report,execId}' = execs.exec_id
  CROSS JOIN LATERAL jsonb_array_elements(items.item -> 'deliveries') AS due(value)`;

export const SELECT_DUE_DELIVERIES = `
  SELECT d.id, d.attempts, e.report
  FROM broker_deliveries d JOIN broker_executions e USING (sequence)
  WHERE d.delivered_at IS NULL AND d.refused_at IS NULL AND d.due_at <= $1
  ORDER BY d.due_at, d.id
  LIMIT $2`;

export const MARK_DELIVERED = `UPDATE broker_deliveries SET delivered_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])`;

export const MARK_FAILED = `
  UPDATE broker_deliveries SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`;

export const MARK_REFUSED = `
  UPDATE broker_deliveries SET attempts = attempts + 1, last_error = $2, refused_at = now() WHERE id = ANY($1::bigint[])`;

export const COUNT_PENDING_DELIVERIES = `
  SELECT count(*)::int AS pending FROM broker_deliveries WHERE delivered_at IS NULL AND refused_at IS NULL`;

/**
 * What stands of the broker's trades: each trade and each correction that no later bust or correct
 * amended. A busted trade is off every statement, a corrected one is replaced by its correction: the
 * broker's books are as amended, not as first reported.
 */
export const STANDING = `exec_type IN ('trade', 'trade_correct') AND NOT EXISTS (SELECT 1 FROM broker_executions amend
  WHERE amend.exec_type IN ('trade_cancel', 'trade_correct') AND amend.report ->> 'refExecId' = e.exec_id)`;

export const STATEMENT_EXECUTIONS = `
  SELECT report FROM broker_executions e WHERE trade_date = $1 AND ${STANDING}
  ORDER BY sequence`;

export const STATEMENT_ORDERS = `
  SELECT ${ORDER_COLUMNS} FROM broker_orders o
  WHERE trade_date = $1
     OR EXISTS (SELECT 1 FROM broker_executions e WHERE e.broker_order_id = o.broker_order_id AND e.trade_date = $1)
  ORDER BY entry`;

export const STATEMENT_POSITIONS = `
  SELECT symbol, sum(CASE side WHEN 'buy' THEN last_quantity ELSE -last_quantity END) AS quantity
  FROM broker_executions e
  WHERE trade_date <= $1 AND ${STANDING}
  GROUP BY symbol
  HAVING sum(CASE side WHEN 'buy' THEN last_quantity ELSE -last_quantity END) <> 0
  ORDER BY symbol`;

// Cash is rounded per order, cumulatively: an order's fills up to a date cost round(Σ qty × price) to
// the cent, as one fill of the same size would (the ledger's rule too, so partial fills do not drift
// a cent apart). round(numeric, 2) rounds half away from zero: on these positive amounts, half-up.
export const STATEMENT_CASH = `
  WITH per_order AS (
    SELECT side,
           round(sum(last_quantity * last_price), 2) AS upto,
           round(COALESCE(sum(last_quantity * last_price) FILTER (WHERE trade_date < $1), 0), 2) AS before
    FROM broker_executions e
    WHERE trade_date <= $1 AND ${STANDING}
    GROUP BY broker_order_id, side
  )
  SELECT
    COALESCE(sum(CASE side WHEN 'sell' THEN upto ELSE -upto END), 0) AS balance,
    COALESCE(sum(upto - before) FILTER (WHERE side = 'buy'), 0) AS bought,
    COALESCE(sum(upto - before) FILTER (WHERE side = 'sell'), 0) AS sold
  FROM per_order`;

/** Every report of one order, dropped ones included, as a replay request would return them. */
export const REPORTS_OF_ORDER = `
  SELECT report FROM broker_executions WHERE broker_order_id = $1 ORDER BY sequence`;

export const SELECT_EXECUTION = `
  SELECT exec_type, report, to_char(trade_date, 'YYYY-MM-DD') AS trade_date FROM broker_executions WHERE exec_id = $1`;

/** The bust or correct that amended an execution, if one did. */
export const SELECT_AMENDMENT = `
  SELECT exec_type, report, to_char(trade_date, 'YYYY-MM-DD') AS trade_date FROM broker_executions
  WHERE exec_type IN ('trade_cancel', 'trade_correct') AND report ->> 'refExecId' = $1`;

/** A bust or correct moves the order's cumulative figures by the difference it makes. */
export const AMEND_ORDER = `
  UPDATE broker_orders SET cumulative_quantity = $2, cumulative_notional = $3, status = $4, updated_at = $5
  WHERE broker_order_id = $1
  RETURNING ${ORDER_COLUMNS}`;

/**
 * `bust_after`: the standing trades made at or after the cutoff ($1, New York time of day) and no later
 * than $2, oldest first. Their statement's own standing rule decides what is still there to bust.
 */
export const TRADES_TO_BUST = `
  SELECT exec_id FROM broker_executions e
  WHERE exec_type = 'trade' AND created_at <= $2
    AND (created_at AT TIME ZONE 'America/New_York')::time >= $1::time AND ${STANDING}
  ORDER BY sequence LIMIT $3`;
