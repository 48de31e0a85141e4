import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { buildTestApp, TEST_OPS_KEY } from '../../test/support/trading-app.ts';
import type { App } from '../index.ts';

const ops = { authorization: `Bearer ${TEST_OPS_KEY}` };

/**
 * Group commit of placements (order.service.ts, placeBatch): placements that arrive together share a
 * transaction, and each is still refused, answered and made idempotent on its own.
 */
describe('placements that arrive together', () => {
  let db: TestDatabase;
  let app: App;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  async function openAccount(cash: string) {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/ops/accounts',
      headers: ops,
      payload: { name: 'gc' },
    });
    const { accountId, apiKey } = created.json<{ accountId: string; apiKey: string }>();
    await app.inject({
      method: 'POST',
      url: `/v1/ops/accounts/${accountId}/deposits`,
      headers: ops,
      payload: { amount: cash, currency: 'USD' },
    });
    return { accountId, headers: { authorization: `Bearer ${apiKey}` } };
  }

  const restingBuy = (clientOrderId: string, limitPrice = '100.00') => ({
    clientOrderId,
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity: '1',
    limitPrice,
  });

  async function rowsOf(accountId: string) {
    const { rows } = await db.pool.query<{ orders: number; outbox: number; holds: number; seqs: string[] }>(
      `SELECT (SELECT count(*)::int FROM orders WHERE account_id = $1) AS orders,
              (SELECT count(*)::int FROM outbox WHERE message_key = $1::text) AS outbox,
              (SELECT count(*)::int FROM ledger_holds WHERE account_id = $1::text) AS holds,
              (SELECT coalesce(array_agg(seq::text ORDER BY seq), '{}') FROM account_events WHERE account_id = $1) AS seqs`,
      [accountId],
    );
    return rows[0]!;
  }

  it('given more buys than the cash covers, placed at once, then exactly those it covers are placed and the rest are refused leaving nothing behind', async () => {
    // 5 × (100.00 + 0.10 commission) fits in 501.00; a sixth does not.
    const { accountId, headers } = await openAccount('501.00');
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        app.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy(`cash-${n}`) }),
      ),
    );
    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    for (const refused of answers.filter((answer) => answer.statusCode !== 201)) {
      expect(refused.statusCode).toBe(422);
      expect(refused.json<{ error: { code: string } }>().error.code).toBe('INSUFFICIENT_BUYING_POWER');
    }
    const rows = await rowsOf(accountId);
    expect({ orders: rows.orders, outbox: rows.outbox, holds: rows.holds }).toEqual({ orders: 5, outbox: 5, holds: 5 });
    // One `accepted` event per placed order, numbered without gaps whatever batch it was in.
    expect(rows.seqs.map(Number)).toEqual([1, 2, 3, 4, 5]);
    const account = await app.inject({ method: 'GET', url: '/v1/account', headers });
    expect(account.json<{ cash: { held: string } }>().cash.held).toBe('500.50');
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('given the same clientOrderId placed many times at once, then one order is made and every repeat answers with it; another body under it is a conflict', async () => {
    const { accountId, headers } = await openAccount('10000.00');
    const first = await Promise.all(
      Array.from({ length: 6 }, () =>
        app.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy('same') }),
      ),
    );
    expect(first.map((answer) => answer.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const orderId = first.find((answer) => answer.statusCode === 201)!.json<{ id: string }>().id;
    expect(first.every((answer) => answer.json<{ id: string }>().id === orderId)).toBe(true);
    // Then repeats and a different body under the same id, at once: the repeats answer with the order.
    const [other, ...repeats] = await Promise.all([
      app.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy('same', '101.00') }),
      ...Array.from({ length: 3 }, () =>
        app.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy('same') }),
      ),
    ]);
    expect(other.statusCode).toBe(409);
    expect(other.json<{ error: { code: string } }>().error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(repeats.map((answer) => [answer.statusCode, answer.json<{ id: string }>().id])).toEqual(
      repeats.map(() => [200, orderId]),
    );
    const rows = await rowsOf(accountId);
    expect({ orders: rows.orders, outbox: rows.outbox, holds: rows.holds, events: rows.seqs.length }).toEqual({
      orders: 1,
      outbox: 1,
      holds: 1,
      events: 1,
    });
  });

  it('given many accounts placing at once, then their placements share transactions and each account gets its own orders and events', async () => {
    const accounts = await Promise.all(Array.from({ length: 8 }, () => openAccount('10000.00')));
    const answers = await Promise.all(
      accounts.flatMap(({ headers }, a) =>
        Array.from({ length: 3 }, (_, n) =>
          app.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy(`many-${a}-${n}`) }),
        ),
      ),
    );
    expect(answers.every((answer) => answer.statusCode === 201)).toBe(true);
    for (const { accountId } of accounts) {
      const rows = await rowsOf(accountId);
      expect(rows.orders).toBe(3);
      expect(rows.seqs.map(Number)).toEqual([1, 2, 3]);
    }
    // Orders written by one transaction share its id (xmin): fewer transactions than orders.
    const { rows } = await db.pool.query<{ transactions: number }>(
      `SELECT count(DISTINCT xmin::text)::int AS transactions FROM orders WHERE account_id = ANY($1::uuid[])`,
      [accounts.map((account) => account.accountId)],
    );
    expect(rows[0]!.transactions).toBeLessThan(24);
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });
  it('given one placement whose statement fails in a shared transaction, then only it gets the error and the others are placed', async () => {
    // The fault: the database refuses one order's row, as a constraint would, failing its whole batch.
    await db.pool.query(`
      CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.client_order_id LIKE 'poison%' THEN RAISE EXCEPTION 'refused by the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION refuse_poison();`);
    try {
      const { accountId, headers } = await openAccount('10000.00');
      const ids = Array.from({ length: 12 }, (_, n) => (n === 5 ? 'poison-5' : `good-${n}`));
      const answers = await Promise.all(
        ids.map((id) => app.inject({ method: 'POST', url: '/v1/orders', headers, payload: restingBuy(id) })),
      );
      expect(answers.map((answer, n) => [ids[n], answer.statusCode >= 500 ? 'error' : answer.statusCode])).toEqual(
        ids.map((id) => [id, id.startsWith('poison') ? 'error' : 201]),
      );
      const rows = await rowsOf(accountId);
      expect({ orders: rows.orders, outbox: rows.outbox, holds: rows.holds }).toEqual({
        orders: 11,
        outbox: 11,
        holds: 11,
      });
      expect(rows.seqs.map(Number)).toEqual(Array.from({ length: 11 }, (_, n) => n + 1));
      expect(await checkLedgerInvariants(db.pool)).toEqual([]);
    } finally {
      await db.pool.query('DROP TRIGGER refuse_poison ON orders; DROP FUNCTION refuse_poison()');
    }
  });
});
