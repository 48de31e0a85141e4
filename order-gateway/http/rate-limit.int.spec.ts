import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { buildTestApp, TEST_OPS_KEY } from '../../test/support/trading-app.ts';
import type { App } from '../index.ts';

const LIMIT = 5;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Requests per key per minute: a burst is throttled with 429 and changes nothing; others go on. */
describe('rate limit', () => {
  let db: TestDatabase;
  let app: App;
  const refusals: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, { rateLimitPerMinute: LIMIT, onRefused: (reason) => refusals.push(reason) });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  // Opening accounts would count against the ops key; a second, unthrottled app on the same
  // database does it, as another trading server would.
  async function openAccount(): Promise<{ accountId: string; key: string }> {
    const opsApp = await buildTestApp(db);
    try {
      const created = await opsApp.inject({
        method: 'POST',
        url: '/v1/ops/accounts',
        headers: bearer(TEST_OPS_KEY),
        payload: { name: 'burst' },
      });
      const { accountId, apiKey } = created.json<{ accountId: string; apiKey: string }>();
      await opsApp.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/deposits`,
        headers: bearer(TEST_OPS_KEY),
        payload: { amount: '100000.00', currency: 'USD' },
      });
      return { accountId, key: apiKey };
    } finally {
      await opsApp.close();
    }
  }

  const order = (clientOrderId: string) => ({
    clientOrderId,
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity: '1',
    limitPrice: '100.00',
  });

  async function stateOf(accountId: string) {
    const { rows } = await db.pool.query<{ orders: number; outbox: number }>(
      `SELECT (SELECT count(*)::int FROM orders WHERE account_id = $1) AS orders,
              (SELECT count(*)::int FROM outbox WHERE message_key = $1::text) AS outbox`,
      [accountId],
    );
    return rows[0]!;
  }

  it('answers a burst beyond the limit with 429, Retry-After and the RateLimit headers, and changes nothing', async () => {
    const alice = await openAccount();
    refusals.length = 0;
    const answers = [];
    for (let n = 0; n < LIMIT + 3; n++) {
      answers.push(
        await app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(alice.key), payload: order(`b-${n}`) }),
      );
    }
    expect(answers.map((answer) => answer.statusCode)).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    // Allowed answers count down.
    expect(answers.slice(0, LIMIT).map((answer) => answer.headers['ratelimit-remaining'])).toEqual([
      '4',
      '3',
      '2',
      '1',
      '0',
    ]);
    for (const refused of answers.slice(LIMIT)) {
      expect(refused.json()).toEqual({
        error: {
          code: 'RATE_LIMITED',
          message: expect.any(String),
          details: { limit: LIMIT, retryAfterSeconds: expect.any(Number) },
        },
      });
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers).toMatchObject({
        'ratelimit-limit': String(LIMIT),
        'ratelimit-remaining': '0',
        'ratelimit-reset': String(retryAfter),
      });
    }
    expect(await stateOf(alice.accountId)).toEqual({ orders: LIMIT, outbox: LIMIT });

    // Throttled before the body is read: even an invalid body gets 429, not 400; reads too.
    const invalid = await app.inject({ method: 'POST', url: '/v1/orders', headers: bearer(alice.key), payload: '{' });
    expect(invalid.statusCode).toBe(429);
    expect((await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(alice.key) })).statusCode).toBe(429);
    expect(await stateOf(alice.accountId)).toEqual({ orders: LIMIT, outbox: LIMIT });
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
    expect(refusals).toEqual(Array.from({ length: 5 }, () => 'rate_limited'));
  });

  it("leaves another key, even the same account's, and the health probes alone", async () => {
    const alice = await openAccount();
    const bob = await openAccount();
    for (let n = 0; n < LIMIT + 1; n++) {
      await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(alice.key) });
    }
    expect((await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(alice.key) })).statusCode).toBe(429);

    const placed = await app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: bearer(bob.key),
      payload: order('bob'),
    });
    expect(placed.statusCode).toBe(201);
    expect(placed.headers['ratelimit-remaining']).toBe(String(LIMIT - 1));
    for (let n = 0; n < LIMIT + 2; n++) {
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    }
  });

  it('counts requests without a key by their address', async () => {
    const from = (remoteAddress: string) => app.inject({ method: 'GET', url: '/v1/instruments', remoteAddress });
    for (let n = 0; n < LIMIT; n++) expect((await from('198.51.100.1')).statusCode).toBe(200);
    const refused = await from('198.51.100.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('RATE_LIMITED');
    expect((await from('198.51.100.2')).statusCode).toBe(200);
  });
});
