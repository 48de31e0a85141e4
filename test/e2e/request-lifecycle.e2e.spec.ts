import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../broker-adapter/simulator/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { dec } from '../../platform/index.ts';
import { BrokerProxy, systemBehindProxy, type FaultAnswer } from '../support/broker-proxy.ts';
import { startTestSystem, type TestSystem } from '../support/system.ts';

interface Order {
  id: string;
  status: string;
  quantity: string;
  filledQuantity: string;
  lastRejection: { action: string; code: string; message: string; at: string } | null;
  fills: { execId: string; quantity: string }[];
}

const FINAL = ['filled', 'canceled', 'rejected', 'expired'];

async function place(t: TestSystem, key: string, clientOrderId: string, body: Record<string, unknown>): Promise<Order> {
  const response = await t.api.request<Order>('POST', '/v1/orders', key, { clientOrderId, ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const marketBuy = (symbol: string, quantity: string) => ({ symbol, side: 'buy', type: 'market', quantity });
const restingBuy = (symbol: string, timeInForce = 'gtc') => ({
  symbol,
  side: 'buy',
  type: 'limit',
  quantity: '2',
  limitPrice: '1.00',
  timeInForce,
});

async function brokerStatus(t: TestSystem, orderId: string): Promise<string | null> {
  const { rows } = await t.db.pool.query<{ status: string }>(
    'SELECT status FROM broker_orders WHERE client_order_id = $1',
    [orderId],
  );
  return rows[0]?.status ?? null;
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

async function metric(t: TestSystem, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${t.system.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function held(t: TestSystem, key: string): Promise<string> {
  return (await t.api.request<{ cash: { held: string } }>('GET', '/v1/account', key)).body.cash.held;
}

/** Every fill we applied is one the broker made, and we have every one it made for these orders. */
async function fillsMatchBroker(t: TestSystem, orderIds: readonly string[]): Promise<void> {
  const { rows: ours } = await t.db.pool.query<{ exec_id: string }>(
    'SELECT exec_id FROM order_fills WHERE order_id = ANY($1::uuid[]) ORDER BY exec_id',
    [orderIds],
  );
  const { rows: theirs } = await t.db.pool.query<{ exec_id: string }>(
    `SELECT e.exec_id FROM broker_executions e JOIN broker_orders o USING (broker_order_id)
     WHERE e.exec_type = 'trade' AND o.client_order_id = ANY($1::text[]) ORDER BY e.exec_id`,
    [orderIds],
  );
  expect(ours).toEqual(theirs);
}

describe('open-order check: every report of every order is lost (issue 11, item 1)', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ env: { BROKER_FAULTS: 'drop_report=1', OPEN_ORDER_CHECK_SECONDS: '1' } });
  });
  afterAll(() => t.stop());

  it(
    'brings market orders and a cancel to where the broker has them, from the broker itself, with no reconciliation',
    { timeout: 120_000 },
    async () => {
      const { key } = await t.api.openAccount('100000.00');
      const market = [
        await place(t, key, 'm1', marketBuy('AAPL', '2')),
        await place(t, key, 'm2', marketBuy('MSFT', '0.5')),
        await place(t, key, 'm3', marketBuy('NVDA', '1')),
      ];
      const resting = await place(t, key, 'r1', restingBuy('TSLA'));
      // Acknowledged by the broker's answer to the submit; no report of any kind ever arrives.
      await t.api.waitForOrder<Order>(key, resting.id, (o) => o.status === 'new');
      expect((await t.api.request<Order>('DELETE', `/v1/orders/${resting.id}`, key)).status).toBe(202);

      for (const order of market) {
        const done = await t.api.waitForOrder<Order>(key, order.id, (o) => FINAL.includes(o.status), 60_000);
        expect(done.status).toBe('filled');
        expect(dec(done.filledQuantity).eq(done.quantity)).toBe(true);
      }
      const canceled = await t.api.waitForOrder<Order>(key, resting.id, (o) => FINAL.includes(o.status), 60_000);
      expect(canceled.status).toBe('canceled');

      // The fault held: the broker pushed nothing, and no reconciliation ran.
      const { rows: pushed } = await t.db.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM broker_executions WHERE NOT dropped',
      );
      expect(pushed[0]!.n).toBe(0);
      const { rows: runs } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reconciliation_runs');
      expect(runs[0]!.n).toBe(0);

      await fillsMatchBroker(t, [...market.map((o) => o.id), resting.id]);
      expect(await metric(t, 'trading_open_order_check_recovered_total', 'kind="fill"')).toBeGreaterThanOrEqual(3);
      expect(await metric(t, 'trading_open_order_check_recovered_total', 'kind="close"')).toBeGreaterThanOrEqual(1);
      expect(await held(t, key)).toBe('0.00');
      expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);
    },
  );
});

describe('a cancel refused as too late asks the broker at once (issue 11, item 2)', () => {
  let t: TestSystem;
  beforeAll(async () => {
    // The periodic check is an hour away: only the ask that follows the refusal can bring the fill.
    t = await startTestSystem({ env: { BROKER_FAULTS: 'drop_report=1', OPEN_ORDER_CHECK_SECONDS: '3600' } });
  });
  afterAll(() => t.stop());

  it('applies the fill the broker made, and shows the refusal to the client', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const order = await place(t, key, 'late', marketBuy('AAPL', '1'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'new');
    await waitFor(
      () => brokerStatus(t, order.id),
      (status) => status === 'filled',
    );
    // Its fill report is lost: here it is still new, and the client cancels it.
    expect((await t.api.request<Order>('GET', `/v1/orders/${order.id}`, key)).body.status).toBe('new');
    expect((await t.api.request<Order>('DELETE', `/v1/orders/${order.id}`, key)).status).toBe(202);

    const done = await t.api.waitForOrder<Order>(key, order.id, (o) => FINAL.includes(o.status), 30_000);
    expect(done.status).toBe('filled');
    expect(done.fills).toHaveLength(1);
    expect(done.lastRejection).toMatchObject({ action: 'cancel', code: 'TOO_LATE_TO_CANCEL' });
    await fillsMatchBroker(t, [order.id]);
    expect(await held(t, key)).toBe('0.00');
  });
});

describe('a cancel of an order that never left ends here (issue 11, item 3)', () => {
  // Wednesday 25 November 2026, 03:00 New York: closed, so orders wait for the open at the request server.
  const clock = manualClock(new Date('2026-11-25T08:00:00Z'));
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ clock, env: { OPEN_ORDER_CHECK_SECONDS: '1' } });
  });
  afterAll(() => t.stop());

  it('is canceled at once, releases its hold, and is never sent at the open', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const waiting = await place(t, key, 'before-open', marketBuy('AAPL', '1'));
    // Its request has reached the request server, where it waits for the session.
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
    const canceled = await t.api.request<Order>('DELETE', `/v1/orders/${waiting.id}`, key);
    expect(canceled.status).toBe(202);
    expect(canceled.body.status).toBe('canceled');
    expect(await held(t, key)).toBe('0.00');

    // The open comes, and with it an order placed after the cancel, which goes out: the canceled one never does.
    clock.set(new Date('2026-11-25T15:00:00Z'));
    const after = await place(t, key, 'after-open', marketBuy('MSFT', '1'));
    await t.api.waitForOrder<Order>(key, after.id, (o) => o.status === 'filled');
    expect(await brokerStatus(t, waiting.id)).toBeNull();
    expect((await t.api.request<Order>('GET', `/v1/orders/${waiting.id}`, key)).body.status).toBe('canceled');
  });
});

describe('a cancel of an order whose submission is unknown waits for the inquiry (issue 11, item 3)', () => {
  const proxy = new BrokerProxy();
  const system = systemBehindProxy(proxy, { env: { OPEN_ORDER_CHECK_SECONDS: '1' } });

  it(
    'cancels here what the broker never had, and at the broker what it had, after asking',
    { timeout: 120_000 },
    async () => {
      const t = system();
      const { key } = await t.api.openAccount('10000.00');
      // While `dark`, the broker cannot be reached; `lostAck` lets the next order through but loses its answer.
      let dark = true;
      let lostAck = false;
      proxy.fault = ({ method }) => {
        if (method === 'POST' && lostAck) {
          lostAck = false;
          return { status: 503, forwarded: true };
        }
        return dark ? { status: 503 } : null;
      };
      lostAck = true;
      const arrived = await place(t, key, 'arrived', restingBuy('MSFT'));
      await waitFor(
        () => brokerStatus(t, arrived.id),
        (status) => status === 'new',
      );
      const neverArrived = await place(t, key, 'never-arrived', restingBuy('TSLA'));
      await waitFor(
        () => Promise.resolve(proxy.callsTo('POST', '/v1/orders').length),
        (n) => n >= 2,
      );
      // Both outcomes are unknown here: the cancels wait for the broker's answer to the inquiry.
      for (const order of [neverArrived, arrived]) {
        const pending = await t.api.request<Order>('DELETE', `/v1/orders/${order.id}`, key);
        expect(pending.body.status).toBe('pending_cancel');
      }
      dark = false;
      const here = await t.api.waitForOrder<Order>(key, neverArrived.id, (o) => FINAL.includes(o.status));
      expect(here.status).toBe('canceled');
      expect(await brokerStatus(t, neverArrived.id)).toBeNull();
      const there = await t.api.waitForOrder<Order>(key, arrived.id, (o) => FINAL.includes(o.status));
      expect(there.status).toBe('canceled');
      expect(await brokerStatus(t, arrived.id)).toBe('canceled');
      expect(await held(t, key)).toBe('0.00');
    },
  );
});

describe('a second cancel after a refused one (issue 11, item 4)', () => {
  const proxy = new BrokerProxy();
  const system = systemBehindProxy(proxy, { env: { OPEN_ORDER_CHECK_SECONDS: '1' } });

  it('ends the refused one with the order live again, then cancels it', { timeout: 120_000 }, async () => {
    const t = system();
    const { key } = await t.api.openAccount('10000.00');
    const order = await place(t, key, 'twice', restingBuy('TSLA'));
    await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'new');
    // The broker refuses the first cancel.
    let refusals = 0;
    proxy.fault = ({ method, path }) =>
      method === 'DELETE' && path.startsWith('/v1/orders/') && refusals++ === 0
        ? {
            status: 422,
            body: { error: { code: 'TOO_LATE_TO_CANCEL', message: 'the order is being filled', details: null } },
          }
        : null;

    expect((await t.api.request<Order>('DELETE', `/v1/orders/${order.id}`, key)).status).toBe(202);
    const refused = await t.api.waitForOrder<Order>(key, order.id, (o) => o.status !== 'pending_cancel');
    expect(refused.status).toBe('new');
    expect(refused.lastRejection).toMatchObject({
      action: 'cancel',
      code: 'TOO_LATE_TO_CANCEL',
      message: 'the order is being filled',
    });

    const again = await t.api.request<Order>('DELETE', `/v1/orders/${order.id}`, key);
    expect(again.status).toBe(202);
    expect(again.body.status).toBe('pending_cancel');
    const canceled = await t.api.waitForOrder<Order>(key, order.id, (o) => FINAL.includes(o.status));
    expect(canceled.status).toBe('canceled');
    expect(proxy.callsTo('DELETE', '/v1/orders/')).toHaveLength(2);
    expect(await held(t, key)).toBe('0.00');
  });
});

describe("the broker's answers read correctly (issue 11, item 5)", () => {
  const proxy = new BrokerProxy();
  const system = systemBehindProxy(proxy);

  it(
    'leaves 408, 409, 429 and 5xx on a submit or an inquiry unknown, never rejected, and waits as Retry-After says',
    { timeout: 180_000 },
    async () => {
      const t = system();
      const { key } = await t.api.openAccount('50000.00');
      // The answers the broker's door gives to the next new order, then to the inquiries about it.
      let next: FaultAnswer[] = [];
      const script = new Map<string, FaultAnswer[]>();
      proxy.fault = ({ method, path, body }) => {
        if (method === 'POST') {
          const id = (body as { clientOrderId: string }).clientOrderId;
          if (!script.has(id)) {
            script.set(id, next);
            next = [];
          }
          return script.get(id)!.shift() ?? null;
        }
        const asked = /clientOrderId=([^&]+)/.exec(path)?.[1];
        return asked === undefined ? null : (script.get(decodeURIComponent(asked))?.shift() ?? null);
      };
      const cases: Array<[string, FaultAnswer[]]> = [
        ['408', [{ status: 408 }]],
        ['409', [{ status: 409, body: { error: { code: 'CONFLICT', message: 'busy', details: null } } }]],
        ['429', [{ status: 429, headers: { 'retry-after': '1' } }]],
        ['500', [{ status: 500 }]],
        ['503.then.inquiry.429.400', [{ status: 503 }, { status: 429 }, { status: 400 }]],
      ];
      for (const [name, answers] of cases) {
        next = answers;
        const order = await place(t, key, name, marketBuy('AAPL', '1'));
        const done = await t.api.waitForOrder<Order>(key, order.id, (o) => FINAL.includes(o.status), 60_000);
        expect(done.status, name).toBe('filled');
        expect(await brokerStatus(t, order.id), name).toBe('filled');
        expect(script.get(order.id), name).toEqual([]);
        if (name === '429') {
          // The next call about the order came no sooner than the broker asked.
          const limited = proxy.calls.find((c) => c.answered === 429)!;
          const after = proxy.calls.find((c) => c.at > limited.at && c.path.includes(order.id));
          expect(after).toBeDefined();
          expect(after!.at - limited.at).toBeGreaterThanOrEqual(1_000);
        }
      }
    },
  );
});

describe('day orders that never reached the broker expire at their close (issue 11, item 10)', () => {
  // Wednesday 25 November 2026, 10:00 New York: regular hours.
  const clock = manualClock(new Date('2026-11-25T15:00:00Z'));
  const proxy = new BrokerProxy();
  const system = systemBehindProxy(proxy, { clock, env: { OPEN_ORDER_CHECK_SECONDS: '1' } });

  it(
    'expires one held back by an outage past the close and releases its hold; a gtc order waits on',
    { timeout: 120_000 },
    async () => {
      const t = system();
      const { key } = await t.api.openAccount('10000.00');
      // The broker is down for the request server all afternoon.
      proxy.fault = () => ({ status: 503, headers: { 'retry-after': '0' } });
      const gtc = await place(t, key, 'held-gtc', { ...restingBuy('MSFT'), limitPrice: '2.00' });
      const heldForGtc = await held(t, key);
      const day = await place(t, key, 'held-day', marketBuy('AAPL', '1'));
      await waitFor(
        () => Promise.resolve(proxy.callsTo('POST', '/v1/orders').length),
        (n) => n >= 2,
      );
      expect((await t.api.request<Order>('GET', `/v1/orders/${day.id}`, key)).body.status).toBe('pending_new');

      // 16:30 New York: the regular session is over; then the broker comes back.
      clock.set(new Date('2026-11-25T21:30:00Z'));
      await waitFor(
        async () => (await t.api.request<{ session: string }>('GET', '/v1/market/clock', key)).body.session,
        (session) => session === 'post',
      );
      proxy.fault = () => null;
      const expired = await t.api.waitForOrder<Order>(key, day.id, (o) => FINAL.includes(o.status));
      expect(expired.status).toBe('expired');
      expect(await brokerStatus(t, day.id)).toBeNull();
      // The gtc order waits for the next session, its hold kept.
      expect((await t.api.request<Order>('GET', `/v1/orders/${gtc.id}`, key)).body.status).toBe('pending_new');
      expect(await held(t, key)).toBe(heldForGtc);
    },
  );
});

describe('no request lost between the outbox and the request server (issue 12, item 3)', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ env: { OPEN_ORDER_CHECK_SECONDS: '1' } });
  });
  afterAll(() => t.stop());

  /** The crash window: the relay marked the order's outbox row sent, and the bus never had it. */
  async function loseNextRequest(orderId: string, type: 'SubmitOrder' | 'CancelOrder'): Promise<void> {
    const { rowCount } = await t.db.pool.query(
      "UPDATE outbox SET sent_at = now() WHERE sent_at IS NULL AND payload->>'orderId' = $1 AND payload->>'type' = $2",
      [orderId, type],
    );
    expect(rowCount).toBe(1);
  }

  it('drives a lost order and a lost cancel again, and both end as the broker says', { timeout: 120_000 }, async () => {
    const { key } = await t.api.openAccount('10000.00');
    const resting = await place(t, key, 'resting', restingBuy('TSLA'));
    await t.api.waitForOrder<Order>(key, resting.id, (o) => o.status === 'new');

    await t.system.relay.stop();
    const lost = await place(t, key, 'lost', marketBuy('AAPL', '1'));
    await loseNextRequest(lost.id, 'SubmitOrder');
    expect((await t.api.request<Order>('DELETE', `/v1/orders/${resting.id}`, key)).body.status).toBe('pending_cancel');
    await loseNextRequest(resting.id, 'CancelOrder');
    t.system.relay.start();

    expect((await t.api.waitForOrder<Order>(key, lost.id, (o) => FINAL.includes(o.status))).status).toBe('filled');
    expect((await t.api.waitForOrder<Order>(key, resting.id, (o) => FINAL.includes(o.status))).status).toBe('canceled');
    expect(await metric(t, 'trading_requests_redriven_total', 'kind="submit"')).toBe(1);
    expect(await metric(t, 'trading_requests_redriven_total', 'kind="cancel"')).toBe(1);
    expect(await held(t, key)).toBe('0.00');
  });
});
