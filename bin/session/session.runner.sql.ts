/** What the session reads back of the trading server after the day, through the views it publishes. */

export const FILL_COUNT = `SELECT count(*)::int AS n FROM order_gateway_recorded_fills`;

/** The fills the broker busted or corrected, with their orders and accounts (the `bust_after` fault). */
export const BUSTS = `
  SELECT exec_id AS "execId", ref_exec_id AS "refExecId", state, order_id::text AS "orderId",
         account_id::text AS "accountId", symbol, side, trim_scale(quantity)::text AS quantity,
         trim_scale(price)::text AS price
  FROM order_gateway_trade_corrections ORDER BY account_id, ref_exec_id`;

export const BY_STATUS = `SELECT status, count(*)::int AS n FROM order_gateway_order_states GROUP BY status ORDER BY status`;

export const DAY_ORDERS_OPEN = `
  SELECT id, status FROM order_gateway_order_states
  WHERE time_in_force = 'day' AND status IN ('pending_new', 'new', 'partially_filled', 'pending_cancel')`;

/** Fills with their simulated execution time, for the price chart. */
export const REPORT_FILLS = `
  SELECT f.executed_at AS at, o.symbol, o.side, f.price::text AS price, f.quantity::text AS quantity
  FROM order_gateway_recorded_fills f JOIN order_gateway_order_states o ON o.id = f.order_id ORDER BY f.executed_at, f.exec_id`;

/**
 * Wall-clock latencies per order: placement (the order row's creation) to the broker's answer (the
 * submission reaching its final state) and to our first recorded fill.
 */
export const LATENCIES = `
  SELECT o.id::text AS id,
         CASE WHEN s.state IN ('acknowledged', 'refused')
              THEN extract(epoch FROM (s.updated_at - o.created_at)) * 1000 END::float8 AS ack_ms,
         (SELECT extract(epoch FROM (min(f.recorded_at) - o.created_at)) * 1000 FROM order_gateway_recorded_fills f WHERE f.order_id = o.id)::float8 AS fill_ms
  FROM order_gateway_order_states o LEFT JOIN order_gateway_broker_calls s ON s.order_id = o.id AND s.kind = 'submit'`;

/**
 * Real ms from the broker making each trade (its report's row, written on the database's clock) to our
 * ledger settling it (the fill row, written with the settlement): a dropped report's fill counts from
 * its execution to its repair, so a lost message shows here.
 */
export const EXECUTION_TO_LEDGER = `
  SELECT (extract(epoch FROM (f.recorded_at - e.recorded_at)) * 1000)::float8 AS ms
  FROM order_gateway_recorded_fills f JOIN broker_adapter_simulated_trades e ON e.exec_id = f.exec_id`;
