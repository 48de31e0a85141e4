/** The session's checks of our own books, on the order gateway's tables and published views. */

export const FILLED_NOT_SUM_OF_FILLS = `
  SELECT o.id, o.filled_quantity::text AS filled, coalesce(sum(f.quantity), 0)::text AS fills
  FROM orders o LEFT JOIN order_fills f ON f.order_id = o.id
  GROUP BY o.id HAVING o.filled_quantity <> coalesce(sum(f.quantity), 0)`;

export const OVERFILLED = `SELECT id, filled_quantity::text AS filled, quantity::text AS quantity FROM orders WHERE filled_quantity > quantity`;

export const FILLS_ON_REJECTED = `
  SELECT o.id, count(f.exec_id)::int AS fills FROM orders o JOIN order_fills f ON f.order_id = o.id
  WHERE o.status = 'rejected' GROUP BY o.id`;

export const STATUSES = `SELECT id, status FROM orders`;

/** Our fills with what the statements compare: per order, so cash can be rounded per order as the broker does. */
export const OUR_FILLS = `
  SELECT exec_id, order_id::text, symbol, side, quantity::text, price::text
  FROM order_gateway_fills ORDER BY exec_id`;

export const OUR_ORDERS = `
  SELECT order_id::text, status, filled_quantity::text AS filled_quantity FROM order_gateway_orders`;
