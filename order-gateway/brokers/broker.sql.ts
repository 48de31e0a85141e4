/** The brokers' standing: drains set by ops, health as the request servers last computed it. */

const BROKER_COLUMNS = `name, drained, drained_by, drained_at, state, calls, failures, median_latency_ms, state_since, observed_at`;

export const SELECT_BROKERS = `SELECT ${BROKER_COLUMNS} FROM brokers WHERE name = ANY($1::text[])`;

export const SELECT_DRAINED = `SELECT name FROM brokers WHERE drained`;

/** A state change moves state_since; the same state again only refreshes the figures. */
export const UPSERT_HEALTH = `
  INSERT INTO brokers AS b (name, state, calls, failures, median_latency_ms, state_since, observed_at)
  SELECT n.name, n.state, n.calls, n.failures, n.median_latency_ms, now(), now()
  FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[]) AS n(name, state, calls, failures, median_latency_ms)
  ON CONFLICT (name) DO UPDATE
    SET state = EXCLUDED.state, calls = EXCLUDED.calls, failures = EXCLUDED.failures,
        median_latency_ms = EXCLUDED.median_latency_ms, observed_at = now(),
        state_since = CASE WHEN b.state = EXCLUDED.state THEN b.state_since ELSE now() END`;

export const SET_DRAINED = `
  INSERT INTO brokers AS b (name, drained, drained_by, drained_at)
  VALUES ($1, $2, $3, now())
  ON CONFLICT (name) DO UPDATE SET drained = EXCLUDED.drained, drained_by = EXCLUDED.drained_by, drained_at = now()
  RETURNING ${BROKER_COLUMNS}`;

/** Binds an order to a broker, unless it is bound already; returns the broker it is bound to. */
export const BIND_ORDER = `
  WITH bound AS (UPDATE orders SET broker_id = $2 WHERE id = $1 AND broker_id IS NULL RETURNING broker_id)
  SELECT broker_id FROM bound UNION ALL SELECT broker_id FROM orders WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM bound)`;

/** Frees an order no call was ever made for, so it may be routed elsewhere. */
export const UNBIND_ORDER = `UPDATE orders SET broker_id = NULL WHERE id = $1 AND broker_id = $2`;
