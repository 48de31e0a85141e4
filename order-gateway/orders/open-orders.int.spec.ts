import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { buildTestApp, TEST_OPS_KEY } from '../../test/support/trading-app.ts';
import type { App } from '../index.ts';

const MAX = 5;
const ops = { authorization: `Bearer ${TEST_OPS_KEY}` };

/** MAX_OPEN_ORDERS per account, held under concurrent placements from two trading servers. */
describe('open orders per account', () => {
  let db: TestDatabase;
  let first: App;
  let second: App;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Two trading servers, each with its own pool, as two processes would be.
    first = await buildTestApp(db, { maxOpenOrders: MAX });
    second = await buildTestApp(db, { maxOpenOrders: MAX, pool: db.newPool(10) });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
    await db.drop();
  });

  async function openAccount() {
    const created = await first.inject({
      method: 'POST',
      url: '/v1/ops/accounts',
      headers: ops,
      payload: { name: 'cap' },
    });
    const { accountId, apiKey } = created.json<{ accountId: string; apiKey: string }>();
    await first.inject({
      method: 'POST',
      url: `/v1/ops/accounts/${accountId}/deposits`,
      headers: ops,
      payload: { amount: '100000.00', currency: 'USD' },
    });
    return { accountId, headers: { authorization: `Bearer ${apiKey}` } };
  }

  const restingBuy = (clientOrderId: string) => ({
    clientOrderId,
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity: '1',
    limitPrice: '100.00',
  });

  async function booksOf(accountId: string) {
    const { rows } = await db.pool.query<{ open: number; outbox: number }>(
      `SELECT (SELECT count(*)::int FROM orders WHERE account_id = $1 AND status = 'pending_new') AS open,
              (SELECT count(*)::int FROM outbox WHERE message_key = $1::text) AS outbox`,
      [accountId],
    );
    return rows[0]!;
  }

  it('accepts exactly MAX of many concurrent placements and refuses the rest with 422 TOO_MANY_OPEN_ORDERS', async () => {
    const { accountId, headers } = await openAccount();
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, n) =>
        (n % 2 === 0 ? first : second).inject({
          method: 'POST',
          url: '/v1/orders',
          headers,
          payload: restingBuy(`race-${n}`),
        }),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(MAX);
    expect(statuses.filter((status) => status === 422)).toHaveLength(24 - MAX);
    for (const refused of answers.filter((answer) => answer.statusCode === 422)) {
      expect(refused.json()).toEqual({
        error: { code: 'TOO_MANY_OPEN_ORDERS', message: expect.any(String), details: { maxOpenOrders: MAX } },
      });
    }
    expect(await booksOf(accountId)).toEqual({ open: MAX, outbox: MAX });
    // Only the accepted orders hold cash: 5 × (100.00 + 0.10 commission).
    const account = await first.inject({ method: 'GET', url: '/v1/account', headers });
    expect(account.json<{ cash: { held: string } }>().cash.held).toBe('500.50');
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('still answers a repeated placement with its order, and lets other accounts place', async () => {
    const full = await openAccount();
    for (let n = 0; n < MAX; n++) {
      const placed = await first.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: full.headers,
        payload: restingBuy(`full-${n}`),
      });
      expect(placed.statusCode).toBe(201);
    }
    const repeated = await second.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: full.headers,
      payload: restingBuy('full-0'),
    });
    expect(repeated.statusCode).toBe(200);
    const beyond = await second.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: full.headers,
      payload: restingBuy('full-beyond'),
    });
    expect(beyond.statusCode).toBe(422);

    const other = await openAccount();
    const placed = await first.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: other.headers,
      payload: restingBuy('other-0'),
    });
    expect(placed.statusCode).toBe(201);
  });

  it('frees a place when an order is final', async () => {
    const { accountId, headers } = await openAccount();
    for (let n = 0; n < MAX; n++) {
      await first.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy(`free-${n}`) });
    }
    expect(
      (await first.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy('free-x') })).statusCode,
    ).toBe(422);
    // As the execution consumer leaves an order the broker rejected (the status is what is counted).
    await db.pool.query(
      `UPDATE orders SET status = 'rejected' WHERE id = (SELECT id FROM orders WHERE account_id = $1 LIMIT 1)`,
      [accountId],
    );
    expect(
      (await first.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy('free-y') })).statusCode,
    ).toBe(201);
  });
});
