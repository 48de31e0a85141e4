import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionReport } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants, createLedger } from '../../ledger/index.ts';
import { InProcessBus, silentLogger, type BusMessage } from '../../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { buildTestApp, fixedMarketData, TEST_OPS_KEY } from '../../test/support/trading-app.ts';
import type { App } from '../index.ts';
import { createOrderService } from '../orders/order.service.ts';
import { unsentSubmits } from '../requests/unsent-submits.ts';
import { createExecutionConsumer, type ExecutionConsumer } from './execution.consumer.ts';

/** The execution consumer on real PostgreSQL, fed reports as the bus would hand them over. */
describe('execution consumer', () => {
  let db: TestDatabase;
  let app: App;
  let consumer: ExecutionConsumer;
  let sequence = 0;
  const ops = { authorization: `Bearer ${TEST_OPS_KEY}` };

  beforeAll(async () => {
    db = await createTestDatabase();
    const marketData = fixedMarketData();
    app = await buildTestApp(db, { marketData });
    const orders = createOrderService({
      pool: db.pool,
      ledger: createLedger({ commissionBps: 10 }),
      marketData,
      logger: silentLogger,
      unsentSubmits,
    });
    consumer = createExecutionConsumer({ pool: db.pool, bus: new InProcessBus(), orders, logger: silentLogger });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  async function anOrder(quantity = '10', limitPrice = '187.25', deposit = '10000.00') {
    const created = (
      await app.inject({ method: 'POST', url: '/v1/ops/accounts', headers: ops, payload: { name: 'c' } })
    ).json<{ accountId: string; apiKey: string }>();
    await app.inject({
      method: 'POST',
      url: `/v1/ops/accounts/${created.accountId}/deposits`,
      headers: ops,
      payload: { amount: deposit, currency: 'USD' },
    });
    const headers = { authorization: `Bearer ${created.apiKey}` };
    const order = (
      await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers,
        payload: { clientOrderId: `o-${sequence++}`, symbol: 'AAPL', side: 'buy', type: 'limit', quantity, limitPrice },
      })
    ).json<{ id: string; accountId: string }>();
    return { ...order, headers };
  }

  /** A broker report for `order`, FIX-consistent in its cumulative fields. */
  function aReport(
    order: { id: string; accountId: string },
    fields: Partial<ExecutionReport> & Pick<ExecutionReport, 'execType'>,
  ): ExecutionReport {
    sequence++;
    return {
      execId: `X-${sequence}`,
      brokerOrderId: `B-${order.id}`,
      clientOrderId: order.id,
      account: order.accountId,
      symbol: 'AAPL',
      side: 'buy',
      orderStatus: 'new',
      lastQuantity: '0',
      lastPrice: '0',
      cumulativeQuantity: '0',
      leavesQuantity: '10',
      averagePrice: '0',
      orderQuantity: '10',
      rejectReason: null,
      transactTime: '2026-11-25T15:00:00.000Z',
      sequence,
      ...fields,
    };
  }

  const trade = (
    order: { id: string; accountId: string },
    execId: string,
    quantity: string,
    cumulative: string,
    price = '187.20',
  ) =>
    aReport(order, {
      execId,
      execType: 'trade',
      orderStatus: cumulative === '10' ? 'filled' : 'partially_filled',
      lastQuantity: quantity,
      lastPrice: price,
      cumulativeQuantity: cumulative,
      leavesQuantity: String(10 - Number(cumulative)),
      averagePrice: price,
    });

  const asMessages = (reports: unknown[]): BusMessage[] =>
    reports.map((report, i) => ({
      topic: 'executions',
      partition: 0,
      offset: String(i),
      key: 'k',
      value: typeof report === 'string' ? report : JSON.stringify(report),
      headers: {},
    }));

  async function orderView(order: { id: string; headers: Record<string, string> }) {
    return (await app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers: order.headers })).json<{
      status: string;
      filledQuantity: string;
      fills: { execId: string; state: string }[];
      commission: string;
    }>();
  }

  it('applies a fill once, however many times it is delivered', async () => {
    const order = await anOrder();
    const fill = trade(order, 'DUP-1', '4', '4');
    await consumer.handleBatch(asMessages([aReport(order, { execType: 'new' }), fill, fill]));
    await consumer.handleBatch(asMessages([fill]));
    const view = await orderView(order);
    expect(view).toMatchObject({ status: 'partially_filled', filledQuantity: '4', commission: '0.75' });
    expect(view.fills.map((f) => f.execId)).toEqual(['DUP-1']);
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM ledger_fills WHERE exec_id = 'DUP-1'");
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('applies a bust once, holds a correct of the busted trade for an operator, and parks one for an unknown order', async () => {
    const order = await anOrder();
    const fill = trade(order, 'BUST-1', '4', '4');
    await consumer.handleBatch(asMessages([aReport(order, { execType: 'new' }), fill]));
    const bust = aReport(order, { execId: 'BUST-1-H', execType: 'trade_cancel', refExecId: 'BUST-1' });
    const correct = aReport(order, {
      execId: 'BUST-1-G',
      execType: 'trade_correct',
      refExecId: 'BUST-1',
      orderStatus: 'partially_filled',
      lastQuantity: '4',
      lastPrice: '187.10',
      cumulativeQuantity: '4',
      leavesQuantity: '6',
      averagePrice: '187.10',
    });
    const unknownOrder = aReport(
      { id: '00000000-0000-4000-8000-000000000000', accountId: order.accountId },
      { execId: 'BUST-X-H', execType: 'trade_cancel', refExecId: 'NO-SUCH-TRADE' },
    );
    // Redelivered, in one batch, a later batch, and beside a fill of the same order.
    const later = trade(order, 'BUST-2', '1', '5');
    await consumer.handleBatch(asMessages([bust, bust, correct, unknownOrder, later]));
    await consumer.handleBatch(asMessages([correct, bust]));

    const after = await orderView(order);
    expect(after).toMatchObject({ status: 'partially_filled', filledQuantity: '1' });
    expect(after.fills.map((f) => [f.execId, f.state])).toEqual([
      ['BUST-1', 'busted'],
      ['BUST-2', 'active'],
    ]);
    const { rows } = await db.pool.query<{ exec_id: string; order_id: string | null }>(
      `SELECT exec_id, order_id FROM order_anomalies WHERE kind = 'TRADE_CORRECTION_FOR_OPS' ORDER BY exec_id`,
    );
    expect(rows).toEqual([{ exec_id: 'BUST-1-G', order_id: order.id }]);
    const { rows: reversals } = await db.pool.query<{ exec_id: string; reversed_exec_id: string }>(
      `SELECT exec_id, reversed_exec_id FROM ledger_fill_reversals WHERE exec_id LIKE 'BUST-%'`,
    );
    expect(reversals).toEqual([{ exec_id: 'BUST-1-H', reversed_exec_id: 'BUST-1' }]);
    const { rows: parked } = await db.pool.query<{ exec_id: string }>(
      'SELECT exec_id FROM parked_reports WHERE exec_id LIKE $1',
      ['BUST-%'],
    );
    expect(parked).toEqual([{ exec_id: 'BUST-X-H' }]);
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('ends in the same place when the reports arrive out of order', async () => {
    const order = await anOrder();
    const reports = [
      aReport(order, { execType: 'new' }),
      trade(order, 'R-1', '3', '3'),
      trade(order, 'R-2', '3', '6'),
      trade(order, 'R-3', '4', '10'),
    ];
    await consumer.handleBatch(asMessages([reports[3], reports[1], reports[0], reports[2]]));
    const view = await orderView(order);
    expect(view).toMatchObject({ status: 'filled', filledQuantity: '10' });
    const account = (await app.inject({ method: 'GET', url: '/v1/account', headers: order.headers })).json<{
      cash: { held: string };
    }>();
    expect(account.cash.held).toBe('0.00');
  });

  it('keeps a cancel that overtook its fill waiting for that fill, then settles', async () => {
    const order = await anOrder();
    const canceled = aReport(order, {
      execType: 'canceled',
      orderStatus: 'canceled',
      cumulativeQuantity: '2',
      leavesQuantity: '0',
      averagePrice: '187.20',
    });
    await consumer.handleBatch(asMessages([aReport(order, { execType: 'new' }), canceled]));
    expect((await orderView(order)).status).toBe('canceled');
    let account = (await app.inject({ method: 'GET', url: '/v1/account', headers: order.headers })).json<{
      cash: { held: string };
    }>();
    expect(account.cash.held).not.toBe('0.00');
    await consumer.handleBatch(asMessages([trade(order, 'LATE-1', '2', '2')]));
    expect(await orderView(order)).toMatchObject({ status: 'canceled', filledQuantity: '2' });
    account = (await app.inject({ method: 'GET', url: '/v1/account', headers: order.headers })).json<{
      cash: { held: string };
    }>();
    expect(account.cash.held).toBe('0.00');
  });

  it('parks a report for an order it does not know and applies it once the order exists', async () => {
    const order = await anOrder();
    const later = { id: '11111111-1111-4111-8111-111111111111', accountId: order.accountId };
    await consumer.handleBatch(asMessages([trade(later, 'PARK-1', '1', '1')]));
    const { rows } = await db.pool.query("SELECT order_id FROM parked_reports WHERE exec_id = 'PARK-1'");
    expect(rows).toEqual([{ order_id: later.id }]);
    expect(await consumer.retryParked()).toBe(0);
    // The order now arrives (here: placed through an app whose next order id is the one the report names).
    const withId = await buildTestApp(db, { marketData: fixedMarketData(), newId: () => later.id });
    const placed = await withId.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: order.headers,
      payload: {
        clientOrderId: 'parked-target',
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        quantity: '10',
        limitPrice: '187.25',
      },
    });
    await withId.close();
    expect(placed.json<{ id: string }>().id).toBe(later.id);
    expect(await consumer.retryParked()).toBe(1);
    expect((await db.pool.query("SELECT 1 FROM parked_reports WHERE exec_id = 'PARK-1'")).rowCount).toBe(0);
    expect((await orderView({ id: later.id, headers: order.headers })).fills.map((f) => f.execId)).toEqual(['PARK-1']);
  });

  it('records a malformed report and a refused fill without blocking the rest of the batch', async () => {
    // A fill at 2.5× the limit breaks the order's terms: kept aside as an anomaly, never applied
    // (before the terms check, the ledger refused it as more than the hold).
    const order = await anOrder('10', '100.00', '1100.00');
    // Valid on its own, but after OK-1 it would take the order to 11 of 10.
    const tooMuch = trade(order, 'BIG-1', '10', '10', '99.00');
    const overpriced = trade(order, 'PRICEY-1', '10', '10', '250.00');
    const fine = trade(order, 'OK-1', '1', '1', '99.00');
    await consumer.handleBatch(asMessages(['{not json', { execId: 'half' }, overpriced, fine, tooMuch]));
    const view = await orderView(order);
    expect(view.fills.map((f) => f.execId)).toEqual(['OK-1']);
    const { rows } = await db.pool.query<{ kind: string }>('SELECT kind FROM order_anomalies ORDER BY id');
    const kinds = rows.map((r) => r.kind);
    expect(kinds.filter((k) => k === 'MALFORMED_REPORT')).toHaveLength(2);
    expect(kinds).toContain('FILL_OUTSIDE_TERMS');
    expect(kinds).toContain('FILL_EXCEEDS_QUANTITY');
  });

  it('applies one batch over many orders exactly as the same reports one at a time would', async () => {
    // The same day twice, on twin orders: once as one batch, once a report per batch.
    const script = (o: Array<{ id: string; accountId: string }>) => [
      aReport(o[0]!, { execType: 'new' }),
      trade(o[0]!, `${o[0]!.id}-a`, '4', '4'),
      aReport(o[1]!, { execType: 'new' }),
      trade(o[1]!, `${o[1]!.id}-a`, '10', '10', '186.95'),
      trade(o[0]!, `${o[0]!.id}-b`, '6', '10', '187.05'),
      trade(o[2]!, `${o[2]!.id}-a`, '3', '3'),
      aReport(o[2]!, {
        execType: 'canceled',
        orderStatus: 'canceled',
        cumulativeQuantity: '3',
        leavesQuantity: '0',
        averagePrice: '187.20',
      }),
      trade(o[0]!, `${o[0]!.id}-b`, '6', '10', '187.05'),
      aReport(o[3]!, { execType: 'rejected', orderStatus: 'rejected', leavesQuantity: '0', rejectReason: 'risk' }),
    ];
    const batched = await Promise.all([anOrder(), anOrder(), anOrder(), anOrder()]);
    const single = await Promise.all([anOrder(), anOrder(), anOrder(), anOrder()]);
    await consumer.handleBatch(asMessages(script(batched)));
    for (const report of script(single)) await consumer.handleBatch(asMessages([report]));

    const summary = async (orders: typeof batched) =>
      Promise.all(
        orders.map(async (order) => {
          const view = await orderView(order);
          const { cash, positions } = (
            await app.inject({ method: 'GET', url: '/v1/account', headers: order.headers })
          ).json<{ cash: unknown; positions: unknown }>();
          return {
            status: view.status,
            filled: view.filledQuantity,
            commission: view.commission,
            fills: view.fills.length,
            cash,
            positions,
          };
        }),
      );
    const expected = await summary(single);
    expect(expected.map((o) => o.status)).toEqual(['filled', 'filled', 'canceled', 'rejected']);
    expect(await summary(batched)).toEqual(expected);
  });

  it('parks the reports of unknown orders in a batch and applies the rest', async () => {
    const order = await anOrder();
    const stranger = { id: '22222222-2222-4222-8222-222222222222', accountId: order.accountId };
    await consumer.handleBatch(
      asMessages([
        aReport(order, { execType: 'new' }),
        trade(stranger, 'STRANGER-1', '1', '1'),
        trade(order, 'KNOWN-1', '2', '2'),
      ]),
    );
    expect((await orderView(order)).fills.map((f) => f.execId)).toEqual(['KNOWN-1']);
    const { rows } = await db.pool.query("SELECT order_id FROM parked_reports WHERE exec_id = 'STRANGER-1'");
    expect(rows).toEqual([{ order_id: stranger.id }]);
  });

  it('leaves the ledger consistent', async () => {
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });
});
