import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { BrokerClient, BrokerUnavailableError } from '../../client/broker-client.ts';
import type { ExecutionReport } from '../../executions/execution-report.schemas.ts';
import { aBroker, anOrderRequest, TEST_BROKER_API_KEY, TRADE_DATE } from '../testing/broker-harness.ts';

const dbs: TestDatabase[] = [];
const harnesses: Awaited<ReturnType<typeof aBroker>>[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
  await Promise.all(dbs.splice(0).map((d) => d.drop()));
});
let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase();
  dbs.push(db);
});

async function start(options: Parameters<typeof aBroker>[1] = {}, pool = db.pool) {
  const harness = await aBroker(pool, options);
  harnesses.push(harness);
  return harness;
}

const replay = new Map([['AAPL', ['100.00', '98.00', '103.00', '97.00', '101.00']]]);

/** A day's worth of mixed orders with fixed ids, so a seed decides their faults the same way every run. */
async function tradeADay(h: Awaited<ReturnType<typeof aBroker>>, orders = 30) {
  for (let i = 0; i < orders; i++) {
    const kind = i % 3;
    await h.client.submitOrder(
      anOrderRequest({
        clientOrderId: `order-${i}`,
        account: `acc-${i % 4}`,
        side: i % 5 === 0 ? 'sell' : 'buy',
        quantity: kind === 0 ? '1.5' : String(3 + (i % 7)),
        ...(kind === 1 ? { type: 'limit', limitPrice: '99.00' } : {}),
        ...(kind === 2 ? { type: 'limit', limitPrice: '102.00', timeInForce: 'gtc' } : {}),
      }),
    );
    if (i % 10 === 9)
      await h.client
        .cancelOrder((await h.client.getOrderByClientOrderId(`order-${i - 1}`))!.brokerOrderId)
        .catch(() => undefined);
  }
  for (let minute = 0; minute < 5; minute++) {
    h.clock.advance(60_000);
    await h.broker.tick();
  }
  await h.pushAll();
}

describe('reject', () => {
  it('rejects the order with a reason and reports it; a clean order still goes through', async () => {
    const h = await start({ faults: { reject: 1 } });
    const order = await h.client.submitOrder(anOrderRequest());
    expect(order).toMatchObject({ status: 'rejected', rejectReason: expect.stringMatching(/^BROKER_RISK_REJECT/) });
    await h.pushAll();
    expect(h.receiver!.received).toEqual([
      expect.objectContaining({ execType: 'rejected', orderStatus: 'rejected', leavesQuantity: '0' }),
    ]);
  });
});

describe('partial', () => {
  it('fills an order in several executions that add up to the order', async () => {
    const h = await start({ faults: { partial: 1 }, replay });
    const order = await h.client.submitOrder(anOrderRequest({ quantity: '10' }));
    expect(order).toMatchObject({ status: 'partially_filled', cumulativeQuantity: '3' });
    for (let pass = 0; pass < 3; pass++) await h.broker.tick();
    expect(await h.client.getOrder(order.brokerOrderId)).toMatchObject({ status: 'filled', cumulativeQuantity: '10' });
    const { executions } = await h.client.getStatement('executions', TRADE_DATE);
    expect(executions.map((e) => e.lastQuantity)).toEqual(['3', '3', '3', '1']);
  });
});

describe('drop_report', () => {
  it('never pushes the report; the statements still show the fill', async () => {
    const h = await start({ faults: { drop_report: 1 } });
    const order = await h.client.submitOrder(anOrderRequest());
    await h.pushAll();
    expect(h.receiver!.received).toEqual([]);
    const { executions } = await h.client.getStatement('executions', TRADE_DATE);
    expect(executions).toEqual([expect.objectContaining({ brokerOrderId: order.brokerOrderId, lastQuantity: '10' })]);
  });
});

describe('duplicate', () => {
  it('pushes each report twice with the same execId', async () => {
    const h = await start({ faults: { duplicate: 1 } });
    await h.client.submitOrder(anOrderRequest());
    await h.pushAll();
    expect(h.receiver!.received.map((r) => r.sequence).sort()).toEqual([1, 1, 2, 2]);
    expect(new Set(h.receiver!.received.map((r) => r.execId)).size).toBe(2);
  });
});

describe('reorder', () => {
  it('lets later reports overtake held ones; every report still arrives', async () => {
    const h = await start({ faults: { reorder: 0.5 }, seed: 11, replay });
    await tradeADay(h, 12);
    const sequences = h.receiver!.received.map((r) => r.sequence);
    expect(sequences).not.toEqual([...sequences].sort((a, b) => a - b));
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM broker_executions');
    expect([...sequences].sort((a, b) => a - b)).toEqual(Array.from({ length: rows[0]!.n }, (_, i) => i + 1));
  });
});

describe('ack_timeout', () => {
  it('takes the order but answers after the caller gave up; the caller finds it by client order id', async () => {
    const h = await start({ faults: { ack_timeout: 1 }, ackTimeoutDelayMs: null });
    const impatient = new BrokerClient({ baseUrl: h.broker.url, apiKey: TEST_BROKER_API_KEY, timeoutMs: 300 });
    const request = anOrderRequest();
    const error = await impatient.submitOrder(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerUnavailableError);
    expect(error).toMatchObject({ reason: 'timeout' });
    const known = await impatient.getOrderByClientOrderId(request.clientOrderId);
    expect(known).toMatchObject({ status: 'filled' });
    // A resubmission is answered at once with the same order.
    expect((await impatient.submitOrder(request)).brokerOrderId).toBe(known!.brokerOrderId);
  });
});

describe('outage', () => {
  it('answers 503 in an outage window, creates nothing, and serves again once the window has passed', async () => {
    const h = await start({ faults: { outage: 0.5 }, outageWindowMs: 1_000, seed: 3 });
    const request = anOrderRequest();
    const isDown = (ms: number) => h.broker.faults.isOutage(ms);
    let now = Date.now();
    while (!isDown(now)) now += 1_000;
    h.advanceRealTime(now - Date.now());
    const error = await h.client.submitOrder(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BrokerUnavailableError', reason: 'server_error', status: 503 });
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM broker_orders');
    expect(rows[0]!.n).toBe(0);
    let later = now;
    while (isDown(later)) later += 1_000;
    h.advanceRealTime(later - now);
    expect((await h.client.submitOrder(request)).status).toBe('filled');
    // The report stream stops during an outage too, and resumes after it.
    let next = later;
    while (!isDown(next)) next += 1_000;
    h.advanceRealTime(next - later);
    expect(await h.broker.pushDue()).toEqual({ delivered: 0, failed: false });
    expect(h.receiver!.received).toEqual([]);
    await h.pushAll();
    expect(h.receiver!.received.map((r) => r.execType)).toEqual(['new', 'trade']);
  });
});

describe('outage window', () => {
  it('is down (503, nothing made, nothing pushed) from 09:30 to 09:47 New York on the market clock, and up around it', async () => {
    const open = new Date('2026-11-24T14:30:00Z'); // 09:30 New York (EST)
    const h = await start({
      outageWindows: [{ from: 9 * 60 + 30, to: 9 * 60 + 47 }],
      start: new Date(open.getTime() - 60_000),
    });
    // 09:29: up; an order placed now (it waits for the open) has its acknowledgement owed.
    expect((await h.client.submitOrder(anOrderRequest({ clientOrderId: 'before' }))).status).toBe('new');
    h.clock.set(open);
    const error = await h.client.submitOrder(anOrderRequest({ clientOrderId: 'during' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BrokerUnavailableError', reason: 'server_error', status: 503 });
    await expect(h.client.getOrderByClientOrderId('before')).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(await h.broker.pushDue()).toEqual({ delivered: 0, failed: false });
    expect(h.receiver!.received).toEqual([]);
    // 09:46:59 still down, whatever real time does.
    h.advanceRealTime(3_600_000);
    h.clock.set(new Date(open.getTime() + 17 * 60_000 - 1_000));
    await expect(h.client.getClock()).rejects.toBeInstanceOf(BrokerUnavailableError);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM broker_orders');
    expect(rows[0]!.n).toBe(1);
    // 09:47: up again; what was owed is pushed, the order refused during the outage was never made.
    h.clock.set(new Date(open.getTime() + 17 * 60_000));
    await h.pushAll();
    expect(h.receiver!.received.map((r) => [r.clientOrderId, r.execType])).toEqual([['before', 'new']]);
    expect(await h.client.getOrderByClientOrderId('during')).toBeNull();
  });
});

describe('latency', () => {
  it('delays answers: a caller with less patience than the latency sees an unknown outcome', async () => {
    const latent = await start({ latencyMs: { min: 400, max: 400 } });
    const impatient = new BrokerClient({ baseUrl: latent.broker.url, apiKey: TEST_BROKER_API_KEY, timeoutMs: 100 });
    await expect(impatient.getClock()).rejects.toMatchObject({ name: 'BrokerUnavailableError', reason: 'timeout' });
    const patient = new BrokerClient({ baseUrl: latent.broker.url, apiKey: TEST_BROKER_API_KEY, timeoutMs: 5_000 });
    expect((await patient.getClock()).session).toBe('regular');
  });
});

describe('pushing to a fill receiver that refuses', () => {
  it('retries until acknowledged, in order, losing nothing', async () => {
    const h = await start();
    await h.client.submitOrder(anOrderRequest());
    await h.client.submitOrder(anOrderRequest());
    h.receiver!.failNextPushes(3);
    const first = await h.broker.pushDue();
    expect(first).toEqual({ delivered: 0, failed: true });
    await h.pushAll();
    expect(h.receiver!.received.map((r) => r.sequence)).toEqual([1, 2, 3, 4]);
  });
});

describe('a report the fill receiver refuses as malformed', () => {
  it('is set aside and does not hold up the reports behind it', async () => {
    const h = await start();
    await h.client.submitOrder(anOrderRequest());
    h.receiver!.refuseNextReports(1);
    await h.pushAll();
    expect(h.receiver!.received.map((r) => r.sequence)).toEqual([2]);
    const { rows } = await db.pool.query<{ sequence: string }>(
      'SELECT sequence FROM broker_deliveries WHERE refused_at IS NOT NULL',
    );
    expect(rows.map((r) => r.sequence)).toEqual(['1']);
  });
});

describe('all faults at once', () => {
  const faults = { duplicate: 0.3, reorder: 0.3, drop_report: 0.3, reject: 0.1, partial: 0.5 };

  it('behaves the same for the same seed', async () => {
    const a = await start({ faults, seed: 77, replay });
    await tradeADay(a);
    const other = await createTestDatabase();
    dbs.push(other);
    const b = await start({ faults, seed: 77, replay }, other.pool);
    await tradeADay(b);
    const summary = async (pool: TestDatabase['pool']) =>
      (
        await pool.query<{ s: string }>(
          `SELECT o.client_order_id || ':' || e.exec_type || ':' || e.last_quantity || '@' || e.last_price || ':' || e.dropped AS s
           FROM broker_executions e JOIN broker_orders o USING (broker_order_id) ORDER BY e.sequence`,
        )
      ).rows.map((r) => r.s);
    const first = await summary(db.pool);
    expect(first.length).toBeGreaterThan(40);
    expect(await summary(other.pool)).toEqual(first);
    const received = (h: typeof a) => h.receiver!.received.map((r) => `${r.clientOrderId}:${r.execType}:${r.sequence}`);
    expect(received(b)).toEqual(received(a));
  });

  it('keeps the statements equal to what was pushed plus what was dropped', async () => {
    const h = await start({ faults, seed: 5, replay });
    await tradeADay(h);
    const trades = (reports: readonly ExecutionReport[]) =>
      new Set(reports.filter((r) => r.execType === 'trade').map((r) => r.execId));
    const pushed = trades(h.receiver!.received);
    const { rows } = await db.pool.query<{ exec_id: string }>(
      `SELECT exec_id FROM broker_executions WHERE dropped AND exec_type = 'trade'`,
    );
    const dropped = new Set(rows.map((r) => r.exec_id));
    expect(dropped.size).toBeGreaterThan(0);
    expect([...dropped].filter((id) => pushed.has(id))).toEqual([]);
    const { executions } = await h.client.getStatement('executions', TRADE_DATE);
    expect(new Set(executions.map((e) => e.execId))).toEqual(new Set([...pushed, ...dropped]));
    // The statement's reports are the very reports that were pushed.
    for (const report of h.receiver!.received.filter((r) => r.execType === 'trade')) {
      expect(executions.find((e) => e.execId === report.execId)).toEqual(report);
    }
    const { orders } = await h.client.getStatement('orders', TRADE_DATE);
    expect(orders).toHaveLength(30);
  });
});

describe('cash of partial fills', () => {
  it('rounds an order cumulatively: three thirds cost what one whole fill would', async () => {
    const replayThirds = new Map([['PNNY', ['0.4213', '0.4213', '0.4213']]]);
    const h = await start({ faults: { partial: 1 }, replay: replayThirds });
    // Fills of 2, 2, 2 and 1 shares at 0.4213: rounded one by one 0.84 + 0.84 + 0.84 + 0.42 = 2.94;
    // rounded as one order 7 × 0.4213 = 2.9491 → 2.95, what a single fill would cost.
    const order = await h.client.submitOrder(anOrderRequest({ symbol: 'PNNY', quantity: '7' }));
    for (let pass = 0; pass < 3; pass++) await h.broker.tick();
    expect(await h.client.getOrder(order.brokerOrderId)).toMatchObject({ status: 'filled', cumulativeQuantity: '7' });
    const { executions } = await h.client.getStatement('executions', TRADE_DATE);
    expect(executions.map((e) => e.lastQuantity)).toEqual(['2', '2', '2', '1']);
    expect(await h.client.getStatement('cash', TRADE_DATE)).toMatchObject({
      balance: '-2.95',
      bought: '2.95',
      sold: '0.00',
    });
  });
});
