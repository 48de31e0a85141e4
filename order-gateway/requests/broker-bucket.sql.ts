/** A broker's bucket is made full the first time a request server needs it; a second maker changes nothing. */
export const ENSURE_BUCKET = `
  INSERT INTO broker_rate_buckets (broker, tokens, refilled_at, per_second, burst)
  VALUES ($1, $2, clock_timestamp(), $3, $4)
  ON CONFLICT (broker) DO NOTHING`;

/**
 * The bucket, locked until the caller's transaction ends, with the database's clock read once the
 * lock is granted (RETURNING comes after the row lock; a SELECT ... FOR UPDATE would read it before
 * waiting for the lock, and refill for time the previous holder had already spent): every request
 * server refills by the same clock, whatever its own says.
 */
export const LOCK_BUCKET = `
  UPDATE broker_rate_buckets SET refilled_at = refilled_at WHERE broker = $1
  RETURNING tokens,
            extract(epoch FROM refilled_at)::float8 * 1000 AS at_ms,
            extract(epoch FROM clock_timestamp())::float8 * 1000 AS now_ms`;

export const STORE_BUCKET = `
  UPDATE broker_rate_buckets
  SET tokens = $2, refilled_at = to_timestamp($3::float8 / 1000), per_second = $4, burst = $5,
      taken = taken + $6, throttled = throttled + $7
  WHERE broker = $1`;

/** Every bucket as it was last stored, with the database's clock to refill it to now (/metrics). */
export const READ_BUCKETS = `
  SELECT broker, tokens, per_second, burst, taken, throttled,
         extract(epoch FROM refilled_at)::float8 * 1000 AS at_ms,
         extract(epoch FROM clock_timestamp())::float8 * 1000 AS now_ms
  FROM broker_rate_buckets ORDER BY broker`;

/** Requests not sent yet, per broker: each broker's queue, through the partial index on due rows. */
export const QUEUED_BY_BROKER = `
  SELECT broker, count(*)::int AS count FROM broker_submissions WHERE state = 'queued' GROUP BY broker`;
