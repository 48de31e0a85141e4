import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedgerInvariants } from '../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { buildTestApp, fixedMarketData, TEST_OPS_KEY } from '../test/support/trading-app.ts';
import type { App } from './index.ts';

/** The trading API of docs/api.md on real PostgreSQL: every endpoint, error code and isolation rule. */
describe('trading API', () => {
  let db: TestDatabase;
  let app: App;
  const market = fixedMarketData();
  const ops = { authorization: `Bearer ${TEST_OPS_KEY}` };

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db, { marketData: market });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  async function openAccount(deposit = '100000.00') {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/ops/accounts',
      headers: ops,
      payload: { name: 'Kim Minji' },
    });
    expect(created.statusCode).toBe(201);
    const { accountId, apiKey } = created.json<{ accountId: string; apiKey: string }>();
    if (deposit !== '0') {
      const deposited = await app.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/deposits`,
        headers: ops,
        payload: { amount: deposit, currency: 'USD' },
      });
      expect(deposited.statusCode).toBe(201);
    }
    return { accountId, headers: { authorization: `Bearer ${apiKey}` } };
  }

  const limitBuy = (clientOrderId: string, extra: Record<string, unknown> = {}) => ({
    clientOrderId,
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity: '10',
    limitPrice: '187.25',
    timeInForce: 'day',
    extendedHours: false,
    ...extra,
  });

  describe('ops', () => {
    it('opens an account and shows its key once', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/ops/accounts',
        headers: ops,
        payload: { name: 'Lee' },
      });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({
        accountId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        apiKey: expect.stringMatching(/^key_/),
      });
      const { rows } = await db.pool.query<{ hash: Buffer }>('SELECT key_hash AS hash FROM gateway_api_keys');
      expect(rows.every((row) => !row.hash.toString('utf8').includes('key_'))).toBe(true);
    });

    it('refuses a name PostgreSQL cannot store (a NUL character) with 400, and opens nothing', async () => {
      const before = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM gateway_accounts');
      const response = await app.inject({
        method: 'POST',
        url: '/v1/ops/accounts',
        headers: ops,
        payload: { name: 'Lee\u0000Minho' },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      const after = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM gateway_accounts');
      expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    });

    it('deposits and answers with the new cash balance', async () => {
      const { accountId, headers } = await openAccount('0');
      const response = await app.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/deposits`,
        headers: ops,
        payload: { amount: '1000.5', currency: 'USD' },
      });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({
        accountId,
        cash: { currency: 'USD', total: '1000.50', available: '1000.50', held: '0.00' },
      });
      const account = await app.inject({ method: 'GET', url: '/v1/account', headers });
      expect(account.json()).toEqual({
        accountId,
        cash: { currency: 'USD', total: '1000.50', available: '1000.50', held: '0.00' },
        positions: [],
      });
    });

    it.each([
      [{ amount: 100, currency: 'USD' }, 'amount'],
      [{ amount: '-5.00', currency: 'USD' }, 'amount'],
      [{ amount: '0', currency: 'USD' }, 'amount'],
      [{ amount: '1.001', currency: 'USD' }, 'amount'],
      [{ amount: '1e3', currency: 'USD' }, 'amount'],
      [{ amount: '10.00', currency: 'KRW' }, 'currency'],
      [{ amount: '10.00', currency: 'USD', memo: 'x' }, 'memo'],
    ])('refuses the deposit %j with 400 naming %s, and changes nothing', async (payload, field) => {
      const { accountId, headers } = await openAccount('50.00');
      const response = await app.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/deposits`,
        headers: ops,
        payload,
      });
      expect(response.statusCode).toBe(400);
      const body = response.json<{ error: { code: string; details: { field: string }[] } }>();
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.details.map((d) => d.field)).toContain(field);
      const account = await app.inject({ method: 'GET', url: '/v1/account', headers });
      expect(account.json<{ cash: { total: string } }>().cash.total).toBe('50.00');
    });

    it('answers 404 for a deposit into an unknown account', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        const response = await app.inject({
          method: 'POST',
          url: `/v1/ops/accounts/${id}/deposits`,
          headers: ops,
          payload: { amount: '1.00', currency: 'USD' },
        });
        expect(response.statusCode).toBe(404);
      }
    });
  });

  describe('authentication and isolation', () => {
    it('answers 401 without a key, with a wrong key, and with the other kind of key', async () => {
      const { headers } = await openAccount();
      const cases: Array<[string, string, Record<string, string>]> = [
        ['GET', '/v1/account', {}],
        ['GET', '/v1/account', { authorization: 'Bearer key_wrong' }],
        ['GET', '/v1/account', { authorization: 'Basic abc' }],
        ['GET', '/v1/account', ops],
        ['GET', '/v1/orders', ops],
        ['POST', '/v1/ops/accounts', headers],
        ['POST', '/v1/ops/accounts', {}],
      ];
      for (const [method, url, auth] of cases) {
        const response = await app.inject({
          method: method as 'GET',
          url,
          headers: auth,
          payload: method === 'POST' ? { name: 'x' } : undefined,
        });
        expect(response.statusCode, `${method} ${url} ${JSON.stringify(auth)}`).toBe(401);
        expect(response.json<{ error: { code: string } }>().error.code).toBe('UNAUTHORIZED');
      }
    });

    it("hides another account's order exactly as if it did not exist", async () => {
      const alice = await openAccount();
      const bob = await openAccount();
      const placed = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: alice.headers,
        payload: limitBuy('iso-1'),
      });
      const orderId = placed.json<{ id: string }>().id;
      const missing = await app.inject({
        method: 'GET',
        url: '/v1/orders/00000000-0000-4000-8000-000000000000',
        headers: bob.headers,
      });
      const foreign = await app.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: bob.headers });
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json()).toEqual({
        ...missing.json<object>(),
        error: { ...missing.json<{ error: object }>().error, details: { orderId } },
      });
      const cancel = await app.inject({ method: 'DELETE', url: `/v1/orders/${orderId}`, headers: bob.headers });
      expect(cancel.statusCode).toBe(404);
      const list = await app.inject({ method: 'GET', url: '/v1/orders?status=all', headers: bob.headers });
      expect(list.json()).toEqual({ orders: [], next: null });
    });
  });

  describe('placing orders', () => {
    it('accepts a limit buy as pending_new and holds its worst-case cost plus commission', async () => {
      const { accountId, headers } = await openAccount('10000.00');
      const response = await app.inject({ method: 'POST', url: '/v1/orders', headers, payload: limitBuy('buy-1') });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({
        clientOrderId: 'buy-1',
        accountId,
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        quantity: '10',
        limitPrice: '187.25',
        timeInForce: 'day',
        extendedHours: false,
        status: 'pending_new',
        filledQuantity: '0',
        averageFillPrice: null,
        commission: '0.00',
        rejectReason: null,
        fills: [],
      });
      // 10 × 187.25 = 1872.50, commission 10 bps = 1.8725 → 1.87
      const account = await app.inject({ method: 'GET', url: '/v1/account', headers });
      expect(account.json<{ cash: object }>().cash).toEqual({
        currency: 'USD',
        total: '10000.00',
        available: '8125.63',
        held: '1874.37',
      });
      const { rows } = await db.pool.query(
        "SELECT topic, message_key, payload FROM outbox WHERE payload->>'orderId' = $1",
        [response.json<{ id: string }>().id],
      );
      expect(rows).toEqual([
        {
          topic: 'order-requests',
          message_key: accountId,
          payload: expect.objectContaining({ type: 'SubmitOrder', collarPrice: null }),
        },
      ]);
    });

    it('holds a market buy at the last price plus the collar, and sends the collar to the broker', async () => {
      const { headers } = await openAccount('10000.00');
      const response = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers,
        payload: { clientOrderId: 'mkt-1', symbol: 'AAPL', side: 'buy', type: 'market', quantity: '0.5' },
      });
      expect(response.statusCode).toBe(201);
      // 187.25 × 1.05 = 196.6125 → 196.62; 0.5 × 196.62 = 98.31; commission 0.098 → 0.10
      const account = await app.inject({ method: 'GET', url: '/v1/account', headers });
      expect(account.json<{ cash: { held: string } }>().cash.held).toBe('98.41');
      const { rows } = await db.pool.query<{ payload: { collarPrice: string } }>(
        "SELECT payload FROM outbox WHERE payload->>'orderId' = $1",
        [response.json<{ id: string }>().id],
      );
      expect(rows[0]!.payload.collarPrice).toBe('196.62');
    });

    it('returns the same order for the same clientOrderId and body, and 409 for another body', async () => {
      const { headers } = await openAccount();
      const first = await app.inject({ method: 'POST', url: '/v1/orders', headers, payload: limitBuy('idem-1') });
      const again = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers,
        payload: limitBuy('idem-1', { quantity: '10.000' }),
      });
      expect(again.statusCode).toBe(200);
      expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
      const conflict = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers,
        payload: limitBuy('idem-1', { quantity: '11' }),
      });
      expect(conflict.statusCode).toBe(409);
      expect(conflict.json<{ error: { code: string } }>().error.code).toBe('IDEMPOTENCY_CONFLICT');
      const held = (await app.inject({ method: 'GET', url: '/v1/account', headers })).json<{ cash: { held: string } }>()
        .cash.held;
      expect(held).toBe('1874.37');
    });

    it('creates exactly one order from concurrent duplicates', async () => {
      const { headers } = await openAccount();
      const responses = await Promise.all(
        Array.from({ length: 12 }, () =>
          app.inject({ method: 'POST', url: '/v1/orders', headers, payload: limitBuy('race-1') }),
        ),
      );
      expect(responses.map((r) => r.statusCode).sort()).toEqual([
        200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201,
      ]);
      expect(new Set(responses.map((r) => r.json<{ id: string }>().id)).size).toBe(1);
      const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM orders WHERE client_order_id = 'race-1'");
      expect(rows[0]).toEqual({ n: 1 });
      expect(
        (await app.inject({ method: 'GET', url: '/v1/account', headers })).json<{ cash: { held: string } }>().cash.held,
      ).toBe('1874.37');
    });

    it.each([
      ['a JSON number for quantity', { quantity: 10 }, 'quantity'],
      ['a negative quantity', { quantity: '-1' }, 'quantity'],
      ['zero quantity', { quantity: '0' }, 'quantity'],
      ['7 fractional digits', { quantity: '0.0000001' }, 'quantity'],
      ['an exponent', { quantity: '1e2' }, 'quantity'],
      ['a missing limit price', { limitPrice: undefined }, 'limitPrice'],
      ['a limit price on a market order', { type: 'market' }, 'limitPrice'],
      ['a bad clientOrderId', { clientOrderId: 'has space' }, 'clientOrderId'],
      ['a too long clientOrderId', { clientOrderId: 'x'.repeat(65) }, 'clientOrderId'],
      ['an unknown side', { side: 'short' }, 'side'],
      ['an unknown time in force', { timeInForce: 'fok' }, 'timeInForce'],
      ['an unknown field', { leverage: '10' }, 'leverage'],
      ['a string for extendedHours', { extendedHours: 'yes' }, 'extendedHours'],
    ])('refuses %s with 400 VALIDATION_FAILED', async (_what, change, field) => {
      const { headers } = await openAccount();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers,
        payload: limitBuy('bad-1', change),
      });
      expect(response.statusCode).toBe(400);
      const body = response.json<{ error: { code: string; details: { field: string }[] } }>();
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.details.map((d) => d.field)).toContain(field);
      expect((await db.pool.query("SELECT 1 FROM orders WHERE client_order_id = 'bad-1'")).rowCount).toBe(0);
    });

    it('refuses malformed JSON and a non-object body with 400', async () => {
      const { headers } = await openAccount();
      for (const payload of ['{"clientOrderId": ', '[]', '"text"', 'null']) {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/orders',
          headers: { ...headers, 'content-type': 'application/json' },
          payload,
        });
        expect(response.statusCode, payload).toBe(400);
        expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
      }
    });

    it.each([
      ['FRACTIONAL_NOT_ALLOWED', { quantity: '1.5' }],
      ['FRACTIONAL_NOT_ALLOWED', { type: 'market', limitPrice: undefined, quantity: '1.5', timeInForce: 'gtc' }],
      ['INVALID_PRICE_INCREMENT', { limitPrice: '187.255' }],
      ['INVALID_PRICE_INCREMENT', { symbol: 'PNNY', limitPrice: '0.41255' }],
      ['UNKNOWN_SYMBOL', { symbol: 'ZZZZ' }],
      ['INSUFFICIENT_BUYING_POWER', { quantity: '1000' }],
      ['INSUFFICIENT_POSITION', { side: 'sell' }],
      ['EXTENDED_HOURS_NOT_ALLOWED', { type: 'market', limitPrice: undefined, extendedHours: true }],
    ])('refuses with 422 %s and changes nothing', async (code, change) => {
      const { headers } = await openAccount('10000.00');
      const response = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers,
        payload: limitBuy('rule-1', change),
      });
      expect(response.statusCode).toBe(422);
      expect(response.json<{ error: { code: string } }>().error.code).toBe(code);
      const account = await app.inject({ method: 'GET', url: '/v1/account', headers });
      expect(account.json<{ cash: { held: string } }>().cash.held).toBe('0.00');
      expect(
        (await app.inject({ method: 'GET', url: '/v1/orders?status=all', headers })).json<{ orders: unknown[] }>()
          .orders,
      ).toEqual([]);
    });

    it('accepts sub-dollar prices to four decimals', async () => {
      const { headers } = await openAccount();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers,
        payload: limitBuy('penny-1', { symbol: 'PNNY', limitPrice: '0.4125', quantity: '1000' }),
      });
      expect(response.statusCode).toBe(201);
      expect(response.json<{ limitPrice: string }>().limitPrice).toBe('0.4125');
    });
  });

  describe('reading and canceling', () => {
    it('lists newest first with a cursor, filtered by status', async () => {
      const { headers } = await openAccount();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(
          (
            await app.inject({
              method: 'POST',
              url: '/v1/orders',
              headers,
              payload: limitBuy(`page-${i}`, { quantity: '1' }),
            })
          ).json<{ id: string }>().id,
        );
      }
      await app.inject({ method: 'DELETE', url: `/v1/orders/${ids[0]}`, headers });
      const first = (await app.inject({ method: 'GET', url: '/v1/orders?status=all&limit=2', headers })).json<{
        orders: { id: string }[];
        next: string;
      }>();
      expect(first.orders.map((o) => o.id)).toEqual([ids[4], ids[3]]);
      const second = (
        await app.inject({ method: 'GET', url: `/v1/orders?status=all&limit=2&after=${first.next}`, headers })
      ).json<{ orders: { id: string }[]; next: string }>();
      expect(second.orders.map((o) => o.id)).toEqual([ids[2], ids[1]]);
      const third = (
        await app.inject({ method: 'GET', url: `/v1/orders?status=all&limit=2&after=${second.next}`, headers })
      ).json<{ orders: { id: string }[]; next: string | null }>();
      expect(third).toEqual({ orders: [expect.objectContaining({ id: ids[0] })], next: null });
      const open = (await app.inject({ method: 'GET', url: '/v1/orders', headers })).json<{
        orders: { id: string; status: string }[];
      }>();
      // The canceled one never reached the broker (no request server here): canceled at once, closed.
      expect(open.orders.map((o) => o.status)).toEqual(['pending_new', 'pending_new', 'pending_new', 'pending_new']);
      for (const bad of ['status=done', 'limit=0', 'limit=501', 'after=abc', 'limit=x']) {
        expect((await app.inject({ method: 'GET', url: `/v1/orders?${bad}`, headers })).statusCode, bad).toBe(400);
      }
    });

    it('cancels an order that never reached the broker at once, releasing its hold, and never sends it', async () => {
      const { headers } = await openAccount();
      const orderId = (
        await app.inject({ method: 'POST', url: '/v1/orders', headers, payload: limitBuy('cxl-0') })
      ).json<{ id: string }>().id;
      const canceled = await app.inject({ method: 'DELETE', url: `/v1/orders/${orderId}`, headers });
      expect(canceled.statusCode).toBe(202);
      expect(canceled.json<{ status: string }>().status).toBe('canceled');
      const account = await app.inject({ method: 'GET', url: '/v1/account', headers });
      expect(account.json<{ cash: { held: string } }>().cash.held).toBe('0.00');
      // Its request, still on its way, arrives to a submission already abandoned.
      const { rows } = await db.pool.query(
        "SELECT state FROM broker_submissions WHERE order_id = $1 AND kind = 'submit'",
        [orderId],
      );
      expect(rows).toEqual([{ state: 'abandoned' }]);
      expect((await app.inject({ method: 'DELETE', url: `/v1/orders/${orderId}`, headers })).statusCode).toBe(202);
    });

    it('cancels to pending_cancel once, sending one cancel to the broker', async () => {
      const { accountId, headers } = await openAccount();
      const orderId = (
        await app.inject({ method: 'POST', url: '/v1/orders', headers, payload: limitBuy('cxl-1') })
      ).json<{ id: string }>().id;
      // The request server has sent it: it may be at the broker, so only the broker can cancel it.
      await db.pool.query(
        `INSERT INTO broker_submissions (order_id, kind, account_id, request, state, snapshot, machine_version)
         VALUES ($1, 'submit', $2, '{}', 'sending',
                 '{"value":"sending","context":{"attempts":1,"brokerOrderId":null,"lastError":null}}', 'submission@1')`,
        [orderId, accountId],
      );
      const first = await app.inject({ method: 'DELETE', url: `/v1/orders/${orderId}`, headers });
      expect(first.statusCode).toBe(202);
      expect(first.json<{ status: string }>().status).toBe('pending_cancel');
      const second = await app.inject({ method: 'DELETE', url: `/v1/orders/${orderId}`, headers });
      expect(second.statusCode).toBe(202);
      const { rows } = await db.pool.query(
        "SELECT count(*)::int AS n FROM outbox WHERE payload->>'orderId' = $1 AND payload->>'type' = 'CancelOrder'",
        [orderId],
      );
      expect(rows[0]).toEqual({ n: 1 });
    });

    it('answers 404 for an unknown or malformed order id', async () => {
      const { headers } = await openAccount();
      for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', "1' OR '1'='1"]) {
        expect(
          (await app.inject({ method: 'GET', url: `/v1/orders/${encodeURIComponent(id)}`, headers })).statusCode,
        ).toBe(404);
        expect(
          (await app.inject({ method: 'DELETE', url: `/v1/orders/${encodeURIComponent(id)}`, headers })).statusCode,
        ).toBe(404);
      }
    });
  });

  describe('market, docs, health', () => {
    it('serves instruments and the clock without a key', async () => {
      const instruments = await app.inject({ method: 'GET', url: '/v1/instruments' });
      expect(instruments.json()).toContainEqual({
        symbol: 'AAPL',
        name: 'AAPL Inc.',
        lastPrice: '187.25',
        tradable: true,
      });
      expect((await app.inject({ method: 'GET', url: '/v1/market/clock' })).json()).toMatchObject({
        session: 'regular',
      });
    });

    it('serves the OpenAPI description generated from the validating schemas', async () => {
      const docs = await app.inject({ method: 'GET', url: '/docs' });
      expect(docs.statusCode).toBe(200);
      const spec = docs.json<{ openapi: string; paths: Record<string, object> }>();
      expect(spec.openapi).toMatch(/^3\./);
      expect(Object.keys(spec.paths)).toEqual(
        expect.arrayContaining([
          '/v1/orders',
          '/v1/orders/{id}',
          '/v1/account',
          '/v1/instruments',
          '/v1/market/clock',
          '/v1/ops/accounts',
          '/v1/ops/accounts/{id}/deposits',
        ]),
      );
      expect(JSON.stringify(spec)).toContain('clientOrderId');
    });

    it('answers unknown routes with the contract error body', async () => {
      const response = await app.inject({ method: 'GET', url: '/v2/whatever' });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String), details: null } });
    });
  });

  it('leaves the ledger consistent after everything above', async () => {
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
    market.set('AAPL', '187.25');
  });
});
