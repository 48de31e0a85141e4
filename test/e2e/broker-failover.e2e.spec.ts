import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerPushSecret, brokerReportsPath } from '../../broker-adapter/index.ts';
import { signPush } from '../../broker-adapter/fill-receiver/push-signature.ts';
import { withSearchPath } from '../../platform/index.ts';
import { BrokerProxy } from '../support/broker-proxy.ts';
import { OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

/*
 * Two simulated brokers on real Kafka; the request server reaches the primary through a proxy that
 * can take it down (every call answered 503, as a broker behind a failing gateway). New orders must
 * go to the secondary; orders already at the primary must stay there and be resolved there once it
 * returns; neither broker's own books may ever hold an order of the other's.
 */

interface Order {
  id: string;
  status: string;
  brokerId: string | null;
  filledQuantity: string;
}

interface Broker {
  id: string;
  state: 'healthy' | 'degraded' | 'down';
  drained: boolean;
  drainedBy: string | null;
}

const marketBuy = { symbol: 'AAPL', side: 'buy', type: 'market', quantity: '1' };
const restingBuy = {
  symbol: 'MSFT',
  side: 'buy',
  type: 'limit',
  quantity: '1',
  limitPrice: '1.00',
  timeInForce: 'gtc',
};

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('failover between two brokers', () => {
  const proxy = new BrokerProxy();
  let t: TestSystem;
  let key: string;
  let n = 0;

  beforeAll(async () => {
    await proxy.listen();
    t = await startTestSystem({
      brokers: ['primary', 'secondary'],
      // Only the primary is behind the proxy: it alone goes down.
      requestServerBrokerUrl: (url, broker) => (broker === 'primary' ? proxy.interpose(url) : url),
      brokerTimeoutMs: 500,
      env: { OPEN_ORDER_CHECK_SECONDS: '1' },
    });
    ({ key } = await t.api.openAccount('1000000.00'));
  });
  afterAll(async () => {
    await t?.stop();
    await proxy.close();
  });

  const place = async (body: Record<string, unknown>): Promise<Order> => {
    const response = await t.api.request<Order>('POST', '/v1/orders', key, { clientOrderId: `fo-${++n}`, ...body });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  };
  const order = async (id: string) => (await t.api.request<Order>('GET', `/v1/orders/${id}`, key)).body;
  const brokers = async () => (await t.api.request<Broker[]>('GET', '/v1/ops/brokers', OPS_KEY)).body;
  const stateOf = async (name: string) => (await brokers()).find((broker) => broker.id === name)?.state;

  /** The client order ids (our order ids) in one simulated broker's own books. */
  async function booksOf(schema: string | null): Promise<string[]> {
    const client = new pg.Client({ connectionString: schema ? withSearchPath(t.db.url, schema) : t.db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ client_order_id: string }>(
        'SELECT client_order_id FROM broker_adapter_simulated_orders',
      );
      return rows.map((row) => row.client_order_id);
    } finally {
      await client.end();
    }
  }

  it('routes to the preferred broker while it is healthy', async () => {
    const placed = await place(marketBuy);
    const filled = await t.api.waitForOrder<Order>(key, placed.id, (o) => o.status === 'filled');
    expect(filled.brokerId).toBe('primary');
    expect((await brokers()).map((b) => [b.id, b.state, b.drained])).toEqual([
      ['primary', 'healthy', false],
      ['secondary', 'healthy', false],
    ]);
  });

  it('fails over when the primary goes down, keeps its orders there, and resolves them there once it returns', async () => {
    // At the primary before the outage: a resting order, to be canceled during it.
    const resting = await place(restingBuy);
    await t.api.waitForOrder<Order>(key, resting.id, (o) => o.status === 'new');

    // The primary's gateway goes down: every call answered 503. A submit caught in it reaches the
    // broker first and only its answer is lost: its outcome is unknown, to be resolved at the primary.
    // (The simulated broker behind it keeps pushing its reports, as a broker whose API alone is down.)
    const down = { status: 503, body: { error: { code: 'DOWN', message: 'gateway down' } } };
    proxy.fault = (call) =>
      call.method === 'POST' && call.path === '/v1/orders' ? { ...down, forwarded: true } : down;
    const outageBegan = Date.now();
    const unknown = await place(marketBuy);
    expect(await t.api.request('DELETE', `/v1/orders/${resting.id}`, key)).toMatchObject({ status: 202 });

    // Down within 10 s of the outage's start (the health rules' guarantee, under two probes a second).
    await waitFor(
      () => stateOf('primary'),
      (state) => state === 'down',
      10_000,
    );
    expect(Date.now() - outageBegan).toBeLessThanOrEqual(10_000);
    expect(await stateOf('secondary')).toBe('healthy');
    expect((await (await fetch(`${t.system.url}/metrics`)).text()).split('\n')).toEqual(
      expect.arrayContaining([
        'trading_broker_health{broker="primary",state="down"} 1',
        'trading_broker_health{broker="secondary",state="healthy"} 1',
      ]),
    );

    // Orders placed during the outage are served by the secondary.
    const during = await Promise.all([place(marketBuy), place(marketBuy), place(restingBuy)]);
    for (const placed of during) {
      const settled = await t.api.waitForOrder<Order>(
        key,
        placed.id,
        (o) => o.status === 'filled' || o.status === 'new',
      );
      expect(settled.brokerId).toBe('secondary');
    }
    // Those of the primary wait for it: never resubmitted elsewhere.
    expect(await order(unknown.id)).toMatchObject({ brokerId: 'primary' });
    expect(proxy.callsTo('POST', '/v1/orders').filter((call) => call.answered === 503).length).toBeGreaterThan(0);
    expect(await order(resting.id)).toMatchObject({ status: 'pending_cancel', brokerId: 'primary' });

    // The primary returns: its orders are resolved there.
    proxy.fault = () => null;
    const resolved = await t.api.waitForOrder<Order>(key, unknown.id, (o) => o.status === 'filled');
    expect(resolved.brokerId).toBe('primary');
    const canceled = await t.api.waitForOrder<Order>(key, resting.id, (o) => o.status === 'canceled');
    expect(canceled.brokerId).toBe('primary');
    await waitFor(
      () => stateOf('primary'),
      (state) => state === 'healthy',
      30_000,
    );
    const after = await place(marketBuy);
    expect((await t.api.waitForOrder<Order>(key, after.id, (o) => o.status === 'filled')).brokerId).toBe('primary');

    // Each broker's own books hold exactly its orders, each once, and none of the other's.
    const primaryBooks = await booksOf(null);
    const secondaryBooks = await booksOf('sim_secondary');
    expect(new Set(primaryBooks).size).toBe(primaryBooks.length);
    expect(new Set(secondaryBooks).size).toBe(secondaryBooks.length);
    expect(primaryBooks.filter((id) => secondaryBooks.includes(id))).toEqual([]);
    const { rows } = await t.db.pool.query<{ id: string; broker_id: string | null }>(
      'SELECT id::text, broker_id FROM orders',
    );
    for (const row of rows) {
      expect(row.broker_id === 'primary' ? primaryBooks : secondaryBooks).toContain(row.id);
    }
    expect(secondaryBooks).toHaveLength(during.length);
  });

  it('ops drain a broker by hand: new orders go to the next, audited with the operator', async () => {
    const drained = await t.api.request<Broker>('POST', '/v1/ops/brokers/primary/drain', OPS_KEY);
    expect(drained).toMatchObject({ status: 200, body: { id: 'primary', drained: true, drainedBy: 'ops' } });
    // Request servers read drains twice a second: orders go to the secondary from the next read on.
    const routedTo = async () => {
      const next = await place(marketBuy);
      return (await t.api.waitForOrder<Order>(key, next.id, (o) => o.status === 'filled')).brokerId;
    };
    await waitFor(routedTo, (broker) => broker === 'secondary');
    expect(await routedTo()).toBe('secondary');

    const undrained = await t.api.request<Broker>('POST', '/v1/ops/brokers/primary/undrain', OPS_KEY);
    expect(undrained).toMatchObject({ status: 200, body: { drained: false } });
    await waitFor(routedTo, (broker) => broker === 'primary');

    const audit = await t.api.request<{ actions: { operator: string; action: string; target: string }[] }>(
      'GET',
      '/v1/ops/audit',
      OPS_KEY,
    );
    expect(audit.body.actions.map((e) => [e.operator, e.action, e.target])).toEqual(
      expect.arrayContaining([
        ['ops', 'broker.drain', 'primary'],
        ['ops', 'broker.undrain', 'primary'],
      ]),
    );
  });

  it('refuses a broker it does not know, and a client key, without changing anything', async () => {
    expect(await t.api.request('POST', '/v1/ops/brokers/nowhere/drain', OPS_KEY)).toMatchObject({
      status: 404,
      body: { error: { code: 'BROKER_NOT_FOUND' } },
    });
    expect((await t.api.request('POST', '/v1/ops/brokers/primary/drain', key)).status).toBe(401);
    expect((await t.api.request('GET', '/v1/ops/brokers', key)).status).toBe(401);
    expect((await brokers()).every((broker) => !broker.drained)).toBe(true);
  });

  it('never applies a report from another broker than the order’s', async () => {
    const placed = await place(restingBuy);
    const live = await t.api.waitForOrder<Order>(key, placed.id, (o) => o.status === 'new');
    expect(live.brokerId).toBe('primary');
    // The secondary, with its own key, reports a fill of an order that lives at the primary.
    const report = {
      execId: `forged-${placed.id}`,
      brokerOrderId: 'elsewhere-1',
      clientOrderId: placed.id,
      account: (await t.api.request<{ accountId: string }>('GET', '/v1/account', key)).body.accountId,
      symbol: 'MSFT',
      side: 'buy',
      execType: 'trade',
      orderStatus: 'filled',
      lastQuantity: '1',
      lastPrice: '1.00',
      cumulativeQuantity: '1',
      leavesQuantity: '0',
      averagePrice: '1.00',
      orderQuantity: '1',
      transactTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      sequence: 1_000_000,
    };
    const body = JSON.stringify([report]);
    const pushed = await fetch(new URL(brokerReportsPath('secondary'), t.system.fillReceiverUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signPush(brokerPushSecret(t.config.FILL_RECEIVER_SECRET, 'secondary'), body, Date.now()),
      },
      body,
    });
    expect(pushed.status).toBe(200);
    const anomaly = await waitFor(
      async () =>
        (
          await t.db.pool.query<{ detail: string }>(
            "SELECT detail FROM order_anomalies WHERE kind = 'REPORT_FROM_OTHER_BROKER' AND event ->> 'clientOrderId' = $1",
            [placed.id],
          )
        ).rows,
      (rows) => rows.length > 0,
    );
    expect(anomaly[0]!.detail).toContain('secondary');
    expect(await order(placed.id)).toMatchObject({ status: 'new', filledQuantity: '0', brokerId: 'primary' });
  });
});
