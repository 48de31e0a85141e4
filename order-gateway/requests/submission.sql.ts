/**
 * A submit is stored once. A cancel (or a replace) takes over the row of an earlier one of the same order only
 * when it is a later request (the earlier one was refused and the client asked again); a redelivered
 * message, or an older request arriving late, changes nothing.
 */
export const INSERT_SUBMISSION = `
  INSERT INTO broker_submissions AS s (order_id, kind, account_id, request, state, snapshot, machine_version, request_no)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (order_id, kind) DO UPDATE
    SET request = EXCLUDED.request, state = EXCLUDED.state, snapshot = EXCLUDED.snapshot,
        machine_version = EXCLUDED.machine_version, request_no = EXCLUDED.request_no, attempts = 0,
        next_attempt_at = now(), last_error = NULL, version = s.version + 1, updated_at = now()
    WHERE s.kind IN ('cancel', 'replace') AND s.request_no < EXCLUDED.request_no`;

const SUBMISSION_COLUMNS = `
  s.order_id, s.kind, s.account_id, s.request, s.state, s.snapshot, s.attempts, s.version, s.request_no`;

/**
 * Due work, claimed with SKIP LOCKED so that several request servers share it without overlap, with
 * what the claim decides on: the order's status, and for a cancel the state of the order's submit.
 */
export const CLAIM_DUE = `
  SELECT ${SUBMISSION_COLUMNS}, o.status AS order_status,
         sub.state AS submit_state,
         -- An order that is itself a replacement has no submit: the broker gave its id with the replace.
         coalesce(sub.broker_order_id, o.broker_order_id) AS submit_broker_order_id,
         o.broker_id AS order_broker_id
  FROM broker_submissions s
  LEFT JOIN orders o ON o.id = s.order_id
  LEFT JOIN broker_submissions sub ON s.kind <> 'submit' AND sub.order_id = s.order_id AND sub.kind = 'submit'
  WHERE s.state IN ('queued', 'unknown', 'sending', 'checking') AND s.next_attempt_at <= now()
  ORDER BY s.next_attempt_at
  LIMIT $1
  FOR UPDATE OF s SKIP LOCKED`;

export const LOCK_SUBMISSION = `
  SELECT ${SUBMISSION_COLUMNS} FROM broker_submissions s WHERE s.order_id = $1 AND s.kind = $2 FOR UPDATE`;

/** Compare-and-settle: only the holder of the version it read may write; returns the new version. */
export const UPDATE_SUBMISSION = `
  UPDATE broker_submissions
  SET state = $4, snapshot = $5, attempts = $6, next_attempt_at = now() + ($7::int * interval '1 millisecond'),
      last_error = $8, broker_order_id = coalesce($9, broker_order_id), version = version + 1, updated_at = now()
  WHERE order_id = $1 AND kind = $2 AND version = $3
  RETURNING version`;

export const EARLIEST_DUE = `
  SELECT extract(epoch FROM (min(next_attempt_at) - now())) * 1000 AS wait_ms
  FROM broker_submissions WHERE state IN ('queued', 'unknown', 'sending', 'checking')`;

/**
 * Orders whose request never became a submission: `pending_new` without its submit,
 * `pending_cancel` without its latest cancel, or `pending_replace` without its latest replace (the outbox relay marked the row sent, and the message
 * was lost on its way or the request server died before storing it). Only live orders, through the
 * partial index on them; `$1` seconds of grace let a message in flight arrive first.
 */
export const ORDERS_WITHOUT_SUBMISSION = `
  SELECT o.id, o.account_id, o.symbol, o.side, o.type, o.quantity, o.limit_price, o.worst_price, o.time_in_force,
         o.extended_hours, o.status,
         coalesce((o.snapshot -> 'context' ->> 'cancelRequests')::int, 1) AS cancel_request_no,
         coalesce((o.snapshot -> 'context' ->> 'replaceRequests')::int, 1) AS replace_request_no,
         o.snapshot -> 'context' -> 'replace' AS pending_replace,
         -- An order that is itself a replacement never had a submit: it was made at the broker.
         (o.replaces IS NULL OR o.broker_order_id IS NULL)
           AND NOT EXISTS (SELECT 1 FROM broker_submissions s WHERE s.order_id = o.id AND s.kind = 'submit')
           AS submit_missing
  FROM orders o
  WHERE o.status IN ('pending_new', 'pending_cancel', 'pending_replace')
    AND o.updated_at <= now() - ($1::double precision * interval '1 second')
    AND (
      ((o.replaces IS NULL OR o.broker_order_id IS NULL)
        AND NOT EXISTS (SELECT 1 FROM broker_submissions s WHERE s.order_id = o.id AND s.kind = 'submit'))
      OR (o.status = 'pending_cancel' AND NOT EXISTS (
        SELECT 1 FROM broker_submissions s
        WHERE s.order_id = o.id AND s.kind = 'cancel'
          AND s.request_no >= coalesce((o.snapshot -> 'context' ->> 'cancelRequests')::int, 1)))
      OR (o.status = 'pending_replace' AND NOT EXISTS (
        SELECT 1 FROM broker_submissions s
        WHERE s.order_id = o.id AND s.kind = 'replace'
          AND s.request_no >= coalesce((o.snapshot -> 'context' ->> 'replaceRequests')::int, 1)))
    )
  ORDER BY o.updated_at
  LIMIT $2`;

/** The submit of one order, locked: a cancel decides on it whether the order ever left. */
export const LOCK_SUBMIT_OF_ORDER = `
  SELECT state, version, snapshot FROM broker_submissions WHERE order_id = $1 AND kind = 'submit' FOR UPDATE`;

/**
 * Live orders that should have heard from the broker and have not for `$1` seconds: a cancel is
 * out, a market or ioc order, a day order outside its session (it has expired at the broker), or any
 * order in its session ($2: regular hours, $3: pre or post). Each is claimed by moving its
 * `next_check_at` a lease ahead ($5 ms); an order that changed since its last check starts afresh.
 * Set-based, through the partial index on live orders: its cost follows the live orders, not history.
 */
export const CLAIM_OPEN_ORDER_CHECKS = `
  WITH due AS (
    SELECT o.id, (c.order_id IS NULL OR c.checked_at < o.updated_at) AS changed
    FROM orders o
    LEFT JOIN open_order_checks c ON c.order_id = o.id
    WHERE o.status IN ('new', 'partially_filled', 'pending_cancel', 'pending_replace')
      AND o.updated_at <= now() - ($1::double precision * interval '1 second')
      AND (c.order_id IS NULL OR c.checked_at < o.updated_at OR c.next_check_at <= now())
      AND (o.status IN ('pending_cancel', 'pending_replace') OR o.type = 'market' OR o.time_in_force IN ('day', 'ioc')
           OR $2::boolean OR ($3::boolean AND o.extended_hours))
    ORDER BY o.updated_at
    LIMIT $4
    FOR UPDATE OF o SKIP LOCKED
  )
  INSERT INTO open_order_checks AS c (order_id, checked_at, next_check_at, checks)
  SELECT id, now(), now() + ($5::int * interval '1 millisecond'), CASE WHEN changed THEN 0 ELSE -1 END FROM due
  ON CONFLICT (order_id) DO UPDATE
    SET checked_at = EXCLUDED.checked_at, next_check_at = EXCLUDED.next_check_at,
        -- -1 marks "unchanged since the last check": keep counting; an order that moved starts afresh.
        checks = CASE WHEN EXCLUDED.checks = 0 THEN 0 ELSE c.checks END
  RETURNING order_id, checks`;

/**
 * What we know of orders being checked: their status, kind and the executions we have: applied, or
 * kept aside as outside the order's terms (already alarmed and a break for ops: never sent again).
 */
export const ORDERS_TO_CHECK = `
  SELECT o.id, o.status, o.type, o.time_in_force, o.extended_hours, o.filled_quantity, o.broker_id,
         coalesce(array_agg(f.exec_id) FILTER (WHERE f.exec_id IS NOT NULL), '{}')
           || coalesce((SELECT array_agg(a.exec_id) FROM order_anomalies a
                        WHERE a.order_id = o.id AND a.kind = 'FILL_OUTSIDE_TERMS' AND a.exec_id IS NOT NULL), '{}')
           AS exec_ids
  FROM orders o LEFT JOIN order_fills f ON f.order_id = o.id
  WHERE o.id = ANY($1::uuid[])
  GROUP BY o.id`;

/** After a check: when to ask again. */
export const SCHEDULE_NEXT_CHECKS = `
  UPDATE open_order_checks c SET checks = c.checks + 1, next_check_at = now() + (n.delay_ms * interval '1 millisecond')
  FROM unnest($1::uuid[], $2::int[]) AS n(order_id, delay_ms)
  WHERE c.order_id = n.order_id`;

/** Registers orders for a check now (a cancel refused as too late): the row exists for the update after it. */
export const MARK_CHECKED_NOW = `
  INSERT INTO open_order_checks (order_id, checked_at, next_check_at, checks)
  SELECT unnest($1::uuid[]), now(), now() + ($2::int * interval '1 millisecond'), 0
  ON CONFLICT (order_id) DO UPDATE SET checked_at = EXCLUDED.checked_at, next_check_at = EXCLUDED.next_check_at`;
