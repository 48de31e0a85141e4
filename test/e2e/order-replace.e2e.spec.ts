import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../broker-adapter/simulator/index.ts';
import { buyHoldAmount, checkLedgerInvariants } from '../../ledger/index.ts';
import { dec } from '../../platform/index.ts';
import { BrokerProxy, systemBehindProxy } from '../support/broker-proxy.ts';
import { startTestSystem, type TestSystem } from '../support/system.ts';

/**
 * Modify an order (PATCH /v1/orders/{id}, issue 14) on the whole system over real Kafka, under each
 * race that threatens it: a fill before the replace, a fill racing it below the filled quantity, a
 * cancel on its heels, the same replace twice, a refusal, and an answer that never comes back.
 */

interface Order {
  id: string;
  clientOrderId: string;
  status: string;
  quantity: string;
  limitPrice: string | null;
  filledQuantity: string;
  replaces: string | null;
  replacedBy: string | null;
  lastRejection: { action: string; code: string; message: string; at: string } | null;
  fills: { execId: string; quantity: string }[];
}

const FINAL = ['filled', 'canceled', 'rejected', 'expired', 'replaced'];

async function place(t: TestSystem, key: string, clientOrderId: string, body: Record<string, unknown>): Promise<Order> {
  const response = await t.api.request<Order>('POST', '/v1/orders', key, { clientOrderId, ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const restingBuy = (symbol: string, quantity = '2') => ({
  symbol,
  side: 'buy',
  type: 'limit',
  quantity,
  limitPrice: '1.00',
  timeInForce: 'gtc',
});

/** A limit buy far above the market: it fills at the market at once. */
async function marketableBuy(t: TestSystem, key: string, symbol: string, quantity: string) {
  const instruments = await t.api.request<{ symbol: string; lastPrice: string }[]>('GET', '/v1/instruments', key);
  const last = dec(instruments.body.find((i) => i.symbol === symbol)!.lastPrice);
  return { symbol, side: 'buy', type: 'limit', quantity, limitPrice: last.times(1.2).toFixed(2), timeInForce: 'gtc' };
}

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function brokerOrder(t: TestSystem, clientOrderId: string) {
  const { rows } = await t.db.pool.query<{ status: string; quantity: string; cumulative_quantity: string }>(
    'SELECT status, quantity::text, cumulative_quantity::text FROM broker_orders WHERE client_order_id = $1',
    [clientOrderId],
  );
  return rows[0] ?? null;
}

async function held(t: TestSystem, key: string): Promise<string> {
  return (await t.api.request<{ cash: { held: string } }>('GET', '/v1/account', key)).body.cash.held;
}

const replace = (t: TestSystem, key: string, orderId: string, body: Record<string, unknown>) =>
  t.api.request<Order & { error?: { code: string } }>('PATCH', `/v1/orders/${orderId}`, key, body);

async function expectBooksHold(t: TestSystem): Promise<void> {
  expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);
}

describe('replace of a resting order, twice the same, then a cancel on its heels', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(() => t.stop());

  it('ends the old order replaced and carries on with the new terms and their hold', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const order = await place(t, key, 'rest-1', restingBuy('TSLA'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'new');

    const asked = await replace(t, key, order.id, { quantity: '5', limitPrice: '1.50', clientOrderId: 'rest-1.r1' });
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);
    expect(['pending_replace', 'replaced']).toContain(asked.body.status);
    // The same replace again: the same answer, never a second replace.
    const again = await replace(t, key, order.id, { quantity: '5', limitPrice: '1.50', clientOrderId: 'rest-1.r1' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(order.id);
    // The same clientOrderId with other terms: a conflict, nothing changed.
    const other = await replace(t, key, order.id, { quantity: '6', clientOrderId: 'rest-1.r1' });
    expect(other.status).toBe(409);
    expect(other.body.error?.code).toBe('IDEMPOTENCY_CONFLICT');

    const old = await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'replaced');
    expect(old.replacedBy).not.toBeNull();
    const successor = (await t.api.request<Order>('GET', `/v1/orders/${old.replacedBy}`, key)).body;
    expect(successor).toMatchObject({
      clientOrderId: 'rest-1.r1',
      replaces: order.id,
      quantity: '5',
      limitPrice: '1.50',
      status: 'new',
    });
    expect((await brokerOrder(t, order.id))?.status).toBe('replaced');
    expect(await brokerOrder(t, successor.id)).toMatchObject({ status: 'new', quantity: '5' });
    // The hold is the new order's alone: the old one's and the pending top-up are released.
    expect(await held(t, key)).toBe(buyHoldAmount(dec('5'), dec('1.50'), t.config.COMMISSION_BPS).toFixed(2));

    // The replaced order is final: neither replaced nor canceled again.
    expect((await replace(t, key, order.id, { quantity: '7' })).body.error?.code).toBe('ORDER_NOT_REPLACEABLE');
    expect((await t.api.request('DELETE', `/v1/orders/${order.id}`, key)).status).toBe(409);
    await expectBooksHold(t);
  });

  it(
    'refuses a cancel while the replace is pending, then cancels the order that carries on',
    { timeout: 120_000 },
    async () => {
      const { key } = await t.api.openAccount('10000.00');
      const order = await place(t, key, 'rest-2', restingBuy('AMZN'));
      await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'new');

      expect((await replace(t, key, order.id, { limitPrice: '1.10' })).status).toBe(200);
      const cancel = await t.api.request<{ error: { code: string } }>('DELETE', `/v1/orders/${order.id}`, key);
      // Pending or already replaced: either way the old order cannot be canceled any more.
      expect(cancel.status).toBe(409);
      expect(cancel.body.error.code).toBe('ORDER_NOT_CANCELABLE');

      const old = await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'replaced');
      expect((await t.api.request('DELETE', `/v1/orders/${old.replacedBy}`, key)).status).toBe(202);
      const canceled = await t.api.waitForOrder<Order>(key, old.replacedBy!, (o) => FINAL.includes(o.status));
      expect(canceled.status).toBe('canceled');
      expect(await held(t, key)).toBe('0.00');
      await expectBooksHold(t);
    },
  );

  it('refuses what cannot be replaced, and changes nothing', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const market = await place(t, key, 'mkt', { symbol: 'AAPL', side: 'buy', type: 'market', quantity: '1' });
    const marketReplace = await replace(t, key, market.id, { quantity: '2' });
    expect(marketReplace.status).toBe(409);
    expect(marketReplace.body.error?.code).toBe('ORDER_NOT_REPLACEABLE');
    // Its fill releases part of its hold: done before the hold is read below, not during the checks.
    await t.api.waitForOrder<Order>(key, market.id, (o) => FINAL.includes(o.status));

    const order = await place(t, key, 'rest-3', restingBuy('META'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'new');
    const before = await held(t, key);
    for (const [body, status, code] of [
      [{ limitPrice: '1.001' }, 422, 'INVALID_PRICE_INCREMENT'],
      [{ quantity: '0.5' }, 422, 'FRACTIONAL_NOT_ALLOWED'],
      [{ limitPrice: '100000.00', quantity: '1000' }, 422, 'INSUFFICIENT_BUYING_POWER'],
      [{}, 400, 'VALIDATION_FAILED'],
      [{ quantity: 5 }, 400, 'VALIDATION_FAILED'],
    ] as const) {
      const answer = await replace(t, key, order.id, body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.error?.code).toBe(code);
    }
    expect((await t.api.request<Order>('GET', `/v1/orders/${order.id}`, key)).body.status).toBe('new');
    expect(await held(t, key)).toBe(before);
    await expectBooksHold(t);
  });
});

describe('a fill before the replace: the broker filled the order and its report is lost', () => {
  let t: TestSystem;
  beforeAll(async () => {
    // Every report is lost, and the periodic check is an hour away: only the answer to the replace,
    // and the check it triggers at once, can bring the fill.
    t = await startTestSystem({ env: { BROKER_FAULTS: 'drop_report=1', OPEN_ORDER_CHECK_SECONDS: '3600' } });
  });
  afterAll(() => t.stop());

  it('is refused as too late, applies the fill, and shows the refusal', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const order = await place(t, key, 'late', await marketableBuy(t, key, 'AAPL', '2'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'new');
    await waitFor(
      () => brokerOrder(t, order.id),
      (row) => row?.status === 'filled',
    );
    expect((await replace(t, key, order.id, { quantity: '3' })).body.status).toBe('pending_replace');

    const done = await t.api.waitForOrder<Order>(key, order.id, (o) => FINAL.includes(o.status));
    expect(done.status).toBe('filled');
    expect(done.filledQuantity).toBe('2');
    expect(done.lastRejection).toMatchObject({ action: 'replace', code: 'TOO_LATE_TO_REPLACE' });
    expect(done.replacedBy).toBeNull();
    expect(await held(t, key)).toBe('0.00');
    await expectBooksHold(t);
  });
});

describe('a partial fill, then replaces racing the next fill', () => {
  let t: TestSystem;
  beforeAll(async () => {
    // A third fills at each matching pass, and the broker makes no pass by itself: only the pass of
    // its arrival and the pass a replace runs first (the race a venue has) fill it.
    t = await startTestSystem({ env: { BROKER_FAULTS: 'partial=1' }, broker: { tickMs: 3_600_000 } });
  });
  afterAll(() => t.stop());

  it('refuses below the filled quantity, here and at the broker after its fill', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const order = await place(t, key, 'part-1', await marketableBuy(t, key, 'NVDA', '3'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.filledQuantity === '1');

    const below = await replace(t, key, order.id, { quantity: '1' });
    expect(below.status).toBe(422);
    expect(below.body.error?.code).toBe('QUANTITY_BELOW_FILLED');

    // Above what we know is filled, but the broker fills one more first: nothing is left for the new total.
    expect((await replace(t, key, order.id, { quantity: '2' })).body.status).toBe('pending_replace');
    const refused = await t.api.waitForOrder<Order>(
      key,
      order.id,
      (o) => o.status !== 'pending_replace' && o.filledQuantity === '2',
    );
    expect(refused.status).toBe('partially_filled');
    expect(refused.lastRejection).toMatchObject({ action: 'replace', code: 'QUANTITY_BELOW_FILLED' });
    expect(refused.fills.map((f) => f.quantity)).toEqual(['1', '1']);
    await expectBooksHold(t);
  });

  it('counts the racing fill, and the new order gets what the new total leaves', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const order = await place(t, key, 'part-2', await marketableBuy(t, key, 'GOOGL', '3'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.filledQuantity === '1');

    expect((await replace(t, key, order.id, { quantity: '6' })).status).toBe(200);
    const old = await t.api.waitForOrder<Order>(
      key,
      order.id,
      (o) => o.status === 'replaced' && o.filledQuantity === '2',
    );
    const successor = await t.api.waitForOrder<Order>(key, old.replacedBy!, (o) => o.filledQuantity !== '0');
    // 6 in all: 2 on the old order, and the new one for the 4 left (a third of it filled on arrival).
    expect(successor.quantity).toBe('4');
    expect(successor.replaces).toBe(order.id);
    expect(dec(old.filledQuantity).plus(successor.quantity).toFixed()).toBe('6');
    await expectBooksHold(t);
  });
});

describe('a replace whose answer is lost, and whose reports are lost too', () => {
  const proxy = new BrokerProxy();
  const system = systemBehindProxy(proxy, {
    env: { BROKER_FAULTS: 'drop_report=1', OPEN_ORDER_CHECK_SECONDS: '3600' },
  });

  it('is found at the broker by the new order id and ends replaced, once', { timeout: 120_000 }, async () => {
    const t = system();
    const { key } = await t.api.openAccount('10000.00');
    const order = await place(t, key, 'lost', restingBuy('MSFT'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'new');
    // The replace reaches the broker; its answer does not come back.
    proxy.fault = ({ method }) => (method === 'PATCH' ? { status: 503, forwarded: true } : null);

    expect((await replace(t, key, order.id, { quantity: '4', clientOrderId: 'lost.r1' })).status).toBe(200);
    const old = await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'replaced');
    const successor = (await t.api.request<Order>('GET', `/v1/orders/${old.replacedBy}`, key)).body;
    expect(successor).toMatchObject({ clientOrderId: 'lost.r1', quantity: '4', status: 'new', replaces: order.id });
    // Asked once, then found by the inquiry: never a second replace at the broker.
    expect(proxy.callsTo('PATCH', '/v1/orders/')).toHaveLength(1);
    const { rows } = await t.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM broker_orders WHERE replaces IS NOT NULL',
    );
    expect(rows[0]!.n).toBe(1);
    expect(await held(t, key)).toBe(buyHoldAmount(dec('4'), dec('1.00'), t.config.COMMISSION_BPS).toFixed(2));
    await expectBooksHold(t);
  });
});

describe('a replace of an order that never left is made here', () => {
  // Wednesday 25 November 2026, 03:00 New York: closed, so orders wait for the open at the request server.
  const clock = manualClock(new Date('2026-11-25T08:00:00Z'));
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ clock, env: { OPEN_ORDER_CHECK_SECONDS: '1' } });
  });
  afterAll(() => t.stop());

  it(
    'replaces it at once, sends only the new order at the open, and holds only for it',
    { timeout: 120_000 },
    async () => {
      const { key } = await t.api.openAccount('10000.00');
      const waiting = await place(t, key, 'queued', restingBuy('AAPL'));
      await waitFor(
        async () =>
          (
            await t.db.pool.query<{ state: string }>(
              "SELECT state FROM broker_submissions WHERE order_id = $1 AND kind = 'submit'",
              [waiting.id],
            )
          ).rows[0]?.state,
        (state) => state === 'queued',
      );
      const answer = await replace(t, key, waiting.id, {
        quantity: '3',
        limitPrice: '1.20',
        clientOrderId: 'queued.r1',
      });
      expect(answer.status).toBe(200);
      expect(answer.body.status).toBe('replaced');
      const successor = (await t.api.request<Order>('GET', `/v1/orders/${answer.body.replacedBy}`, key)).body;
      expect(successor).toMatchObject({
        status: 'pending_new',
        quantity: '3',
        limitPrice: '1.20',
        replaces: waiting.id,
      });
      expect(await held(t, key)).toBe(buyHoldAmount(dec('3'), dec('1.20'), t.config.COMMISSION_BPS).toFixed(2));

      clock.set(new Date('2026-11-25T15:00:00Z'));
      await t.api.waitForOrder<Order>(key, successor.id, (o) => o.status === 'new');
      expect(await brokerOrder(t, waiting.id)).toBeNull();
      expect(await brokerOrder(t, successor.id)).toMatchObject({ status: 'new', quantity: '3' });
      await expectBooksHold(t);
    },
  );
});
