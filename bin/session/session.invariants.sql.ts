/** The session's checks of our own books, on the views the order gateway and the broker adapter publish. */

export const FILLED_NOT_SUM_OF_FILLS = `
  SELECT o.id, o.filled_quantity::text AS filled, coalesce(sum(f.quantity), 0)::text AS fills
  FROM order_gateway_order_states o LEFT JOIN order_gateway_recorded_fills f ON f.order_id = o.id AND f.state = 'active'
  GROUP BY o.id, o.filled_quantity HAVING o.filled_quantity <> coalesce(sum(f.quantity), 0)`;

export const OVERFILLED = `SELECT id, filled_quantity::text AS filled, quantity::text AS quantity FROM order_gateway_order_states WHERE filled_quantity > quantity`;

export const FILLS_ON_REJECTED = `
  SELECT o.id, count(f.exec_id)::int AS fills FROM order_gateway_order_states o JOIN order_gateway_recorded_fills f ON f.order_id = o.id
  WHERE o.status = 'rejected' GROUP BY o.id`;

export const STATUSES = `SELECT id, status FROM order_gateway_order_states`;

/** Our fills with what the statements compare: per order, so cash can be rounded per order as the broker does. */
export const OUR_FILLS = `
  SELECT exec_id, order_id::text, symbol, side, quantity::text, price::text
  FROM order_gateway_fills ORDER BY exec_id`;

export const OUR_ORDERS = `
  SELECT order_id::text, status, filled_quantity::text AS filled_quantity FROM order_gateway_orders`;

/** When each order reached the broker, on the simulated clock ($1: order ids). */
export const REACHED_BROKER_AT = `
  SELECT client_order_id AS id, created_at AS at FROM broker_adapter_simulated_orders WHERE client_order_id = ANY($1::text[])`;

/** Orders whose cancel has not ended, and cancel calls to the broker still outstanding. */
export const CANCELS_NOT_ENDED = `
  SELECT o.id::text, o.status, s.state AS cancel_state
  FROM order_gateway_order_states o LEFT JOIN order_gateway_broker_calls s ON s.order_id = o.id AND s.kind = 'cancel'
  WHERE o.status = 'pending_cancel' OR s.state IN ('queued', 'sending', 'unknown', 'checking')`;

/**
 * Orders still open after the last close with no reason to be: only a gtc order resting at the broker
 * (the broker holding it open with the same status and filled quantity) may wait for another day.
 */
export const OPEN_WITHOUT_REASON = `
  SELECT o.id::text, o.status, o.time_in_force, b.status AS broker_status
  FROM order_gateway_order_states o LEFT JOIN broker_adapter_simulated_orders b ON b.client_order_id = o.id::text
  WHERE o.status NOT IN ('filled', 'canceled', 'rejected', 'expired')
    AND NOT (o.time_in_force = 'gtc' AND o.status IN ('new', 'partially_filled')
             AND b.status = o.status AND b.cumulative_quantity = o.filled_quantity)`;
