import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARRIVAL_SPREAD_MS,
  capacity,
  giveBack,
  msUntil,
  newBucket,
  refill,
  take,
  tokensWorthClaiming,
  type Bucket,
  type RateLimit,
} from './rate-limit.rules.ts';

const aLimit: fc.Arbitrary<RateLimit> = fc.record({
  perSecond: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.double({ min: 0.1, max: 50, noNaN: true })),
  burst: fc.integer({ min: 1, max: 500 }),
});

interface Claim {
  gapMs: number;
  wanted: number;
  unused: number;
}

/**
 * A claim as a request server makes it: it gets the row lock `gapMs` after the previous holder, reads
 * the database's clock, wants some tokens, and gives back those its rows did not need.
 */
const aClaim: fc.Arbitrary<Claim> = fc.record({
  gapMs: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3_000 })),
  wanted: fc.integer({ min: 1, max: 64 }),
  unused: fc.integer({ min: 0, max: 64 }),
});

/** Runs claims against one bucket; each token used is a call at the real time of its claim. */
function drain(limit: RateLimit, claims: ReadonlyArray<Claim>, startMs = 1_000_000) {
  let bucket: Bucket = newBucket(limit, startMs);
  let realMs = startMs;
  const calls: number[] = [];
  for (const claim of claims) {
    realMs += claim.gapMs;
    const took = take(refill(bucket, limit, realMs), claim.wanted);
    const unused = Math.min(took.taken, claim.unused);
    bucket = giveBack(took.bucket, limit, unused);
    for (let i = 0; i < took.taken - unused; i++) calls.push(realMs);
  }
  return { calls, bucket };
}

describe('the token bucket of a broker', () => {
  it('never lets more than burst + rate × window calls through, over any window', () => {
    fc.assert(
      fc.property(aLimit, fc.array(aClaim, { maxLength: 200 }), (limit, claims) => {
        const { calls } = drain(limit, claims);
        // Calls i..j in a window of t_j - t_i: j - i + 1 ≤ bound + rate × window, for every i ≤ j, is
        // max over j of (j - rate × t_j) - min over i ≤ j of (i - rate × t_i) + 1 ≤ bound: one pass.
        let lowest = Infinity;
        let worst = 0;
        for (const [k, at] of calls.entries()) {
          const excess = k - (limit.perSecond * at) / 1_000;
          lowest = Math.min(lowest, excess);
          worst = Math.max(worst, excess - lowest + 1);
        }
        // The bucket keeps the arrival spread in reserve; the float sums get a hair of slack.
        expect(worst).toBeLessThanOrEqual(capacity(limit) + 1e-6);
        expect(worst).toBeLessThanOrEqual(limit.burst + 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it('holds a one-second window at the broker to rate + burst when calls arrive up to the spread late', () => {
    fc.assert(
      fc.property(
        aLimit.filter((limit) => limit.burst >= 1 + (limit.perSecond * ARRIVAL_SPREAD_MS) / 1_000),
        fc.array(aClaim, { maxLength: 150 }),
        fc.array(fc.integer({ min: 0, max: ARRIVAL_SPREAD_MS }), { minLength: 1 }),
        (limit, claims, delays) => {
          const arrivals = drain(limit, claims)
            .calls.map((at, i) => at + delays[i % delays.length]!)
            .sort((a, b) => a - b);
          let busiest = 0;
          for (let i = 0, j = 0; i < arrivals.length; i++) {
            while (j < arrivals.length && arrivals[j]! <= arrivals[i]! + 1_000) j++;
            busiest = Math.max(busiest, j - i);
          }
          expect(busiest).toBeLessThanOrEqual(limit.perSecond + limit.burst + 1e-6);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sends a queue in the order of placement, each once, none dropped', () => {
    fc.assert(
      fc.property(
        aLimit,
        fc.integer({ min: 0, max: 300 }),
        fc.array(aClaim, { minLength: 1, maxLength: 50 }),
        (limit, queued, claims) => {
          const queue = Array.from({ length: queued }, (_, i) => i + 1);
          const sent: number[] = [];
          let bucket = newBucket(limit, 0);
          let nowMs = 0;
          // The claims given, then as many as it takes: a queue drains whatever the claims look like.
          for (let round = 0; queue.length > 0; round++) {
            const claim = claims[round % claims.length]!;
            nowMs += Math.max(claim.gapMs, 50);
            const took = take(refill(bucket, limit, nowMs), claim.wanted);
            const rows = queue.splice(0, took.taken);
            // A claimed row that waits (its session) goes back to its place, with its token.
            const waiting = rows.length > 1 && claim.unused > 40 ? rows.splice(-1) : [];
            queue.unshift(...waiting);
            bucket = giveBack(took.bucket, limit, took.taken - rows.length);
            sent.push(...rows);
          }
          expect(sent).toEqual(Array.from({ length: queued }, (_, i) => i + 1));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('has the tokens a dispatcher waits for once the wait is over', () => {
    fc.assert(
      fc.property(
        aLimit,
        fc.double({ min: 0, max: 600, noNaN: true }),
        fc.integer({ min: 1, max: 100 }),
        (limit, tokens, freeSlots) => {
          const bucket = { tokens: Math.min(tokens, capacity(limit)), atMs: 0 };
          const wanted = tokensWorthClaiming(limit, freeSlots);
          expect(wanted).toBeGreaterThanOrEqual(1);
          expect(wanted).toBeLessThanOrEqual(Math.max(1, Math.min(freeSlots, Math.floor(capacity(limit)))));
          const waitMs = msUntil(bucket, limit, wanted);
          expect(Math.floor(refill(bucket, limit, waitMs).tokens + 1e-9)).toBeGreaterThanOrEqual(wanted);
        },
      ),
    );
  });

  it('refills nothing for a clock read before the last refill, and loses no time by it', () => {
    const limit = { perSecond: 10, burst: 20 };
    const empty = { tokens: 0, atMs: 1_000 };
    expect(refill(empty, limit, 900)).toEqual(empty);
    expect(refill(refill(empty, limit, 900), limit, 1_500).tokens).toBeCloseTo(5);
  });

  it('starts full, holding back the spread from the burst, but always at least one call', () => {
    expect(newBucket({ perSecond: 100, burst: 50 }, 0).tokens).toBe(40);
    expect(newBucket({ perSecond: 100, burst: 5 }, 0).tokens).toBe(1);
    expect(take(newBucket({ perSecond: 100, burst: 50 }, 0), 64).taken).toBe(40);
  });
});
