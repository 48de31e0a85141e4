import type { Queryable } from '../../platform/index.ts';
import { ENSURE_BUCKET, LOCK_BUCKET, QUEUED_BY_BROKER, READ_BUCKETS, STORE_BUCKET } from './broker-bucket.sql.ts';
import { capacity, refill, type Bucket, type RateLimit } from './rate-limit.rules.ts';

interface BucketRow {
  tokens: number;
  at_ms: number;
  now_ms: number;
}

export interface BucketReading {
  broker: string;
  /** Whole and fractional tokens now. */
  tokens: number;
  taken: number;
  throttled: number;
}

/** SQL of `broker_rate_buckets`: one row per rate-limited broker. */
export const brokerBucketRepository = {
  /**
   * The broker's bucket refilled to the database's now, its row locked until the caller's
   * transaction ends: the caller takes tokens and stores what is left before it commits.
   */
  async lock(q: Queryable, broker: string, limit: RateLimit): Promise<Bucket> {
    let row = await lockRow(q, broker);
    if (!row) {
      await q.query(ENSURE_BUCKET, [broker, capacity(limit), limit.perSecond, limit.burst]);
      row = await lockRow(q, broker);
    }
    if (!row) throw new Error(`the rate bucket of broker ${broker} could not be made`);
    return refill({ tokens: row.tokens, atMs: row.at_ms }, limit, row.now_ms);
  },

  async store(
    q: Queryable,
    broker: string,
    limit: RateLimit,
    bucket: Bucket,
    counts: { taken: number; throttled: number },
  ): Promise<void> {
    await q.query(STORE_BUCKET, [
      broker,
      Math.max(0, bucket.tokens),
      bucket.atMs,
      limit.perSecond,
      limit.burst,
      counts.taken,
      counts.throttled,
    ]);
  },

  async read(q: Queryable): Promise<BucketReading[]> {
    const { rows } = await q.query<{
      broker: string;
      tokens: number;
      per_second: number;
      burst: number;
      taken: string;
      throttled: string;
      at_ms: number;
      now_ms: number;
    }>(READ_BUCKETS);
    return rows.map((row) => ({
      broker: row.broker,
      tokens: refill(
        { tokens: row.tokens, atMs: row.at_ms },
        { perSecond: row.per_second, burst: row.burst },
        row.now_ms,
      ).tokens,
      taken: Number(row.taken),
      throttled: Number(row.throttled),
    }));
  },

  async queuedByBroker(q: Queryable): Promise<Array<{ broker: string; count: number }>> {
    const { rows } = await q.query<{ broker: string; count: number }>(QUEUED_BY_BROKER);
    return rows;
  },
};

async function lockRow(q: Queryable, broker: string): Promise<BucketRow | undefined> {
  const { rows } = await q.query<BucketRow>(LOCK_BUCKET, [broker]);
  return rows[0];
}

/** What /metrics reads of the rate limits, for the ops console. */
export const brokerRateReadings = {
  buckets: (q: Queryable) => brokerBucketRepository.read(q),
  queued: (q: Queryable) => brokerBucketRepository.queuedByBroker(q),
};
