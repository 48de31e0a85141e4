import { withTransaction, type Pool, type PoolClient } from '../../platform/index.ts';
import { brokerBucketRepository } from './broker-bucket.repository.ts';
import { giveBack, msUntil, take, tokensWorthClaiming, type Bucket, type RateLimit } from './rate-limit.rules.ts';
import { submissionRepository, type DueSubmissionRow } from './submission.repository.ts';

/** The tokens one claim took from one broker's bucket, kept until the claim's transaction stores them. */
interface Grant {
  broker: string;
  limit: RateLimit;
  bucket: Bucket;
  taken: number;
  /** Fewer tokens than the dispatcher had room for: the bucket, not the queue, may have held work back. */
  short: boolean;
  /** What the dispatcher waits for before its next claim of this broker. */
  worthClaiming: number;
}

export interface ThrottledClaim {
  rows: DueSubmissionRow[];
  grants: Grant[];
}

/**
 * The request server's side of the per-broker rate limits. Its queue is `broker_submissions`: a
 * claim takes tokens from the broker's bucket row and, in the same transaction, as many due rows of
 * that broker as it got tokens, in the order of placement; tokens of rows that turn out not to need
 * a call go back before the commit. The bucket row's lock ends with that transaction, before any
 * call is made. A broker without a limit is claimed as before.
 */
export class BrokerThrottle {
  readonly limitedBrokers: readonly string[];
  private readonly limits: ReadonlyMap<string, RateLimit>;

  constructor(limits: ReadonlyMap<string, RateLimit> = new Map()) {
    this.limits = limits;
    this.limitedBrokers = [...limits.keys()];
  }

  /** Inside the claim's transaction: up to `slots` due rows, the limited brokers' within their tokens. */
  async claimDue(tx: PoolClient, slots: number): Promise<ThrottledClaim> {
    const rows = await submissionRepository.claimDue(tx, slots, this.limitedBrokers);
    const grants: Grant[] = [];
    for (const [broker, limit] of this.limits) {
      const room = slots - rows.length;
      if (room <= 0) break;
      const bucket = await brokerBucketRepository.lock(tx, broker, limit);
      const worthClaiming = tokensWorthClaiming(limit, room);
      // Waiting for a few tokens at once keeps a fast rate from costing a claim per token.
      const took = bucket.tokens >= worthClaiming ? take(bucket, room) : { bucket, taken: 0 };
      rows.push(...(await submissionRepository.claimDueOfBroker(tx, broker, took.taken)));
      grants.push({ broker, limit, bucket: took.bucket, taken: took.taken, short: took.taken < room, worthClaiming });
    }
    return { rows, grants };
  }

  /**
   * Still inside the claim's transaction, once it decided which rows are sent: stores each bucket
   * with the unused tokens given back. Returns how long to wait before a broker held back by its
   * bucket has tokens again, or null when none was.
   */
  async settle(tx: PoolClient, claim: ThrottledClaim, sent: ReadonlyMap<string, number>): Promise<number | null> {
    let waitMs: number | null = null;
    for (const grant of claim.grants) {
      const used = Math.min(grant.taken, sent.get(grant.broker) ?? 0);
      const bucket = giveBack(grant.bucket, grant.limit, grant.taken - used);
      const throttled = grant.short && (await submissionRepository.hasDueOfBroker(tx, grant.broker));
      await brokerBucketRepository.store(tx, grant.broker, grant.limit, bucket, {
        taken: used,
        throttled: throttled ? 1 : 0,
      });
      if (throttled) {
        const wait = Math.max(1, msUntil(bucket, grant.limit, grant.worthClaiming));
        waitMs = waitMs === null ? wait : Math.min(waitMs, wait);
      }
    }
    return waitMs;
  }

  /**
   * Tokens for calls outside the claim (the open-order check's lookups), in a transaction of their
   * own: up to `wanted`, possibly none. A broker without a limit gives all.
   */
  async takeNow(pool: Pool, broker: string, wanted: number): Promise<number> {
    const limit = this.limits.get(broker);
    if (!limit || wanted <= 0) return Math.max(0, wanted);
    return withTransaction(pool, async (tx) => {
      const took = take(await brokerBucketRepository.lock(tx, broker, limit), wanted);
      await brokerBucketRepository.store(tx, broker, limit, took.bucket, {
        taken: took.taken,
        throttled: took.taken < wanted ? 1 : 0,
      });
      return took.taken;
    });
  }
}
