import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTIONS_TOPIC, ExecutionReport, tradingDateOf } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { dec, Decimal, formatCash } from '../../platform/index.ts';
import { OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

interface Fill {
  execId: string;
  quantity: string;
  price: string;
  commission: string;
  state: 'active' | 'busted' | 'corrected';
  corrects?: string;
}

interface Order {
  id: string;
  status: string;
  filledQuantity: string;
  commission: string;
  fills: Fill[];
}

interface Account {
  cash: { total: string; available: string; held: string };
  positions: Array<{ symbol: string; quantity: string; available: string; held: string }>;
}

interface Anomaly {
  orderId: string | null;
  kind: string;
  detail: string;
}

interface AccountEvent {
  type: string;
  order: Order;
  fill?: Fill;
  cash?: { total: string };
  position?: { quantity: string } | null;
}

/**
 * Issue 14's busts and corrects, through the whole system on real Kafka: the broker's operations desk
 * busts or corrects a trade after the fact; the report reaches the trading server, which marks the
 * fill, reverses the ledger by new entries and tells the client; the reconciler then finds our books
 * and the broker's amended statements in agreement (no false break).
 */
describe('a bust or correct by the broker', () => {
  let t: TestSystem;

  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(async () => {
    await t.stop();
  });

  const desk = (execId: string, action: 'bust' | 'correct', body?: unknown) =>
    fetch(new URL(`/v1/trades/${encodeURIComponent(execId)}/${action}`, t.system.broker.url), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.config.BROKER_API_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const account = async (key: string) => (await t.api.request<Account>('GET', '/v1/account', key)).body;
  const order = async (key: string, id: string) => (await t.api.request<Order>('GET', `/v1/orders/${id}`, key)).body;
  const events = async (key: string) =>
    (await t.api.request<{ events: AccountEvent[] }>('GET', '/v1/events?since=0&limit=1000', key)).body.events;
  const alarms = async () =>
    (await t.api.request<{ alarms: Anomaly[] }>('GET', '/v1/ops/alarms?limit=500', OPS_KEY)).body.alarms;
  const metrics = async () => (await fetch(`${t.system.url}/metrics`)).text();

  async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function filledMarketOrder(key: string, clientOrderId: string, side: 'buy' | 'sell', quantity: string) {
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId,
      symbol: 'AAPL',
      side,
      type: 'market',
      quantity,
    });
    expect(placed.status).toBe(201);
    return t.api.waitForOrder<Order>(key, placed.body.id, (o) => o.status === 'filled');
  }

  /** Reconciliation of today (the always-open clock): no break at all, and the ledger's invariants. */
  async function expectBooksAgree(): Promise<void> {
    const run = await t.api.request<{ status: string; breaks: Array<{ kind: string; expected: string }> }>(
      'POST',
      '/v1/ops/reconciliations',
      OPS_KEY,
      { date: tradingDateOf(new Date()), repair: false },
    );
    expect(run.status).toBe(201);
    expect(run.body.breaks).toEqual([]);
    expect(run.body.status).toBe('clean');
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);
  }

  const cents = (value: Decimal) => value.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  /** What a buy of `quantity` at `price` costs with the default 10 bps commission, each to the cent half-up. */
  const buyCost = (quantity: string, price: string) => {
    const notional = cents(dec(quantity).times(price));
    return notional.plus(cents(notional.times('0.001')));
  };

  it('busts a buy: the fill is marked, the cash comes back, the shares go, the client is told, no break', async () => {
    const { key } = await t.api.openAccount('1000.00');
    const filled = await filledMarketOrder(key, 'bust-a-buy', 'buy', '2');
    const trade = filled.fills[0]!;
    expect(trade.state).toBe('active');

    const first = await desk(trade.execId, 'bust');
    expect(first.status).toBe(201);
    const report = ExecutionReport.parse(await first.json());
    expect((await desk(trade.execId, 'bust')).status).toBe(200);

    const busted = await t.api.waitForOrder<Order>(key, filled.id, (o) => o.fills[0]?.state === 'busted');
    // A filled order stays filled (final), with only its active fills counted.
    expect(busted).toMatchObject({ status: 'filled', filledQuantity: '0', commission: '0.00' });
    expect(busted.fills).toEqual([{ ...trade, state: 'busted' }]);
    expect(await account(key)).toEqual({
      accountId: expect.any(String),
      cash: { currency: 'USD', total: '1000.00', available: '1000.00', held: '0.00' },
      positions: [],
    });
    const last = (await events(key)).at(-1)!;
    expect(last).toMatchObject({
      type: 'trade_bust',
      fill: { execId: trade.execId, state: 'busted' },
      cash: { total: '1000.00' },
      position: null,
      order: { id: filled.id, filledQuantity: '0' },
    });

    // The same bust delivered again (at least once, on the topic) changes nothing.
    await t.bus.publish(EXECUTIONS_TOPIC, [{ key: report.account, value: JSON.stringify(report) }]);
    await waitFor(
      async () =>
        (await metrics()).includes('trading_execution_reports_total{exec_type="trade_cancel",outcome="ignored"} 1'),
      'the duplicate bust to be ignored',
    );
    expect(await order(key, filled.id)).toEqual(busted);
    expect((await account(key)).cash.total).toBe('1000.00');
    expect((await events(key)).filter((e) => e.type === 'trade_bust')).toHaveLength(1);
    await expectBooksAgree();
  });

  it('busts a buy whose shares were sold: a flagged short, alarmed, never netted, and the books still agree', async () => {
    const { accountId, key } = await t.api.openAccount('1000.00');
    const bought = await filledMarketOrder(key, 'short-buy', 'buy', '2');
    const sold = await filledMarketOrder(key, 'short-sell', 'sell', '2');
    const cashAfterSale = (await account(key)).cash.total;
    expect((await account(key)).positions).toEqual([]);

    expect((await desk(bought.fills[0]!.execId, 'bust')).status).toBe(201);
    await t.api.waitForOrder<Order>(key, bought.id, (o) => o.fills[0]?.state === 'busted');

    const after = await account(key);
    expect(after.positions).toEqual([
      { symbol: 'AAPL', quantity: '-2', available: '-2', held: '0', averageCost: '0.0000' },
    ]);
    // The buy's cost comes back on top of what the sale brought.
    const buyCostPaid = cents(dec(bought.fills[0]!.quantity).times(bought.fills[0]!.price));
    expect(dec(after.cash.total).eq(dec(cashAfterSale).plus(buyCostPaid).plus(bought.fills[0]!.commission))).toBe(true);
    const short = (await alarms()).filter((alarm) => alarm.kind === 'SHORT_AFTER_BUST');
    expect(short).toHaveLength(1);
    expect(short[0]).toMatchObject({ orderId: bought.id });
    expect(short[0]!.detail).toContain(accountId);
    expect(short[0]!.detail).toContain('AAPL -2');
    expect(await metrics()).toContain('trading_order_alarms_total{kind="SHORT_AFTER_BUST"} 1');
    const opsEvents = await t.api.request<{ events: Array<{ kind?: string }> }>(
      'GET',
      '/v1/ops/events?since=0&limit=1000',
      OPS_KEY,
    );
    expect(opsEvents.body.events.some((event) => event.kind === 'SHORT_AFTER_BUST')).toBe(true);
    // The sale stands: it is the customer's, and the broker's.
    expect((await order(key, sold.id)).fills[0]!.state).toBe('active');
    await expectBooksAgree();
  });

  it('corrects the price, then the quantity: each correction replaces the fill it names, and the cash follows', async () => {
    const { key } = await t.api.openAccount('2000.00');
    const filled = await filledMarketOrder(key, 'correct-me', 'buy', '3');
    const trade = filled.fills[0]!;
    const newPrice = dec(trade.price).plus('1.25').toFixed(2);

    const priced = await desk(trade.execId, 'correct', { price: newPrice });
    expect(priced.status).toBe(201);
    const priceCorrection = ExecutionReport.parse(await priced.json());
    expect(priceCorrection).toMatchObject({ execType: 'trade_correct', refExecId: trade.execId, lastQuantity: '3' });
    // Idempotent on the same terms; other terms for the same trade are refused.
    expect((await desk(trade.execId, 'correct', { price: newPrice })).status).toBe(200);
    const conflicting = await desk(trade.execId, 'correct', { price: dec(newPrice).plus(1).toFixed(2) });
    expect(conflicting.status).toBe(409);
    expect(await conflicting.json()).toMatchObject({ error: { code: 'TRADE_ALREADY_AMENDED' } });

    await t.api.waitForOrder<Order>(key, filled.id, (o) => o.fills.some((f) => f.corrects === trade.execId));
    const resized = await desk(priceCorrection.execId, 'correct', { quantity: '2' });
    expect(resized.status).toBe(201);
    const quantityCorrection = ExecutionReport.parse(await resized.json());

    const corrected = await t.api.waitForOrder<Order>(key, filled.id, (o) =>
      o.fills.some((f) => f.corrects === priceCorrection.execId),
    );
    const cost = buyCost('2', newPrice);
    const commission = formatCash(cost.minus(cents(dec('2').times(newPrice))));
    expect(corrected).toMatchObject({ status: 'filled', filledQuantity: '2', commission });
    expect(corrected.fills.map((f) => [f.execId, f.state, f.corrects ?? null, f.quantity, f.price])).toEqual([
      [trade.execId, 'corrected', null, '3', trade.price],
      [priceCorrection.execId, 'corrected', trade.execId, '3', newPrice],
      [quantityCorrection.execId, 'active', priceCorrection.execId, '2', newPrice],
    ]);
    const balances = await account(key);
    expect(balances.cash).toEqual({
      currency: 'USD',
      total: formatCash(dec('2000').minus(cost)),
      available: formatCash(dec('2000').minus(cost)),
      held: '0.00',
    });
    expect(balances.positions).toMatchObject([{ symbol: 'AAPL', quantity: '2' }]);
    const corrections = (await events(key)).filter((e) => e.type === 'trade_correct');
    expect(corrections.map((e) => [e.fill?.execId, e.fill?.state])).toEqual([
      // Each as its event left it: the price correction stood until the quantity correction.
      [priceCorrection.execId, 'active'],
      [quantityCorrection.execId, 'active'],
    ]);
    await expectBooksAgree();
  });

  it('repairs a bust whose report was lost: reconciliation finds it, the broker replays it, the books agree', async () => {
    const { key } = await t.api.openAccount('1000.00');
    const filled = await filledMarketOrder(key, 'lost-bust', 'buy', '1');
    const faults = t.system.broker.faults.settings.probabilities;
    faults.drop_report = 1;
    try {
      expect((await desk(filled.fills[0]!.execId, 'bust')).status).toBe(201);
    } finally {
      faults.drop_report = 0;
    }
    const date = tradingDateOf(new Date());
    const found = await t.api.request<{ breaks: Array<{ kind: string; orderId: string }> }>(
      'POST',
      '/v1/ops/reconciliations',
      OPS_KEY,
      { date, repair: false },
    );
    expect(
      found.body.breaks
        .filter((b) => b.orderId === filled.id)
        .map((b) => b.kind)
        .sort(),
    ).toEqual(['ORDER_STATUS_MISMATCH', 'UNKNOWN_EXECUTION']);
    expect((await order(key, filled.id)).fills[0]!.state).toBe('active');
    const repaired = await t.api.request<{ status: string }>('POST', '/v1/ops/reconciliations', OPS_KEY, {
      date,
      repair: true,
    });
    expect(repaired.body.status).toBe('repaired');
    expect(await order(key, filled.id)).toMatchObject({ filledQuantity: '0', fills: [{ state: 'busted' }] });
    expect((await account(key)).cash.total).toBe('1000.00');
    await expectBooksAgree();
  });

  it('holds a bust that arrives before its trade and applies it after; a forged one is held for ops; an unknown trade is 404', async () => {
    const { accountId, key } = await t.api.openAccount('1000.00');
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 'resting-for-bust',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      quantity: '2',
      limitPrice: '1.00',
      timeInForce: 'gtc',
    });
    expect(placed.status).toBe(201);
    await t.api.waitForOrder<Order>(key, placed.body.id, (o) => o.status === 'new');
    const before = await account(key);

    // Built from the broker's acknowledgement; the bust goes on the topic before the trade it names.
    const brokerOrder = await t.system.brokerClient.getOrderByClientOrderId(placed.body.id);
    const [ack] = await t.system.brokerClient.getOrderReports(brokerOrder!.brokerOrderId);
    const trade = ExecutionReport.parse({
      ...ack,
      execId: 'early-trade-1',
      execType: 'trade',
      orderStatus: 'partially_filled',
      lastQuantity: '1',
      lastPrice: '1.00',
      cumulativeQuantity: '1',
      leavesQuantity: '1',
      averagePrice: '1.00',
      sequence: ack!.sequence + 1,
    });
    const bust = ExecutionReport.parse({
      ...trade,
      execId: 'early-trade-1.bust',
      execType: 'trade_cancel',
      refExecId: trade.execId,
      orderStatus: 'new',
      lastQuantity: '0',
      lastPrice: '0',
      cumulativeQuantity: '0',
      leavesQuantity: '2',
      averagePrice: '0',
      sequence: ack!.sequence + 2,
    });
    const forged = ExecutionReport.parse({ ...bust, execId: 'forged-bust-1', account: 'someone-else' });
    const publish = (report: ExecutionReport) =>
      t.bus.publish(EXECUTIONS_TOPIC, [{ key: accountId, value: JSON.stringify(report) }]);
    await publish(bust);
    await waitFor(
      async () =>
        (await metrics()).includes('trading_execution_reports_total{exec_type="trade_cancel",outcome="parked"}'),
      'the early bust to be parked',
    );
    expect((await order(key, placed.body.id)).fills).toEqual([]);
    await publish(trade);
    const live = await t.api.waitForOrder<Order>(key, placed.body.id, (o) => o.fills[0]?.state === 'busted');
    // A live order's bust reopens what it had filled, and its hold covers it again.
    expect(live).toMatchObject({ status: 'new', filledQuantity: '0', commission: '0.00' });
    expect(await account(key)).toEqual(before);

    await publish(forged);
    await waitFor(
      async () => (await alarms()).some((a) => a.kind === 'TRADE_CORRECTION_FOR_OPS' && a.orderId === placed.body.id),
      'the forged bust to be held for ops',
    );
    expect((await alarms()).find((a) => a.kind === 'TRADE_CORRECTION_FOR_OPS')!.detail).toContain('forged-bust-1');
    expect(await order(key, placed.body.id)).toEqual(live);
    expect(await account(key)).toEqual(before);
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);

    for (const action of ['bust', 'correct'] as const) {
      const unknown = await desk('no-such-trade', action, action === 'correct' ? { price: '1.00' } : undefined);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: { code: 'EXECUTION_NOT_FOUND' } });
    }
    const empty = await desk('no-such-trade', 'correct', {});
    expect(empty.status).toBe(400);
  });
});
