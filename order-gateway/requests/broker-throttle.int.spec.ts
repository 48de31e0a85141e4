import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import type { Pool } from '../../platform/index.ts';
import { BrokerThrottle } from './broker-throttle.ts';
import { capacity, type RateLimit } from './rate-limit.rules.ts';

const limit: RateLimit = { perSecond: 100, burst: 20 };

async function dbNowMs(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ ms: number }>(
    'SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS ms',
  );
  return rows[0]!.ms;
}

/** The bucket row on real PostgreSQL, shared by request servers that each have their own pool. */
describe('the token bucket of a broker, in PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('hands out no more than capacity + rate × time to many takers in two processes at once', async () => {
    const processes = [db.newPool(8), db.newPool(8)].map((pool) => ({
      pool,
      throttle: new BrokerThrottle(new Map([['primary', limit]])),
    }));
    const startMs = await dbNowMs(db.pool);
    let taken = 0;
    const taker = async ({ pool, throttle }: (typeof processes)[number], wanted: number) => {
      const until = Date.now() + 1_500;
      while (Date.now() < until) taken += await throttle.takeNow(pool, 'primary', wanted);
    };
    await Promise.all(processes.flatMap((p) => Array.from({ length: 8 }, (_, i) => taker(p, 1 + (i % 4)))));
    const elapsedSeconds = ((await dbNowMs(db.pool)) - startMs) / 1_000;
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(capacity(limit) + limit.perSecond * elapsedSeconds);
  });

  it('keeps its tokens across a restart: a new request server finds the bucket as the last one left it', async () => {
    const first = new BrokerThrottle(new Map([['after-restart', limit]]));
    expect(await first.takeNow(db.pool, 'after-restart', 1_000)).toBe(capacity(limit));
    const startMs = await dbNowMs(db.pool);
    const restarted = new BrokerThrottle(new Map([['after-restart', limit]]));
    const pool = db.newPool(2);
    const again = await restarted.takeNow(pool, 'after-restart', 1_000);
    const elapsedSeconds = ((await dbNowMs(db.pool)) - startMs) / 1_000;
    expect(again).toBeLessThanOrEqual(limit.perSecond * elapsedSeconds + 1);
  });

  it('gives every call to a broker without a limit', async () => {
    expect(await new BrokerThrottle(new Map([['primary', limit]])).takeNow(db.pool, 'secondary', 500)).toBe(500);
  });
});
