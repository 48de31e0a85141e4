import { FINAL_STATUSES, ORDER_STATUSES } from '../orders/order.machine.ts';
import { FILLS_OF_ROW, ORDER_COLUMNS } from '../orders/order.sql.ts';

/**
 * The live statuses as a literal list, from the machine's own: the same set as the predicate of the
 * partial indexes on live orders, so PostgreSQL reads those indexes, whatever statuses are added.
 */
const LIVE_STATUSES = `status IN (${ORDER_STATUSES.filter((status) => !FINAL_STATUSES.includes(status))
  .map((status) => `'${status}'`)
  .join(', ')})`;

/**
 * Orders across accounts, newest first. Each filter is optional; the trade date is the one the
 * published view order_gateway_orders gives (the New York date of the broker's acceptance).
 */
export const SEARCH_ORDERS = `
  SELECT ${ORDER_COLUMNS}, ${FILLS_OF_ROW} FROM orders
  WHERE ($1::uuid IS NULL OR account_id = $1)
    AND ($2::text IS NULL OR client_order_id = $2)
    AND ($3::text IS NULL OR symbol = $3)
    AND ($4::text IS NULL OR status = $4)
    AND ($5::date IS NULL OR (COALESCE(broker_accepted_at, created_at) AT TIME ZONE 'America/New_York')::date = $5)
    AND ($6::bigint IS NULL OR seq < $6)
  ORDER BY seq DESC LIMIT $7`;

export const ORDER_BY_ID = `SELECT ${ORDER_COLUMNS}, ${FILLS_OF_ROW} FROM orders WHERE id = $1`;

export const SUBMISSIONS_OF_ORDER = `
  SELECT kind, state, attempts, request_no, last_error, broker_order_id, created_at, updated_at, next_attempt_at
  FROM broker_submissions WHERE order_id = $1 ORDER BY created_at`;

export const FILLS_OF_ORDER = `
  SELECT exec_id, quantity::text, price::text, commission::text, executed_at, recorded_at
  FROM order_fills WHERE order_id = $1 ORDER BY executed_at, exec_id`;

export const ANOMALIES_OF_ORDER = `
  SELECT id::text, kind, exec_id, detail, recorded_at FROM order_anomalies WHERE order_id = $1 ORDER BY id`;

export const OPEN_ORDER_CHECK_OF_ORDER = `
  SELECT checked_at, checks FROM open_order_checks WHERE order_id = $1`;

export const EVENTS_OF_ORDER = `
  SELECT seq, type, at FROM account_events WHERE order_id = $1 ORDER BY seq`;

export const AUDIT_OF_TARGET = `
  SELECT at, operator, action, detail FROM ops_audit_log WHERE target = $1 ORDER BY id`;

export const ACCOUNTS_PAGE = `
  SELECT a.id, a.name, a.created_at,
         (SELECT count(*)::int FROM orders o WHERE o.account_id = a.id AND o.${LIVE_STATUSES}) AS open_orders
  FROM gateway_accounts a
  WHERE ($1::text IS NULL OR a.name ILIKE '%' || $1 || '%' OR a.id::text = $1)
    AND ($2::timestamptz IS NULL OR (a.created_at, a.id) < ($2, $3::uuid))
  ORDER BY a.created_at DESC, a.id DESC LIMIT $4`;

// What waits, each counted cheaply: partial indexes answer the outbox, the due submissions and the
// waiting dead letters; the anomalies of the last day are read newest first by their index.
export const OVERVIEW = `
  SELECT
    (SELECT count(*)::int FROM outbox WHERE sent_at IS NULL) AS outbox_backlog,
    (SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 FROM outbox WHERE sent_at IS NULL) AS outbox_oldest_seconds,
    (SELECT count(*)::int FROM parked_reports) AS parked_reports,
    (SELECT count(*)::int FROM dead_letters WHERE replayed_at IS NULL) AS parked_messages`;

export const SUBMISSIONS_DUE_BY_STATE = `
  SELECT state, count(*)::int AS n,
         count(*) FILTER (WHERE next_attempt_at < now() - make_interval(secs => $1))::int AS stuck
  FROM broker_submissions WHERE state IN ('queued', 'unknown', 'sending', 'checking')
  GROUP BY state ORDER BY state`;

export const STUCK_SUBMISSIONS = `
  SELECT order_id::text, kind, state, attempts, last_error, next_attempt_at, updated_at
  FROM broker_submissions
  WHERE state IN ('queued', 'unknown', 'sending', 'checking') AND next_attempt_at < now() - make_interval(secs => $1)
  ORDER BY next_attempt_at LIMIT $2`;

export const ANOMALIES_SINCE_BY_KIND = `
  SELECT kind, count(*)::int AS n FROM order_anomalies
  WHERE recorded_at > now() - make_interval(secs => $1) GROUP BY kind ORDER BY kind`;

// The predicate of orders_live_by_activity: only that partial index is read, however long the history.
export const LIVE_ORDERS_BY_STATUS = `
  SELECT status, count(*)::int AS n FROM orders WHERE ${LIVE_STATUSES} GROUP BY status`;
