/**
 * The outbound rate limit toward one broker (BROKER_RATE_LIMITS): a token bucket. Every call to the
 * broker (a submit, a replace, a cancel, an inquiry, an open-order check) takes one token, since a
 * broker counts every call against its limit. Pure: the bucket's state lives in PostgreSQL
 * (broker-bucket.repository.ts), and these rules say what a request server holding its row lock may
 * take. Token counts are not money: plain numbers.
 */

/** Calls per second, and how many may go at once after a quiet spell. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** Whole and fractional tokens, refilled up to `atMs` (the database's clock, in ms since the epoch). */
export interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * The bucket holds back this much of its rate from the burst: a call arrives at the broker a little
 * after its token was taken (commit, event loop, network), and calls taken apart can arrive
 * together. Up to this spread, no one-second window at the broker sees more than rate + burst.
 */
export const ARRIVAL_SPREAD_MS = 100;

/** Claims wait for this many milliseconds' worth of tokens rather than one at a time. */
const CLAIM_BATCH_MS = 20;

/** What the bucket can hold: the burst less the spread's reserve, never less than one call. */
export function capacity(limit: RateLimit): number {
  return Math.max(1, limit.burst - (limit.perSecond * ARRIVAL_SPREAD_MS) / 1_000);
}

/** A bucket seen for the first time starts full. */
export function newBucket(limit: RateLimit, nowMs: number): Bucket {
  return { tokens: capacity(limit), atMs: nowMs };
}

/**
 * The bucket at `nowMs`. A clock read before another holder's refill (it waited for the row lock)
 * adds nothing and moves nothing back: the time it did not count is counted by the next refill.
 */
export function refill(bucket: Bucket, limit: RateLimit, nowMs: number): Bucket {
  const elapsedMs = Math.max(0, nowMs - bucket.atMs);
  return {
    tokens: Math.min(capacity(limit), bucket.tokens + (limit.perSecond * elapsedMs) / 1_000),
    atMs: Math.max(bucket.atMs, nowMs),
  };
}

/** Takes up to `wanted` whole tokens from a refilled bucket. */
export function take(bucket: Bucket, wanted: number): { bucket: Bucket; taken: number } {
  const taken = Math.max(0, Math.min(Math.floor(wanted), Math.floor(bucket.tokens)));
  return { bucket: { tokens: bucket.tokens - taken, atMs: bucket.atMs }, taken };
}

/** Gives back tokens taken for calls that were not made (the claim decided to wait or abandon). */
export function giveBack(bucket: Bucket, limit: RateLimit, unused: number): Bucket {
  return { tokens: Math.min(capacity(limit), bucket.tokens + Math.max(0, unused)), atMs: bucket.atMs };
}

/**
 * How many tokens a dispatcher with `freeSlots` calls to spare waits for before it claims: a few
 * milliseconds' worth, so that a fast rate is not one claim per token.
 */
export function tokensWorthClaiming(limit: RateLimit, freeSlots: number): number {
  const batch = Math.max(1, Math.ceil((limit.perSecond * CLAIM_BATCH_MS) / 1_000));
  return Math.max(1, Math.min(freeSlots, batch, Math.floor(capacity(limit))));
}

/** Milliseconds until the refilled bucket holds `tokens` whole tokens (0 when it does). */
export function msUntil(bucket: Bucket, limit: RateLimit, tokens: number): number {
  const missing = Math.min(tokens, Math.floor(capacity(limit))) - bucket.tokens;
  return missing <= 0 ? 0 : Math.ceil((missing * 1_000) / limit.perSecond);
}
