import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { BrokerClient, BrokerRejectedError } from '../../client/broker-client.ts';
import { ExecutionReport } from '../../executions/execution-report.schemas.ts';
import { aBroker, anOrderRequest, TEST_BROKER_API_KEY, TRADE_DATE, TUESDAY_10AM } from '../testing/broker-harness.ts';

let db: TestDatabase;
let harness: Awaited<ReturnType<typeof aBroker>> | undefined;
beforeEach(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await db.drop();
});

async function start(options: Parameters<typeof aBroker>[1] = {}) {
  harness = await aBroker(db.pool, options);
  return harness;
}

/** AAPL at 100.00 for the first minute, 98.00 the next, then 103.00. */
const replay = new Map([['AAPL', ['100.00', '98.00', '103.00']]]);

describe('orders in regular hours', () => {
  it('fills a market order at once and pushes new then trade, in sequence', async () => {
    const { client, pushAll, receiver } = await start({ replay });
    const order = await client.submitOrder(anOrderRequest({ quantity: '2.5' }));
    expect(order).toMatchObject({
      status: 'filled',
      cumulativeQuantity: '2.5',
      averagePrice: '100.0000',
      leavesQuantity: '0',
    });
    await pushAll();
    expect(receiver!.received.map((r) => [r.sequence, r.execType, r.orderStatus])).toEqual([
      [1, 'new', 'new'],
      [2, 'trade', 'filled'],
    ]);
    expect(receiver!.received[1]).toMatchObject({
      lastQuantity: '2.5',
      lastPrice: '100.00',
      clientOrderId: order.clientOrderId,
      account: 'acc-1',
    });
  });

  it('rests a limit order until the price reaches it, then fills it at the market price', async () => {
    const { client, clock, broker } = await start({ replay });
    const order = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '99.00', quantity: '3' }));
    expect(order.status).toBe('new');
    clock.advance(60_000);
    await broker.tick();
    expect(await client.getOrder(order.brokerOrderId)).toMatchObject({ status: 'filled', averagePrice: '98.0000' });
  });

  it('fills a resting limit order at its limit when the price dipped through it between two passes', async () => {
    const { client, clock, broker } = await start({ replay });
    const order = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '99.00', quantity: '3' }));
    await broker.tick();
    clock.advance(120_000); // 98.00 at minute 1, back to 103.00 at minute 2
    await broker.tick();
    expect(await client.getOrder(order.brokerOrderId)).toMatchObject({ status: 'filled', averagePrice: '99.0000' });
  });

  it('ignores a dip while the market was closed', async () => {
    const evening = new Date('2026-11-24T20:59:00Z'); // 15:59 New York
    const { client, clock, broker } = await start({ replay, start: evening });
    const order = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '99.00', timeInForce: 'gtc' }));
    await broker.tick();
    clock.advance(120_000); // the dip to 98.00 falls at 16:00, after the close
    await broker.tick();
    expect((await client.getOrder(order.brokerOrderId)).status).toBe('new');
  });

  it('expires a day order at the close and keeps a gtc order', async () => {
    const { client, clock, broker } = await start({ replay });
    const day = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '50.00' }));
    const gtc = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '50.00', timeInForce: 'gtc' }));
    clock.set(new Date('2026-11-24T21:00:00Z'));
    await broker.tick();
    expect((await client.getOrder(day.brokerOrderId)).status).toBe('expired');
    expect((await client.getOrder(gtc.brokerOrderId)).status).toBe('new');
  });

  it('cancels an ioc limit order that cannot fill', async () => {
    const { client } = await start({ replay });
    const order = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '90.00', timeInForce: 'ioc' }));
    expect(order).toMatchObject({ status: 'canceled', cumulativeQuantity: '0' });
  });
});

describe('sessions', () => {
  const preMarket = new Date('2026-11-24T12:00:00Z'); // 07:00 New York

  it('holds a market order placed before the open until the regular session', async () => {
    const { client, clock, broker } = await start({ start: preMarket });
    const order = await client.submitOrder(anOrderRequest());
    expect(order.status).toBe('new');
    await broker.tick();
    expect((await client.getOrder(order.brokerOrderId)).status).toBe('new');
    clock.set(TUESDAY_10AM);
    await broker.tick();
    expect((await client.getOrder(order.brokerOrderId)).status).toBe('filled');
  });

  it('fills an extended-hours limit order in pre-market, and rejects extended hours on a market order', async () => {
    const { client } = await start({ start: preMarket });
    const limit = await client.submitOrder(
      anOrderRequest({ type: 'limit', limitPrice: '500.00', extendedHours: true }),
    );
    expect(limit.status).toBe('filled');
    const market = await client.submitOrder(anOrderRequest({ extendedHours: true }));
    expect(market).toMatchObject({
      status: 'rejected',
      rejectReason: expect.stringMatching(/^EXTENDED_HOURS_NOT_ALLOWED/),
    });
  });

  it('serves the clock and instruments, one of them under $1', async () => {
    const { client } = await start({ start: preMarket });
    expect(await client.getClock()).toEqual({
      now: preMarket.toISOString(),
      session: 'pre',
      nextOpen: '2026-11-24T14:30:00.000Z',
      nextClose: '2026-11-24T21:00:00.000Z',
    });
    const instruments = await client.getInstruments();
    expect(instruments.map((i) => i.symbol)).toEqual(
      expect.arrayContaining(['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META']),
    );
    expect(instruments.some((i) => Number(i.lastPrice) < 1)).toBe(true);
  });
});

describe('idempotency on client order id', () => {
  it('returns the first order on resubmission and never makes a second one, even concurrently', async () => {
    const { client } = await start();
    const request = anOrderRequest({ type: 'limit', limitPrice: '1.00' });
    const all = await Promise.all(Array.from({ length: 6 }, () => client.submitOrder(request)));
    expect(new Set(all.map((o) => o.brokerOrderId)).size).toBe(1);
    const again = await client.submitOrder({ ...request, quantity: '10.000' });
    expect(again.brokerOrderId).toBe(all[0]!.brokerOrderId);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM broker_orders');
    expect(rows[0]!.n).toBe(1);
  });

  it('answers 409 to the same client order id with a different order; the client reads it as unknown, not as a refusal', async () => {
    const { client } = await start();
    const request = anOrderRequest({ type: 'limit', limitPrice: '1.00' });
    await client.submitOrder(request);
    // The order with this id exists at the broker: asking by client order id settles it, never a rejection.
    await expect(client.submitOrder({ ...request, quantity: '11' })).rejects.toMatchObject({
      name: 'BrokerUnavailableError',
      reason: 'try_later',
      status: 409,
    });
  });

  it('answers null for an unknown client order id and 400 for a malformed order', async () => {
    const { client } = await start();
    expect(await client.getOrderByClientOrderId('never-sent')).toBeNull();
    await expect(client.submitOrder(anOrderRequest({ quantity: '-1' }))).rejects.toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    await expect(client.submitOrder(anOrderRequest({ type: 'limit' }))).rejects.toBeInstanceOf(BrokerRejectedError);
    await expect(client.submitOrder(anOrderRequest({ symbol: 'aapl' }))).rejects.toMatchObject({ status: 400 });
    expect(await client.submitOrder(anOrderRequest({ symbol: 'ZZZZ' }))).toMatchObject({
      status: 'rejected',
      rejectReason: 'UNKNOWN_SYMBOL',
    });
  });
});

describe('cancels', () => {
  it('settles a cancel on the next pass: pending_cancel, then canceled', async () => {
    const { client, broker, pushAll, receiver } = await start({ replay });
    const order = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '50.00' }));
    expect((await client.cancelOrder(order.brokerOrderId)).status).toBe('pending_cancel');
    expect((await client.cancelOrder(order.brokerOrderId)).status).toBe('pending_cancel');
    await broker.tick();
    expect((await client.getOrder(order.brokerOrderId)).status).toBe('canceled');
    await pushAll();
    expect(receiver!.received.map((r) => r.execType)).toEqual(['new', 'pending_cancel', 'canceled']);
  });

  it('lets a fill land after the cancel request, and refuses a cancel of a filled order as too late', async () => {
    const { client, broker, clock } = await start({ replay });
    const order = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '99.00' }));
    await client.cancelOrder(order.brokerOrderId);
    clock.advance(60_000); // the price drops to 98.00 before the cancel is settled
    await broker.tick();
    expect(await client.getOrder(order.brokerOrderId)).toMatchObject({ status: 'filled', cumulativeQuantity: '10' });
    await expect(client.cancelOrder(order.brokerOrderId)).rejects.toMatchObject({
      status: 422,
      code: 'TOO_LATE_TO_CANCEL',
    });
    const { rows } = await db.pool.query<{ exec_type: string }>(
      `SELECT exec_type FROM broker_executions ORDER BY sequence`,
    );
    expect(rows.map((r) => r.exec_type)).toEqual(['new', 'pending_cancel', 'trade', 'cancel_rejected']);
  });

  it('answers 404 for an unknown order', async () => {
    const { client } = await start();
    await expect(client.cancelOrder('nope')).rejects.toMatchObject({ status: 404, code: 'ORDER_NOT_FOUND' });
  });
});

describe('statements', () => {
  it('list the day executions and orders, and the omnibus positions and cash', async () => {
    const { client } = await start({ replay });
    const buy = await client.submitOrder(anOrderRequest({ quantity: '3', account: 'acc-1' }));
    await client.submitOrder(anOrderRequest({ quantity: '1.5', account: 'acc-2' }));
    await client.submitOrder(anOrderRequest({ side: 'sell', quantity: '0.333333', account: 'acc-1' }));
    await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '1.00', quantity: '1' }));
    const executions = await client.getStatement('executions', TRADE_DATE);
    expect(executions.executions.map((e) => e.lastQuantity)).toEqual(['3', '1.5', '0.333333']);
    const orders = await client.getStatement('orders', TRADE_DATE);
    expect(orders.orders.map((o) => o.status)).toEqual(['filled', 'filled', 'filled', 'new']);
    expect(orders.orders[0]).toMatchObject({ brokerOrderId: buy.brokerOrderId, cumulativeQuantity: '3' });
    expect(await client.getStatement('positions', TRADE_DATE)).toEqual({
      date: TRADE_DATE,
      positions: [{ symbol: 'AAPL', quantity: '4.166667' }],
    });
    // -300.00 - 150.00 + 33.33 (0.333333 × 100.00 = 33.3333, to the cent)
    expect(await client.getStatement('cash', TRADE_DATE)).toEqual({
      date: TRADE_DATE,
      currency: 'USD',
      balance: '-416.67',
      bought: '450.00',
      sold: '33.33',
    });
    expect((await client.getStatement('executions', '2026-11-23')).executions).toEqual([]);
    await expect(client.getStatement('cash', '24-11-2026')).rejects.toMatchObject({ status: 400 });
  });
});

describe('a bust by the broker (POST /v1/trades/{execId}/bust)', () => {
  it('pushes one trade_cancel naming the trade, takes the trade off every statement, and answers a repeat with the same report', async () => {
    const { client, broker, pushAll, receiver } = await start({ replay });
    await client.submitOrder(anOrderRequest({ quantity: '3', account: 'acc-1' }));
    const busted = await client.submitOrder(anOrderRequest({ quantity: '1.5', account: 'acc-2' }));
    const trade = `${busted.brokerOrderId}.2`;
    const bust = (execId: string) =>
      fetch(new URL(`/v1/trades/${execId}/bust`, broker.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_BROKER_API_KEY}` },
      });

    const first = await bust(trade);
    const again = await bust(trade);
    expect([first.status, again.status]).toEqual([201, 200]);
    const report = ExecutionReport.parse(await first.json());
    expect(report).toMatchObject({
      execId: `${trade}.bust`,
      execType: 'trade_cancel',
      refExecId: trade,
      orderStatus: 'filled',
      lastQuantity: '0',
      cumulativeQuantity: '0',
      averagePrice: '0',
    });
    expect(await again.json()).toEqual(await (await bust(trade)).json());
    expect((await bust(`${busted.brokerOrderId}.1`)).status).toBe(404); // the acknowledgement is no trade
    expect((await bust('no-such-trade')).status).toBe(404);

    await pushAll();
    expect(receiver!.received.filter((r) => r.execType === 'trade_cancel').map((r) => r.refExecId)).toEqual([trade]);
    const executions = await client.getStatement('executions', TRADE_DATE);
    expect(executions.executions.map((e) => e.lastQuantity)).toEqual(['3']);
    expect(await client.getStatement('positions', TRADE_DATE)).toEqual({
      date: TRADE_DATE,
      positions: [{ symbol: 'AAPL', quantity: '3' }],
    });
    expect(await client.getStatement('cash', TRADE_DATE)).toMatchObject({ balance: '-300.00', bought: '300.00' });
  });
});

describe('the client tells a refusal from an unknown outcome', () => {
  it('reports a broker that cannot be reached as unknown (connection), never as rejected', async () => {
    const { broker } = await start();
    const url = broker.url;
    await broker.app.close();
    const client = new BrokerClient({ baseUrl: url, apiKey: TEST_BROKER_API_KEY, timeoutMs: 1_000 });
    await expect(client.submitOrder(anOrderRequest())).rejects.toMatchObject({
      name: 'BrokerUnavailableError',
      reason: 'connection',
    });
    await expect(client.getOrderByClientOrderId('x')).rejects.toMatchObject({ name: 'BrokerUnavailableError' });
  });
});

describe('callers without the API key', () => {
  it('are refused with 401 on every route but /healthz, and change nothing', async () => {
    const { broker, client } = await start();
    const known = await client.submitOrder(anOrderRequest());
    const request = anOrderRequest();
    const body = JSON.stringify(request);
    const routes: Array<[string, string, string?]> = [
      ['POST', '/v1/orders', body],
      ['DELETE', `/v1/orders/${known.brokerOrderId}`],
      ['GET', `/v1/orders/${known.brokerOrderId}`],
      ['GET', `/v1/orders?clientOrderId=${request.clientOrderId}`],
      ['GET', `/v1/orders/${known.brokerOrderId}/reports`],
      ['GET', `/v1/statements/executions?date=${TRADE_DATE}`],
      ['GET', `/v1/statements/executions/stream?date=${TRADE_DATE}`],
      ['GET', '/v1/instruments'],
      ['GET', '/v1/clock'],
      ['POST', `/v1/trades/${known.brokerOrderId}.2/bust`],
    ];
    for (const authorization of [
      undefined,
      'Bearer wrong-key-0123456789',
      TEST_BROKER_API_KEY,
      `Basic ${TEST_BROKER_API_KEY}`,
    ]) {
      for (const [method, path, payload] of routes) {
        const response = await fetch(new URL(path, broker.url), {
          method,
          headers: {
            ...(authorization ? { authorization } : {}),
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
          body: payload,
        });
        expect({ method, path, authorization, status: response.status }).toEqual({
          method,
          path,
          authorization,
          status: 401,
        });
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect((await fetch(new URL('/healthz', broker.url))).status).toBe(200);
    const { rows } = await db.pool.query<{ client_order_id: string; status: string }>(
      'SELECT client_order_id, status FROM broker_orders',
    );
    expect(rows).toEqual([{ client_order_id: known.clientOrderId, status: 'filled' }]);
    const { rows: busts } = await db.pool.query("SELECT 1 FROM broker_executions WHERE exec_type = 'trade_cancel'");
    expect(busts).toEqual([]);
  });
});
