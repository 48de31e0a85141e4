import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tradingDateOf } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { isDomainError } from '../../platform/index.ts';
import type { BrokerClient } from '../../broker-adapter/index.ts';
import { startAnotherBroker } from '../../test/support/another-broker.ts';
import { BrokerProxy } from '../../test/support/broker-proxy.ts';
import { startTestSystem, type TestSystem } from '../../test/support/system.ts';
import {
  brokerStatements,
  createReconciler,
  reconciliationRoutes,
  renderRunReport,
  type Reconciler,
  type Run,
} from '../index.ts';

const run = promisify(execFile);
interface Order {
  id: string;
  status: string;
  filledQuantity: string;
}

async function today(t: TestSystem): Promise<string> {
  return tradingDateOf(new Date((await t.system.brokerClient.getClock()).now));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Places a market order over the API and waits until the broker has filled it. */
async function marketOrder(
  t: TestSystem,
  key: string,
  clientOrderId: string,
  side: 'buy' | 'sell',
  symbol: string,
  quantity: string,
): Promise<string> {
  const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
    clientOrderId,
    symbol,
    side,
    type: 'market',
    quantity,
  });
  expect(placed.status).toBe(201);
  const date = await today(t);
  await waitFor('the broker to fill the order', async () => {
    const { orders } = await t.system.brokerClient.getStatement('orders', date);
    return orders.find((o) => o.clientOrderId === placed.body.id && o.status === 'filled');
  });
  return placed.body.id;
}

async function cli(t: TestSystem, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node_modules/.bin/node', ['bin/reconcile.ts', ...args], {
      env: {
        ...process.env,
        DATABASE_URL: t.db.url,
        BROKER_URL: t.system.broker.url,
        BROKER_API_KEY: t.config.BROKER_API_KEY,
        KAFKA_BROKERS: '',
        LOG_LEVEL: 'error',
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const kinds = (r: Run) => [...new Set(r.breaks.map((b) => b.kind))].sort();

describe('reconciliation when the broker dropped the fill reports', () => {
  let t: TestSystem;
  let reconciler: Reconciler;
  let orderId: string;
  let date: string;
  beforeAll(async () => {
    // Every report is dropped: the order is acknowledged by the broker's answer, its fills never arrive.
    // The open-order check would fetch them within seconds; it is held off so the reconciler is what finds them.
    t = await startTestSystem({ env: { BROKER_FAULTS: 'drop_report=1', OPEN_ORDER_CHECK_SECONDS: '3600' } });
    reconciler = createReconciler({
      pool: t.db.pool,
      brokers: [
        {
          name: 'primary',
          statements: brokerStatements({ baseUrl: t.system.broker.url, apiKey: t.config.BROKER_API_KEY }),
        },
      ],
      ledger: t.system.ledger,
      bus: t.bus,
      repairWaitMs: 20_000,
    });
    const { key } = await t.api.openAccount('10000.00');
    orderId = await marketOrder(t, key, 'dropped-1', 'buy', 'AAPL', '3');
    await t.api.waitForOrder<Order>(key, orderId, (o) => o.status === 'new');
    date = await today(t);
  });
  afterAll(() => t.stop());

  it('finds the missing execution and everything it leaves wrong, and the CLI exits 1', async () => {
    const found = await reconciler.run(date);
    expect(found.status).toBe('breaks');
    expect(kinds(found)).toEqual(['CASH_MISMATCH', 'MISSING_EXECUTION', 'ORDER_STATUS_MISMATCH', 'POSITION_MISMATCH']);
    const missing = found.breaks.find((b) => b.kind === 'MISSING_EXECUTION')!;
    expect(missing).toMatchObject({ broker: 'primary', symbol: 'AAPL', orderId, actual: null });
    expect(missing.expected).toMatch(/^buy 3 AAPL @ /);
    expect(missing.resolution).toMatch(/^open: .*repair/);
    expect(found.breaks.find((b) => b.kind === 'ORDER_STATUS_MISMATCH')).toMatchObject({
      orderId,
      expected: 'filled, filled 3',
      actual: 'new, filled 0',
    });
    expect(found.breaks.find((b) => b.kind === 'POSITION_MISMATCH')).toMatchObject({
      broker: null,
      symbol: 'AAPL',
      expected: '3',
      actual: '0',
    });
    expect(found.checked).toEqual({ orders: 1, executions: 1, positions: 1 });
    expect(await reconciler.get(found.id)).toEqual(found);

    const viaCli = await cli(t, ['--date', date, '--format', 'json']);
    expect(viaCli.code).toBe(1);
    expect(kinds(JSON.parse(viaCli.stdout) as Run)).toEqual(kinds(found));
  });

  it('repairs through the executions topic, after which a new run is clean and a second repair changes nothing', async () => {
    const repaired = await reconciler.run(date, { repair: true });
    expect(repaired.status).toBe('repaired');
    expect(kinds(repaired)).toEqual([
      'CASH_MISMATCH',
      'MISSING_EXECUTION',
      'ORDER_STATUS_MISMATCH',
      'POSITION_MISMATCH',
    ]);
    for (const b of repaired.breaks) expect(b.resolution).toMatch(/^repaired: /);
    const { rows } = await t.db.pool.query<{ status: string; filled_quantity: string }>(
      'SELECT status, filled_quantity::text FROM order_gateway_orders WHERE order_id = $1',
      [orderId],
    );
    expect(rows[0]).toEqual({ status: 'filled', filled_quantity: '3.000000' });
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);

    const clean = await reconciler.run(date);
    expect(clean).toMatchObject({ status: 'clean', breaks: [] });

    const before = await t.db.pool.query('SELECT exec_id, quantity, price FROM order_gateway_fills ORDER BY exec_id');
    const totalsBefore = await t.system.ledger.totals(t.db.pool);
    const again = await reconciler.run(date, { repair: true });
    expect(again).toMatchObject({ status: 'clean', breaks: [] });
    expect(
      (await t.db.pool.query('SELECT exec_id, quantity, price FROM order_gateway_fills ORDER BY exec_id')).rows,
    ).toEqual(before.rows);
    expect(await t.system.ledger.totals(t.db.pool)).toEqual(totalsBefore);

    const reportFile = join(mkdtempSync(join(tmpdir(), 'reconcile-')), 'report.html');
    const viaCli = await cli(t, ['--date', date, '--format', 'csv', '--report', reportFile]);
    expect(viaCli.code).toBe(0);
    expect(viaCli.stdout.trim().split('\r\n')).toHaveLength(1);
    const html = readFileSync(reportFile, 'utf8');
    expect(html).toContain(`Reconciliation of ${date}`);
    expect(html).toContain('echarts.init');
  });
});

describe('reconciliation across two brokers', () => {
  // A proxy in front of the request server stands in for routing here: each order goes to the broker
  // the test points it at, as routing would send it to the preferred healthy one.
  const proxy = new BrokerProxy();
  let t: TestSystem;
  let secondary: Awaited<ReturnType<typeof startAnotherBroker>>;
  let reconciler: Reconciler;
  let key: string;
  let date: string;

  async function placeAt(
    at: { getStatement: BrokerClient['getStatement'] },
    clientOrderId: string,
    side: 'buy' | 'sell',
    quantity: string,
  ): Promise<string> {
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId,
      symbol: 'AAPL',
      side,
      type: 'market',
      quantity,
    });
    expect(placed.status).toBe(201);
    await waitFor('the broker to fill the order', async () => {
      const { orders } = await at.getStatement('orders', date);
      return orders.find((o) => o.clientOrderId === placed.body.id && o.status === 'filled');
    });
    return placed.body.id;
  }

  beforeAll(async () => {
    await proxy.listen();
    t = await startTestSystem({ env: { OPEN_ORDER_CHECK_SECONDS: '3600' }, requestServerBrokerUrl: proxy.interpose });
    secondary = await startAnotherBroker(t);
    reconciler = createReconciler({
      pool: t.db.pool,
      brokers: [
        { name: 'primary', statements: t.system.brokerClient },
        {
          name: 'secondary',
          statements: brokerStatements({ baseUrl: secondary.broker.url, apiKey: t.config.BROKER_API_KEY }),
        },
      ],
      ledger: t.system.ledger,
      bus: t.bus,
      repairWaitMs: 20_000,
    });
    key = (await t.api.openAccount('10000.00')).key;
    date = await today(t);
    // One account trades at both: it buys 5 at the primary, then sells 2 at the secondary.
    const buyId = await placeAt(t.system.brokerClient, 'both-buy', 'buy', '5');
    await t.api.waitForOrder<Order>(key, buyId, (o) => o.status === 'filled');
    proxy.retarget(secondary.broker.url);
    const sellId = await placeAt(secondary.client, 'both-sell', 'sell', '2');
    await t.api.waitForOrder<Order>(key, sellId, (o) => o.status === 'filled');
  });
  afterAll(async () => {
    await t.stop();
    await secondary.stop();
    await proxy.close();
  });

  it('is clean when an account trades at both: positions and cash reconcile as their sum', async () => {
    // Each broker alone disagrees with our books (3 AAPL): the primary holds 5, the secondary -2.
    const held = async (client: { getStatement: BrokerClient['getStatement'] }) =>
      (await client.getStatement('positions', date)).positions.find((p) => p.symbol === 'AAPL')?.quantity;
    expect(await held(t.system.brokerClient)).toBe('5');
    expect(await held(secondary.client)).toBe('-2');
    const clean = await reconciler.run(date);
    expect(clean).toMatchObject({ status: 'clean', breaks: [], checked: { orders: 2, executions: 2, positions: 1 } });
  });

  it('names the broker of a break at one broker only, and repairs it from that broker', async () => {
    // The secondary now drops every report: a fill there reaches us only through its statements.
    secondary.broker.faults.settings.probabilities.drop_report = 1;
    const lostId = await placeAt(secondary.client, 'lost-sell', 'sell', '1');
    await t.api.waitForOrder<Order>(key, lostId, (o) => o.status === 'new');
    const found = await reconciler.run(date);
    expect(found.status).toBe('breaks');
    const byKind = Object.fromEntries(found.breaks.map((b) => [b.kind, b]));
    expect(Object.keys(byKind).sort()).toEqual([
      'CASH_MISMATCH',
      'MISSING_EXECUTION',
      'ORDER_STATUS_MISMATCH',
      'POSITION_MISMATCH',
    ]);
    expect(byKind.MISSING_EXECUTION).toMatchObject({ broker: 'secondary', orderId: lostId, actual: null });
    expect(byKind.ORDER_STATUS_MISMATCH).toMatchObject({
      broker: 'secondary',
      orderId: lostId,
      expected: 'filled, filled 1',
      actual: 'new, filled 0',
    });
    // The sum breaks, and shows each broker's share of it; no break is laid at the primary.
    expect(byKind.POSITION_MISMATCH).toMatchObject({
      broker: null,
      expected: '2 (primary 5, secondary -3)',
      actual: '3',
    });
    expect(byKind.CASH_MISMATCH!.broker).toBeNull();
    expect(byKind.CASH_MISMATCH!.expected).toMatch(/^-?\d+\.\d{2} \(primary -\d+\.\d{2}, secondary \d+\.\d{2}\)$/);
    expect(found.breaks.filter((b) => b.broker === 'primary')).toEqual([]);
    const listed = await reconciler.listBreaks({ runId: found.id, status: 'open', broker: 'secondary', limit: 50 });
    expect(listed.breaks.map((b) => b.kind).sort()).toEqual(['MISSING_EXECUTION', 'ORDER_STATUS_MISMATCH']);

    const repaired = await reconciler.run(date, { repair: true });
    expect(repaired.status).toBe('repaired');
    await t.api.waitForOrder<Order>(key, lostId, (o) => o.status === 'filled');
    expect(await reconciler.run(date)).toMatchObject({ status: 'clean', breaks: [] });
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);
  });

  it('names both brokers when an order is listed by two of them (an order must never exist at two)', async () => {
    const { rows } = await t.db.pool.query<{ order_id: string }>(
      "SELECT order_id::text FROM order_gateway_orders WHERE client_order_id = 'both-sell'",
    );
    const orderId = rows[0]!.order_id;
    // Sent to the primary as well, by hand: what routing must never do.
    await t.system.brokerClient.submitOrder({
      clientOrderId: orderId,
      account: 'twice',
      symbol: 'AAPL',
      side: 'sell',
      type: 'market',
      quantity: '2',
      timeInForce: 'day',
      extendedHours: false,
    });
    const found = await reconciler.run(date);
    const twice = found.breaks.filter((b) => b.kind === 'ORDER_STATUS_MISMATCH' && b.orderId === orderId);
    expect(twice.map((b) => b.broker).sort()).toEqual(['primary', 'secondary']);
    for (const b of twice) expect(b.expected).toMatch(/listed by another broker too$/);
  });
});

describe('reconciliation of books tampered with, and of an order we never placed', () => {
  let t: TestSystem;
  let reconciler: Reconciler;
  let date: string;
  let accountId: string;
  let buyId: string;
  let execId: string;
  beforeAll(async () => {
    t = await startTestSystem();
    // The JSON statements only (BrokerClient has no stream): the other way a run reads the broker.
    reconciler = createReconciler({
      pool: t.db.pool,
      brokers: [{ name: 'primary', statements: t.system.brokerClient }],
      ledger: t.system.ledger,
      bus: t.bus,
      repairWaitMs: 3_000,
    });
    const account = await t.api.openAccount('20000.00');
    accountId = account.accountId;
    buyId = await marketOrder(t, account.key, 'buy-1', 'buy', 'MSFT', '4');
    await t.api.waitForOrder<Order>(account.key, buyId, (o) => o.status === 'filled');
    const sellId = await marketOrder(t, account.key, 'sell-1', 'sell', 'MSFT', '1');
    await t.api.waitForOrder<Order>(account.key, sellId, (o) => o.status === 'filled');
    date = await today(t);
    const { rows } = await t.db.pool.query<{ exec_id: string }>(
      'SELECT exec_id FROM order_gateway_fills WHERE order_id = $1',
      [buyId],
    );
    execId = rows[0]!.exec_id;
  });
  afterAll(() => t.stop());

  it('is clean when nothing was lost', async () => {
    const clean = await reconciler.run(date);
    expect(clean).toMatchObject({ status: 'clean', breaks: [], checked: { orders: 2, executions: 2, positions: 1 } });
    // The day before: nothing traded then, and today's fills are taken back out of the ledger's balances.
    const dayBefore = new Date(Date.parse(`${date}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    expect(await reconciler.run(dayBefore)).toMatchObject({
      status: 'clean',
      breaks: [],
      checked: { orders: 0, executions: 0 },
    });
    const html = renderRunReport(clean, await reconciler.timeline(clean.id));
    expect(html).toContain('echarts');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  it('names an altered price as an execution mismatch and leaves it open, even with repair', async () => {
    await t.db.pool.query('UPDATE order_fills SET price = price + 1 WHERE exec_id = $1', [execId]);
    try {
      const result = await reconciler.run(date, { repair: true });
      expect(result.status).toBe('breaks');
      expect(kinds(result)).toEqual(['EXECUTION_MISMATCH']);
      expect(result.breaks[0]).toMatchObject({ execId, orderId: buyId, symbol: 'MSFT' });
      expect(result.breaks[0]!.expected).not.toEqual(result.breaks[0]!.actual);
      expect(result.breaks[0]!.resolution).toMatch(/^open: /);
    } finally {
      await t.db.pool.query('UPDATE order_fills SET price = price - 1 WHERE exec_id = $1', [execId]);
    }
  });

  it('names a phantom fill as an unknown execution', async () => {
    await t.db.pool.query(
      `INSERT INTO order_fills (exec_id, order_id, quantity, price, commission, executed_at) VALUES ('phantom-1', $1, 1, 100, 0.1, now())`,
      [buyId],
    );
    try {
      const result = await reconciler.run(date);
      expect(kinds(result)).toEqual(['UNKNOWN_EXECUTION']);
      expect(result.breaks[0]).toMatchObject({
        broker: null,
        execId: 'phantom-1',
        orderId: buyId,
        expected: null,
        actual: `buy 1 MSFT @ 100 on order ${buyId}`,
      });
    } finally {
      await t.db.pool.query(`DELETE FROM order_fills WHERE exec_id = 'phantom-1'`);
    }
  });

  it('keeps a removed fill open when republishing it cannot bring it back (the order already counted it)', async () => {
    const { rows } = await t.db.pool.query('DELETE FROM order_fills WHERE exec_id = $1 RETURNING *', [execId]);
    try {
      const result = await reconciler.run(date, { repair: true });
      expect(result.status).toBe('breaks');
      expect(kinds(result)).toEqual(['MISSING_EXECUTION']);
      expect(result.breaks[0]!.resolution).toMatch(/^open: published on the executions topic but not applied/);
    } finally {
      const row = rows[0] as Record<string, unknown>;
      await t.db.pool.query(
        'INSERT INTO order_fills (exec_id, order_id, quantity, price, commission, executed_at, recorded_at) VALUES ($1,$2,$3,$4,$5,$6,$7)',
        [row.exec_id, row.order_id, row.quantity, row.price, row.commission, row.executed_at, row.recorded_at],
      );
    }
    expect((await reconciler.run(date)).status).toBe('clean');
  });

  it('serves runs over HTTP with the contract shape', async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    // As the trading API's error handler does: a DomainError answers with its status and the contract's body.
    app.setErrorHandler((error, _request, reply) => {
      if (isDomainError(error))
        return reply
          .status(error.httpStatus)
          .send({ error: { code: error.code, message: error.message, details: error.details } });
      return reply
        .status((error as { statusCode?: number }).statusCode ?? 500)
        .send({ error: { code: 'VALIDATION_FAILED', message: String(error), details: null } });
    });
    const requireOps = async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.headers.authorization !== 'Bearer ops')
        return reply.status(401).send({ error: { code: 'UNAUTHORIZED', message: 'no', details: null } });
    };
    await app.register(reconciliationRoutes, { requireOps, reconciler });
    try {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/ops/reconciliations',
        headers: { authorization: 'Bearer ops' },
        payload: { date },
      });
      expect(created.statusCode).toBe(201);
      const body = created.json<Run>();
      expect(Object.keys(body).sort()).toEqual(['breaks', 'checked', 'date', 'id', 'status']);
      expect(body).toMatchObject({ date, status: 'clean' });
      const fetched = await app.inject({
        method: 'GET',
        url: `/v1/ops/reconciliations/${body.id}`,
        headers: { authorization: 'Bearer ops' },
      });
      expect(fetched.json()).toEqual(body);
      const unknown = await app.inject({
        method: 'GET',
        url: '/v1/ops/reconciliations/00000000-0000-0000-0000-000000000000',
        headers: { authorization: 'Bearer ops' },
      });
      expect(unknown.statusCode).toBe(404);
      expect(
        (
          await app.inject({
            method: 'GET',
            url: '/v1/ops/reconciliations/nope',
            headers: { authorization: 'Bearer ops' },
          })
        ).statusCode,
      ).toBe(404);
      for (const payload of [
        { date: 'yesterday' },
        { date: '2026-02-30' },
        { date, repair: 'yes' },
        { date, extra: 1 },
      ]) {
        const bad = await app.inject({
          method: 'POST',
          url: '/v1/ops/reconciliations',
          headers: { authorization: 'Bearer ops' },
          payload,
        });
        expect(bad.statusCode).toBe(400);
      }
      const noKey = await app.inject({ method: 'POST', url: '/v1/ops/reconciliations', payload: { date } });
      expect(noKey.statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('exits 2 with a clear message on bad flags, and changes nothing', async () => {
    const { rows: before } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reconciliation_runs');
    for (const args of [
      [],
      ['--date', 'yesterday'],
      ['--date', date, '--format', 'xml'],
      ['--date', date, '--bogus'],
    ]) {
      const result = await cli(t, args);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().length).toBeGreaterThan(0);
    }
    const repairWithoutKafka = await cli(t, ['--date', date, '--repair']);
    expect(repairWithoutKafka.code).toBe(2);
    expect(repairWithoutKafka.stderr).toMatch(/KAFKA_BROKERS/);
    const { rows: after } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reconciliation_runs');
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('finds an order we never placed, and cannot repair its executions', async () => {
    await t.system.brokerClient.submitOrder({
      clientOrderId: 'stray-1',
      account: accountId,
      symbol: 'NVDA',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    await waitFor('the stray order to fill', async () => {
      const { orders } = await t.system.brokerClient.getStatement('orders', date);
      return orders.find((o) => o.clientOrderId === 'stray-1' && o.status === 'filled');
    });
    const result = await reconciler.run(date, { repair: true });
    expect(result.status).toBe('breaks');
    expect(kinds(result)).toEqual(['CASH_MISMATCH', 'MISSING_EXECUTION', 'ORDER_STATUS_MISMATCH', 'POSITION_MISMATCH']);
    expect(result.breaks.find((b) => b.kind === 'ORDER_STATUS_MISMATCH')).toMatchObject({
      orderId: 'stray-1',
      actual: 'no such order',
    });
    expect(result.breaks.find((b) => b.kind === 'POSITION_MISMATCH')).toMatchObject({
      symbol: 'NVDA',
      expected: '1',
      actual: '0',
    });
    for (const b of result.breaks) expect(b.resolution).toMatch(/^open: /);
  });
});

describe('the executions statement as a stream', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem();
    const { key } = await t.api.openAccount('10000.00');
    await marketOrder(t, key, 'streamed-1', 'buy', 'TSLA', '2');
    await marketOrder(t, key, 'streamed-2', 'buy', 'AAPL', '1');
  });
  afterAll(() => t.stop());

  it('reads the same reports as the JSON statement, in chunks', async () => {
    const date = await today(t);
    const { executions } = await t.system.brokerClient.getStatement('executions', date);
    expect(executions).toHaveLength(2);
    const chunks: unknown[][] = [];
    for await (const chunk of brokerStatements({ baseUrl: t.system.broker.url, apiKey: t.config.BROKER_API_KEY })
      .executionChunks!(date, 1))
      chunks.push(chunk);
    expect(chunks).toEqual(executions.map((report) => [report]));
  });

  it('refuses a statement cut short, and the run fails without a verdict', async () => {
    const date = await today(t);
    const cut = Fastify();
    cut.get('/v1/statements/executions/stream', async (_request, reply) => {
      const { executions } = await t.system.brokerClient.getStatement('executions', date);
      return reply.type('application/x-ndjson').send(`${JSON.stringify(executions[0])}\n`);
    });
    const url = await cut.listen({ port: 0, host: '127.0.0.1' });
    try {
      const reconciler = createReconciler({
        pool: t.db.pool,
        brokers: [{ name: 'primary', statements: brokerStatements({ baseUrl: url, apiKey: t.config.BROKER_API_KEY }) }],
        ledger: t.system.ledger,
      });
      await expect(reconciler.run(date)).rejects.toMatchObject({
        code: 'BROKER_UNAVAILABLE',
        message: expect.stringMatching(/cut short/),
      });
      const { rows } = await t.db.pool.query<{ status: string }>('SELECT status FROM reconciliation_runs');
      expect(rows.map((r) => r.status)).toEqual(['failed']);
      const { rows: staged } = await t.db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM reconciliation_staged_executions',
      );
      expect(staged[0]!.n).toBe(0);
    } finally {
      await cut.close();
    }
  });
});

describe('reconciliation when the broker dropped a closing report (no fill in it)', () => {
  let t: TestSystem;
  beforeAll(async () => {
    // The open-order check is held off: the reconciler is the one to bring the close back here.
    t = await startTestSystem({ env: { OPEN_ORDER_CHECK_SECONDS: '3600' } });
  });
  afterAll(() => t.stop());

  it('brings the close back through the broker replay and the executions topic, and releases the hold', async () => {
    const { key } = await t.api.openAccount('1000.00');
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 'resting',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      quantity: '2',
      limitPrice: '1.00',
      timeInForce: 'gtc',
    });
    await t.api.waitForOrder<Order>(key, placed.body.id, (o) => o.status === 'new');
    // From now on the broker pushes nothing: its cancel confirmation never arrives.
    t.system.broker.faults.settings.probabilities.drop_report = 1;
    expect((await t.api.request('DELETE', `/v1/orders/${placed.body.id}`, key)).status).toBe(202);
    const date = await today(t);
    await waitFor('the broker to cancel', async () => {
      const { orders } = await t.system.brokerClient.getStatement('orders', date);
      return orders.find((o) => o.clientOrderId === placed.body.id && o.status === 'canceled');
    });
    expect((await t.api.request<Order>('GET', `/v1/orders/${placed.body.id}`, key)).body.status).toBe('pending_cancel');

    const reconciler = t.system.reconciler;
    const found = await reconciler.run(date);
    expect(found.status).toBe('breaks');
    expect(kinds(found)).toEqual(['ORDER_STATUS_MISMATCH']);

    const repaired = await reconciler.run(date, { repair: true });
    expect(repaired.status).toBe('repaired');
    expect(repaired.breaks.every((b) => b.resolution?.startsWith('repaired: '))).toBe(true);
    expect((await t.api.request<Order>('GET', `/v1/orders/${placed.body.id}`, key)).body.status).toBe('canceled');
    const account = await t.api.request<{ cash: { held: string; available: string } }>('GET', '/v1/account', key);
    expect(account.body.cash).toMatchObject({ held: '0.00', available: '1000.00' });
    expect(await reconciler.run(date)).toMatchObject({ status: 'clean', breaks: [] });
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);
  });
});
