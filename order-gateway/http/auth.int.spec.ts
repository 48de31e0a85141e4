import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger } from '../../ledger/index.ts';
import { silentLogger } from '../../platform/index.ts';
import { brokerStatements, createReconciler, reconciliationRoutes } from '../../reconciler/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { buildTestApp, TEST_OPS_KEY } from '../../test/support/trading-app.ts';
import type { App } from '../index.ts';

type Headers = Record<string, string>;
const bearer = (key: string): Headers => ({ authorization: `Bearer ${key}` });

const ALICE_KEY = 'alice-operator-key-0123456789';
const BOB_KEY = 'bob-operator-key-0123456789';
const SOME_UUID = '00000000-0000-4000-8000-000000000000';

/**
 * Strangers are refused at the door: authentication is decided in onRequest, before the body is
 * read; failed attempts are limited per address; keys are issued and revoked by named operators,
 * and every ops action is recorded with who did it. Real PostgreSQL throughout.
 */
describe('authentication, API keys and operators', () => {
  let db: TestDatabase;
  let app: App;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The reconciler's routes are another component's, registered by the composition root; its
    // broker is unreachable, which only a run that got past authentication would notice.
    const reconciler = createReconciler({
      pool: db.pool,
      brokers: [
        {
          name: 'primary',
          statements: brokerStatements({ baseUrl: 'http://127.0.0.1:9', apiKey: 'unused-broker-key', timeoutMs: 500 }),
        },
      ],
      ledger: createLedger({ commissionBps: 10 }),
      logger: silentLogger,
    });
    app = await buildTestApp(db, {
      opsApiKeys: [
        { name: 'alice', key: ALICE_KEY },
        { name: 'bob', key: BOB_KEY },
      ],
      registerOpsRoutes: async (instance, requireOps, audit) => {
        await instance.register(reconciliationRoutes, { requireOps, reconciler, audit });
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  async function openAccount(opsKey = TEST_OPS_KEY) {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/ops/accounts',
      headers: bearer(opsKey),
      payload: { name: 'Park Jisoo' },
    });
    expect(created.statusCode).toBe(201);
    const { accountId, apiKey } = created.json<{ accountId: string; apiKey: string }>();
    const deposited = await app.inject({
      method: 'POST',
      url: `/v1/ops/accounts/${accountId}/deposits`,
      headers: bearer(opsKey),
      payload: { amount: '10000.00', currency: 'USD' },
    });
    expect(deposited.statusCode).toBe(201);
    return { accountId, apiKey };
  }

  const aLimitBuy = (clientOrderId: string) => ({
    clientOrderId,
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity: '1',
    limitPrice: '100.00',
  });

  async function counts() {
    const { rows } = await db.pool.query<{ accounts: number; orders: number; keys: number; audit: number }>(
      `SELECT (SELECT count(*)::int FROM gateway_accounts) AS accounts, (SELECT count(*)::int FROM orders) AS orders,
              (SELECT count(*)::int FROM gateway_api_keys) AS keys,
              (SELECT count(*)::int FROM ops_audit_log) AS audit`,
    );
    return rows[0]!;
  }

  describe('401 before validation', () => {
    /** Every route of the OpenAPI description that takes a body, so a route added later is covered too. */
    function routesWithBody(): Array<{ method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'; url: string; ops: boolean }> {
      const doc = app.swagger() as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
      return Object.entries(doc.paths).flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, operation]) => operation.requestBody !== undefined)
          .map(([method, _operation]) => ({
            method: method.toUpperCase() as 'POST',
            url: path.replace(/\{[^}]+\}/g, SOME_UUID),
            ops: path.startsWith('/v1/ops/'),
          })),
      );
    }

    it('finds the routes with a body, among them one that another component registered', () => {
      const urls = routesWithBody().map((route) => `${route.method} ${route.url}`);
      expect(urls).toEqual(
        expect.arrayContaining([
          'POST /v1/orders',
          'POST /v1/ops/accounts',
          `POST /v1/ops/accounts/${SOME_UUID}/deposits`,
          'POST /v1/ops/reconciliations',
        ]),
      );
    });

    it('answers 401, never 400, 413 or 415, to a missing or wrong key whatever the body', async () => {
      const { apiKey } = await openAccount();
      const routes = routesWithBody();
      const before = await counts();
      const body = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.json(),
        fc.constantFrom('{', '{"quantity":', 'null', '[]', '{"clientOrderId":1}', 'x'.repeat(70 * 1024)),
      );
      const contentType = fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        'image/png',
      );
      const wrongAuth = fc.constantFrom<Headers | 'other kind'>(
        {},
        { authorization: 'Bearer key_made_up_0123456789' },
        { authorization: 'Bearer' },
        { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
        { authorization: `Bearer ${TEST_OPS_KEY}x` },
        'other kind',
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...routes), body, contentType, wrongAuth, async (route, raw, type, auth) => {
          // The other kind of key is as wrong as a made-up one: a client key on ops routes and back.
          const headers = auth === 'other kind' ? bearer(route.ops ? apiKey : ALICE_KEY) : auth;
          const response = await app.inject({
            method: route.method,
            url: route.url,
            headers: { ...headers, 'content-type': type },
            payload: raw,
          });
          expect(response.statusCode, `${route.method} ${route.url} ${JSON.stringify(auth)} ${raw.slice(0, 80)}`).toBe(
            401,
          );
          expect(response.json()).toEqual({
            error: { code: 'UNAUTHORIZED', message: expect.any(String), details: null },
          });
          expect(response.headers['www-authenticate']).toBe('Bearer');
        }),
        { numRuns: 250 },
      );
      expect(await counts()).toEqual(before);
    });

    it('still validates the body of a request that has the right key', async () => {
      const { apiKey } = await openAccount();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: bearer(apiKey),
        payload: { clientOrderId: 1 },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
    });

    it('answers 401 on an unknown path under /v1 and /v1/ops, so a stranger cannot map the routes', async () => {
      for (const url of ['/v1/nothing-here', '/v1/ops/nothing-here', '/v1/ops']) {
        const response = await app.inject({ method: 'POST', url, payload: {} });
        expect(response.statusCode, url).toBe(401);
      }
      const market = await app.inject({ method: 'GET', url: '/v1/instruments' });
      expect(market.statusCode).toBe(200);
    });
  });

  describe('API keys', () => {
    it('issues a key that works at once and sees only its own account; the old key keeps working', async () => {
      const { accountId, apiKey: first } = await openAccount();
      const other = await openAccount();
      const foreign = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: bearer(other.apiKey),
        payload: aLimitBuy('other-1'),
      });
      const foreignOrderId = foreign.json<{ id: string }>().id;

      const issued = await app.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/keys`,
        headers: bearer(ALICE_KEY),
      });
      expect(issued.statusCode).toBe(201);
      const { keyId, apiKey: second } = issued.json<{ keyId: string; apiKey: string }>();
      expect(keyId).toMatch(/^[0-9a-f-]{36}$/);
      expect(second).toMatch(/^key_/);
      expect(second).not.toBe(first);

      for (const key of [first, second]) {
        const account = await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(key) });
        expect(account.statusCode).toBe(200);
        expect(account.json<{ accountId: string }>().accountId).toBe(accountId);
        const peek = await app.inject({ method: 'GET', url: `/v1/orders/${foreignOrderId}`, headers: bearer(key) });
        expect(peek.statusCode).toBe(404);
      }
      const placed = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: bearer(second),
        payload: aLimitBuy('with-second-key'),
      });
      expect(placed.json<{ accountId: string }>().accountId).toBe(accountId);

      const listed = await app.inject({
        method: 'GET',
        url: `/v1/ops/accounts/${accountId}/keys`,
        headers: bearer(BOB_KEY),
      });
      expect(listed.statusCode).toBe(200);
      const keys = listed.json<{ keys: Array<{ keyId: string; createdBy: string | null; revokedAt: null }> }>().keys;
      expect(keys).toHaveLength(2);
      expect(keys[1]).toMatchObject({ keyId, createdBy: 'alice', revokedAt: null });
      expect(JSON.stringify(keys)).not.toContain('key_');
    });

    it('refuses a revoked key at once, keeps the other, and answers a second revocation the same', async () => {
      const { accountId, apiKey: old } = await openAccount();
      const { keyId: newKeyId, apiKey: fresh } = (
        await app.inject({ method: 'POST', url: `/v1/ops/accounts/${accountId}/keys`, headers: bearer(ALICE_KEY) })
      ).json<{ keyId: string; apiKey: string }>();
      // The old key is known to this process's cache before it is revoked.
      expect((await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(old) })).statusCode).toBe(200);
      const { rows } = await db.pool.query<{ id: string }>(
        'SELECT id FROM gateway_api_keys WHERE account_id = $1 AND id <> $2',
        [accountId, newKeyId],
      );
      const oldKeyId = rows[0]!.id;

      const revoked = await app.inject({
        method: 'DELETE',
        url: `/v1/ops/accounts/${accountId}/keys/${oldKeyId}`,
        headers: bearer(BOB_KEY),
      });
      expect(revoked.statusCode).toBe(204);
      expect(revoked.body).toBe('');
      const refused = await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(old) });
      expect(refused.statusCode).toBe(401);
      const placing = await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: bearer(old),
        payload: aLimitBuy('after-revoke'),
      });
      expect(placing.statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(fresh) })).statusCode).toBe(200);

      const again = await app.inject({
        method: 'DELETE',
        url: `/v1/ops/accounts/${accountId}/keys/${oldKeyId}`,
        headers: bearer(ALICE_KEY),
      });
      expect(again.statusCode).toBe(204);
      const { rows: record } = await db.pool.query<{ revoked_by: string }>(
        'SELECT revoked_by FROM gateway_api_keys WHERE id = $1',
        [oldKeyId],
      );
      expect(record[0]!.revoked_by).toBe('bob');
    });

    it("answers 404 for an unknown account or key, or another account's key, and revokes nothing", async () => {
      const alice = await openAccount();
      const bob = await openAccount();
      const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM gateway_api_keys WHERE account_id = $1', [
        bob.accountId,
      ]);
      const bobsKeyId = rows[0]!.id;
      const cases: Array<['POST' | 'DELETE' | 'GET', string]> = [
        ['POST', `/v1/ops/accounts/${SOME_UUID}/keys`],
        ['POST', '/v1/ops/accounts/not-a-uuid/keys'],
        ['GET', `/v1/ops/accounts/${SOME_UUID}/keys`],
        ['DELETE', `/v1/ops/accounts/${alice.accountId}/keys/${SOME_UUID}`],
        ['DELETE', `/v1/ops/accounts/${alice.accountId}/keys/not-a-uuid`],
        ['DELETE', `/v1/ops/accounts/${alice.accountId}/keys/${bobsKeyId}`],
      ];
      const before = await counts();
      for (const [method, url] of cases) {
        const response = await app.inject({ method, url, headers: bearer(TEST_OPS_KEY) });
        expect(response.statusCode, `${method} ${url}`).toBe(404);
        expect(response.json<{ error: { code: string } }>().error.code).toMatch(/^(ACCOUNT|API_KEY)_NOT_FOUND$/);
      }
      expect(await counts()).toEqual(before);
      expect((await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(bob.apiKey) })).statusCode).toBe(
        200,
      );
    });

    it('lets only an operator issue or revoke keys', async () => {
      const { accountId, apiKey } = await openAccount();
      for (const headers of [{}, bearer(apiKey)]) {
        const issued = await app.inject({ method: 'POST', url: `/v1/ops/accounts/${accountId}/keys`, headers });
        expect(issued.statusCode).toBe(401);
      }
    });

    it('refuses a key revoked by another process once this process has trusted its lookup for the TTL', async () => {
      // A second trading server on its own pool, trusting a lookup for 300 ms.
      const otherPool = db.newPool(2);
      const other = await buildTestApp(db, { pool: otherPool, apiKeyCacheTtlMs: 300 });
      try {
        const { accountId, apiKey } = await openAccount();
        expect((await other.inject({ method: 'GET', url: '/v1/account', headers: bearer(apiKey) })).statusCode).toBe(
          200,
        );
        const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM gateway_api_keys WHERE account_id = $1', [
          accountId,
        ]);
        const revoked = await app.inject({
          method: 'DELETE',
          url: `/v1/ops/accounts/${accountId}/keys/${rows[0]!.id}`,
          headers: bearer(TEST_OPS_KEY),
        });
        expect(revoked.statusCode).toBe(204);
        expect((await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(apiKey) })).statusCode).toBe(401);
        let status = 200;
        const deadline = Date.now() + 10_000;
        while (status === 200 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          status = (await other.inject({ method: 'GET', url: '/v1/account', headers: bearer(apiKey) })).statusCode;
        }
        expect(status).toBe(401);
      } finally {
        await other.close();
      }
    });
  });

  describe('failed authentications per address', () => {
    it('answers 429 after the limit of 401s from one address, before any key lookup; other addresses are served', async () => {
      // Its own pool, so that the database can be taken away from it alone.
      const pool = db.newPool(2);
      const refusals: string[] = [];
      const limited = await buildTestApp(db, {
        pool,
        authFailuresPerMinute: 5,
        onRefused: (reason) => refusals.push(reason),
      });
      try {
        const { apiKey } = await openAccount();
        const stranger = { remoteAddress: '203.0.113.7' };
        for (let n = 0; n < 5; n++) {
          const response = await limited.inject({
            method: 'POST',
            url: '/v1/orders',
            headers: bearer(`key_guess_${n}`),
            payload: aLimitBuy(`guess-${n}`),
            ...stranger,
          });
          expect(response.statusCode).toBe(401);
        }
        const blocked = await limited.inject({
          method: 'GET',
          url: '/v1/account',
          headers: bearer(apiKey),
          ...stranger,
        });
        expect(blocked.statusCode).toBe(429);
        expect(blocked.json()).toEqual({
          error: {
            code: 'RATE_LIMITED',
            message: expect.any(String),
            details: { retryAfterSeconds: expect.any(Number) },
          },
        });
        const retryAfter = Number(blocked.headers['retry-after']);
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(blocked.headers).toMatchObject({
          'ratelimit-limit': '5',
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(retryAfter),
        });
        const neighbour = await limited.inject({
          method: 'GET',
          url: '/v1/account',
          headers: bearer(apiKey),
          remoteAddress: '203.0.113.8',
        });
        expect(neighbour.statusCode).toBe(200);
        // The public routes stay open to the blocked address.
        expect((await limited.inject({ method: 'GET', url: '/v1/instruments', ...stranger })).statusCode).toBe(200);

        // Without a database, a lookup would fail: the blocked address still gets its 429.
        await pool.end();
        const stillBlocked = await limited.inject({
          method: 'POST',
          url: '/v1/orders',
          headers: bearer('key_yet_another_guess'),
          payload: 'not even json',
          ...stranger,
        });
        expect(stillBlocked.statusCode).toBe(429);
        expect(refusals).toEqual([
          ...Array.from({ length: 5 }, () => 'unauthorized'),
          'auth_failures',
          'auth_failures',
        ]);
      } finally {
        await limited.close();
      }
    });

    it('looks a made-up key up once, not once per request, and a known key once', async () => {
      const pool = db.newPool(2);
      const cached = await buildTestApp(db, { pool, apiKeyCacheTtlMs: 60_000 });
      try {
        const { apiKey } = await openAccount();
        const madeUp = bearer('key_made_up_but_persistent');
        expect((await cached.inject({ method: 'GET', url: '/v1/account', headers: madeUp })).statusCode).toBe(401);
        expect((await cached.inject({ method: 'GET', url: '/v1/orders', headers: bearer(apiKey) })).statusCode).toBe(
          200,
        );
        // Without a database, every answer below comes from what was learnt above.
        await pool.end();
        for (let n = 0; n < 3; n++) {
          expect((await cached.inject({ method: 'GET', url: '/v1/account', headers: madeUp })).statusCode).toBe(401);
        }
        const known = await cached.inject({
          method: 'POST',
          url: '/v1/orders',
          headers: bearer(apiKey),
          payload: { clientOrderId: 7 },
        });
        expect(known.statusCode).toBe(400);
      } finally {
        await cached.close();
      }
    });
  });

  describe('operators', () => {
    it('records every ops action with the name of its operator', async () => {
      const { rows: start } = await db.pool.query<{ id: string }>(
        'SELECT coalesce(max(id), 0)::text AS id FROM ops_audit_log',
      );
      const { accountId } = await openAccount(ALICE_KEY);
      const deposit = await app.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/deposits`,
        headers: bearer(BOB_KEY),
        payload: { amount: '5.00', currency: 'USD' },
      });
      expect(deposit.statusCode).toBe(201);
      const issued = await app.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/keys`,
        headers: bearer(TEST_OPS_KEY),
      });
      const { keyId } = issued.json<{ keyId: string }>();
      await app.inject({
        method: 'DELETE',
        url: `/v1/ops/accounts/${accountId}/keys/${keyId}`,
        headers: bearer(BOB_KEY),
      });
      // The reconciler's route, with no broker and no bus to repair through: the attempt is recorded.
      const run = await app.inject({
        method: 'POST',
        url: '/v1/ops/reconciliations',
        headers: bearer(ALICE_KEY),
        payload: { date: '2026-03-02', repair: true },
      });
      expect(run.statusCode).toBeGreaterThanOrEqual(400);
      const { code } = run.json<{ error: { code: string } }>().error;
      // Refused requests are not actions.
      await app.inject({
        method: 'POST',
        url: `/v1/ops/accounts/${accountId}/deposits`,
        headers: bearer(BOB_KEY),
        payload: { amount: '-5.00', currency: 'USD' },
      });

      const { rows } = await db.pool.query<{
        operator: string;
        action: string;
        target: string | null;
        detail: unknown;
      }>('SELECT operator, action, target, detail FROM ops_audit_log WHERE id > $1 ORDER BY id', [start[0]!.id]);
      expect(rows).toEqual([
        { operator: 'alice', action: 'account.create', target: accountId, detail: { keyId: expect.any(String) } },
        {
          operator: 'alice',
          action: 'deposit.create',
          target: accountId,
          detail: expect.objectContaining({ amount: '10000.00' }),
        },
        {
          operator: 'bob',
          action: 'deposit.create',
          target: accountId,
          detail: expect.objectContaining({ amount: '5.00' }),
        },
        { operator: 'ops', action: 'api_key.issue', target: accountId, detail: { keyId } },
        { operator: 'bob', action: 'api_key.revoke', target: accountId, detail: { keyId, alreadyRevoked: false } },
        {
          operator: 'alice',
          action: 'reconciliation.repair',
          target: null,
          detail: { date: '2026-03-02', repair: true, status: 'failed', error: code },
        },
      ]);

      const page = await app.inject({
        method: 'GET',
        url: '/v1/ops/audit?operator=bob&limit=1',
        headers: bearer(ALICE_KEY),
      });
      expect(page.statusCode).toBe(200);
      const body = page.json<{ actions: Array<{ operator: string; action: string }>; next: string | null }>();
      expect(body.actions).toEqual([expect.objectContaining({ operator: 'bob', action: 'api_key.revoke' })]);
      expect(body.next).not.toBeNull();
      const next = await app.inject({
        method: 'GET',
        url: `/v1/ops/audit?operator=bob&limit=1&after=${body.next}`,
        headers: bearer(ALICE_KEY),
      });
      expect(next.json<{ actions: Array<{ action: string }> }>().actions[0]!.action).toBe('deposit.create');
    });

    it('refuses an operator key on client routes, and a client key on the audit log', async () => {
      const { apiKey } = await openAccount();
      expect((await app.inject({ method: 'GET', url: '/v1/account', headers: bearer(ALICE_KEY) })).statusCode).toBe(
        401,
      );
      expect((await app.inject({ method: 'GET', url: '/v1/ops/audit', headers: bearer(apiKey) })).statusCode).toBe(401);
    });
  });
});
