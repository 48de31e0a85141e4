import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedgerInvariants } from '../ledger/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { buildTestApp, TEST_OPS_KEY } from '../test/support/trading-app.ts';
import type { App } from './index.ts';

/**
 * No input ever yields a 5xx, and a refused input changes nothing: random bodies, query strings
 * and paths against the real API on real PostgreSQL.
 */
describe('trading API under random input', () => {
  let db: TestDatabase;
  let app: App;
  let headers: Record<string, string>;
  let accountId: string;
  const ops = { authorization: `Bearer ${TEST_OPS_KEY}` };

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await buildTestApp(db);
    const created = (
      await app.inject({ method: 'POST', url: '/v1/ops/accounts', headers: ops, payload: { name: 'fuzz' } })
    ).json<{ accountId: string; apiKey: string }>();
    accountId = created.accountId;
    headers = { authorization: `Bearer ${created.apiKey}` };
    await app.inject({
      method: 'POST',
      url: `/v1/ops/accounts/${accountId}/deposits`,
      headers: ops,
      payload: { amount: '5000.00', currency: 'USD' },
    });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  // Values that look almost right are the interesting ones.
  const nearlyValid = fc.oneof(
    fc.constantFrom(
      '10',
      '0',
      '-1',
      '1e3',
      '0.0000001',
      '187.255',
      '99999999999999999999',
      ' 10',
      '10 ',
      '',
      'NaN',
      'Infinity',
      '0x10',
      '1,000',
    ),
    fc.constantFrom('AAPL', 'aapl', 'PNNY', 'ZZZZ', 'buy', 'sell', 'market', 'limit', 'day', 'gtc', 'ioc', 'fok'),
    fc.string({ maxLength: 80 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  );
  const orderBody = fc.record(
    {
      clientOrderId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), nearlyValid),
      symbol: nearlyValid,
      side: nearlyValid,
      type: nearlyValid,
      quantity: nearlyValid,
      limitPrice: nearlyValid,
      timeInForce: nearlyValid,
      extendedHours: nearlyValid,
      extra: nearlyValid,
    },
    { requiredKeys: [] },
  );

  it('never answers 5xx to an order body, and every refusal leaves the books as they were', async () => {
    await fc.assert(
      fc.asyncProperty(orderBody, async (body) => {
        const before = (await app.inject({ method: 'GET', url: '/v1/account', headers })).json<{
          cash: { held: string };
        }>();
        const response = await app.inject({ method: 'POST', url: '/v1/orders', headers, payload: body });
        expect(response.statusCode, JSON.stringify(body)).toBeLessThan(500);
        const parsed = response.json<{ error?: { code: string; message: string } }>();
        if (response.statusCode >= 400) {
          expect(parsed.error?.code).toMatch(/^[A-Z_]+$/);
          const after = (await app.inject({ method: 'GET', url: '/v1/account', headers })).json<{
            cash: { held: string };
          }>();
          expect(after.cash.held).toBe(before.cash.held);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never answers 5xx to raw bytes, odd content types, query strings or paths', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=latin1',
        ),
        fc.string({ maxLength: 40 }),
        async (raw, contentType, fragment) => {
          const encoded = encodeURIComponent(fragment);
          const requests = [
            app.inject({
              method: 'POST',
              url: '/v1/orders',
              headers: { ...headers, 'content-type': contentType },
              payload: raw,
            }),
            app.inject({
              method: 'POST',
              url: `/v1/ops/accounts/${accountId}/deposits`,
              headers: { ...ops, 'content-type': contentType },
              payload: raw,
            }),
            app.inject({
              method: 'GET',
              url: `/v1/orders?status=${encoded}&limit=${encoded}&after=${encoded}`,
              headers,
            }),
            app.inject({ method: 'GET', url: `/v1/orders/${encoded}`, headers }),
            app.inject({ method: 'DELETE', url: `/v1/orders/${encoded}`, headers }),
            app.inject({
              method: 'POST',
              url: `/v1/ops/accounts/${encoded}/deposits`,
              headers: ops,
              payload: { amount: '1.00', currency: 'USD' },
            }),
          ];
          for (const response of await Promise.all(requests))
            expect(response.statusCode, `${raw} | ${fragment}`).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });
});
