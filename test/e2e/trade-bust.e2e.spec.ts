import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tradingDateOf } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

interface Order {
  id: string;
  status: string;
  filledQuantity: string;
  fills: Array<{ execId: string }>;
}

interface Anomaly {
  orderId: string | null;
  kind: string;
  detail: string;
}

/**
 * Issue 14's bust, through the whole system on real Kafka: the broker busts a trade it reported; the
 * bust reaches the trading server, which holds it once for an operator (alarmed) and moves neither
 * the order nor the ledger by itself; the reconciler shows the difference with the broker's books,
 * never nets it away.
 */
describe('a bust by the broker', () => {
  let t: TestSystem;

  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('is held once for an operator and alarmed, however often it is sent, and shows as a break', async () => {
    const { key } = await t.api.openAccount('1000.00');
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 'to-be-busted',
      symbol: 'AAPL',
      side: 'buy',
      type: 'market',
      quantity: '1',
    });
    expect(placed.status).toBe(201);
    const filled = await t.api.waitForOrder<Order>(key, placed.body.id, (order) => order.status === 'filled');
    const tradeId = filled.fills[0]!.execId;
    const account = async () => (await t.api.request('GET', '/v1/account', key)).body;
    const before = await account();

    const bust = () =>
      fetch(new URL(`/v1/trades/${tradeId}/bust`, t.system.broker.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${t.config.BROKER_API_KEY}` },
      });
    expect((await bust()).status).toBe(201);
    expect((await bust()).status).toBe(200);

    const anomalies = async () =>
      (await t.api.request<{ anomalies: Anomaly[] }>('GET', '/v1/ops/anomalies?kind=TRADE_CORRECTION_FOR_OPS', OPS_KEY))
        .body.anomalies;
    const deadline = Date.now() + 30_000;
    while ((await anomalies()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const held = await anomalies();
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ orderId: placed.body.id, kind: 'TRADE_CORRECTION_FOR_OPS' });
    expect(held[0]!.detail).toContain(`busts trade ${tradeId}`);
    const metrics = await (await fetch(`${t.system.url}/metrics`)).text();
    expect(metrics).toContain('trading_order_alarms_total{kind="TRADE_CORRECTION_FOR_OPS"} 1');
    // It wants a person: it is among the alarms that the console and GET /v1/ops/alarms list.
    const alarms = await t.api.request<{ alarms: Anomaly[] }>('GET', '/v1/ops/alarms', OPS_KEY);
    expect(alarms.body.alarms.map((alarm) => [alarm.kind, alarm.orderId])).toContainEqual([
      'TRADE_CORRECTION_FOR_OPS',
      placed.body.id,
    ]);

    const after = (await t.api.request<Order>('GET', `/v1/orders/${placed.body.id}`, key)).body;
    expect(after).toMatchObject({ status: 'filled', filledQuantity: '1' });
    expect(after.fills.map((fill) => fill.execId)).toEqual([tradeId]);
    expect(await account()).toEqual(before);
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);

    const date = tradingDateOf(new Date());
    const run = await t.api.request<{ status: string; breaks: Array<{ kind: string }> }>(
      'POST',
      '/v1/ops/reconciliations',
      OPS_KEY,
      { date, repair: false },
    );
    expect(run.status).toBe(201);
    expect(run.body.status).not.toBe('clean');
    expect(run.body.breaks.map((b) => b.kind)).toContain('POSITION_MISMATCH');
  });
});
