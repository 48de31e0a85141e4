/** What the session reads to know whether the system has finished reacting to a step. */

export const UNSENT_OUTBOX = `SELECT count(*)::int AS n FROM order_gateway_outbox_messages WHERE sent_at IS NULL`;

/**
 * Broker calls still to come: calls out or unresolved, submissions tradable in this session
 * ($1), and cancels whose order has reached the broker. Submissions waiting for their session are
 * not work for now.
 */
export const BUSY_SUBMISSIONS = `
  SELECT count(*)::int AS n FROM order_gateway_broker_calls s
  WHERE s.state IN ('unknown', 'sending', 'checking')
     OR (s.state = 'queued' AND s.kind = 'submit'
         AND ($1 = 'regular' OR ($1 IN ('pre', 'post') AND s.extended_hours)))
     OR (s.state = 'queued' AND s.kind = 'cancel' AND EXISTS (
           SELECT 1 FROM order_gateway_broker_calls t WHERE t.order_id = s.order_id AND t.kind = 'submit' AND t.state <> 'queued'))`;

/** Orders whose request has not yet reached the request server's table. */
export const REQUESTS_IN_TRANSIT = `
  SELECT count(*)::int AS n FROM order_gateway_order_states o
  WHERE (o.status = 'pending_new' AND NOT EXISTS (SELECT 1 FROM order_gateway_broker_calls s WHERE s.order_id = o.id AND s.kind = 'submit'))
     OR (o.status = 'pending_cancel' AND NOT EXISTS (SELECT 1 FROM order_gateway_broker_calls s WHERE s.order_id = o.id AND s.kind = 'cancel'))`;

export const RECEIVED_REPORTS = `SELECT count(*)::int AS n FROM broker_adapter_received_reports`;

export const PARKED_REPORTS = `SELECT count(*)::int AS n FROM order_gateway_parked_reports`;

export const RECEIVED_EXEC_IDS = `SELECT exec_id FROM broker_adapter_received_reports`;
