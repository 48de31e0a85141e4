// In the order given: for one key that is the order its messages must leave in.
export const INSERT_OUTBOX_MANY = `
  INSERT INTO outbox (topic, message_key, payload)
  SELECT topic, message_key, payload FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY
    AS m(topic, message_key, payload, n) ORDER BY n`;

export const INSERT_OUTBOX = `
  INSERT INTO outbox (topic, message_key, payload) VALUES ($1, $2, $3)`;

// Only one relay moves rows at a time (the advisory lock), so per-key order on the bus is the
// order of insertion, which for one account is the order of its transactions (its row lock serialises them).
export const TRY_RELAY_LOCK = `SELECT pg_try_advisory_xact_lock(8235193021) AS locked`;

export const UNSENT_BATCH = `
  SELECT id, topic, message_key, payload FROM outbox
  WHERE sent_at IS NULL ORDER BY id LIMIT $1`;

export const MARK_SENT = `UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])`;

export const PRUNE_SENT = `
  DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox WHERE sent_at < now() - interval '10 minutes' LIMIT 5000)`;
