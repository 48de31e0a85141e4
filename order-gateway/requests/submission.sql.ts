export const INSERT_SUBMISSION = `
  INSERT INTO broker_submissions (order_id, kind, account_id, request, state, snapshot, machine_version)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (order_id, kind) DO NOTHING`;

/** Due work, claimed with SKIP LOCKED so that several request servers share it without overlap. */
export const CLAIM_DUE = `
  SELECT order_id, kind, account_id, request, state, snapshot, attempts
  FROM broker_submissions
  WHERE state IN ('queued', 'unknown', 'sending', 'checking') AND next_attempt_at <= now()
  ORDER BY next_attempt_at
  LIMIT $1
  FOR UPDATE SKIP LOCKED`;

export const LOCK_SUBMISSION = `
  SELECT order_id, kind, account_id, request, state, snapshot, attempts
  FROM broker_submissions WHERE order_id = $1 AND kind = $2 FOR UPDATE`;

export const UPDATE_SUBMISSION = `
  UPDATE broker_submissions
  SET state = $3, snapshot = $4, attempts = $5, next_attempt_at = now() + ($6::int * interval '1 millisecond'),
      last_error = $7, broker_order_id = coalesce($8, broker_order_id), updated_at = now()
  WHERE order_id = $1 AND kind = $2`;

export const SUBMIT_STATE_OF_ORDER = `
  SELECT state, broker_order_id FROM broker_submissions WHERE order_id = $1 AND kind = 'submit'`;

export const EARLIEST_DUE = `
  SELECT extract(epoch FROM (min(next_attempt_at) - now())) * 1000 AS wait_ms
  FROM broker_submissions WHERE state IN ('queued', 'unknown', 'sending', 'checking')`;
