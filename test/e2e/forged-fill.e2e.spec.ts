import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTIONS_TOPIC, ExecutionReport, REPORTS_PATH } from '../../broker-adapter/index.ts';
import { signPush } from '../../broker-adapter/fill-receiver/push-signature.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import type { BusMessage, Subscription } from '../../platform/index.ts';
import { uniqueName } from '../support/names.ts';
import { startTestSystem, type TestSystem } from '../support/system.ts';

interface Order {
  id: string;
  status: string;
  filledQuantity: string;
  fills: unknown[];
}

interface Account {
  cash: { total: string; available: string; held: string };
  positions: unknown[];
}

/**
 * The attack of issue 12: one unauthenticated request to the fill receiver filled a resting $1.00
 * limit buy at $500.00. The same request now, and the same with a signature made up by the attacker,
 * are refused; the order, the ledger and the executions topic never see them.
 */
describe('a forged fill pushed to the fill receiver', () => {
  let t: TestSystem;
  let audit: Subscription;
  const onTopic: BusMessage[] = [];

  beforeAll(async () => {
    t = await startTestSystem();
    audit = await t.bus.consume({
      groupId: uniqueName('audit'),
      topics: [EXECUTIONS_TOPIC],
      handleBatch: async (messages) => void onTopic.push(...messages),
    });
  });
  afterAll(async () => {
    await audit.stop();
    await t.stop();
  });

  it('is refused with 401, signed or not, and fills nothing', async () => {
    const { accountId, key } = await t.api.openAccount('1000.00');
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 'resting-buy',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      quantity: '1',
      limitPrice: '1.00',
      timeInForce: 'gtc',
    });
    expect(placed.status).toBe(201);
    await t.api.waitForOrder<Order>(key, placed.body.id, (order) => order.status === 'new');
    const before = (await t.api.request<Account>('GET', '/v1/account', key)).body;

    // Built from the broker's own acknowledgement, so every field (ids, account, sequence) is right.
    const brokerOrder = await t.system.brokerClient.getOrderByClientOrderId(placed.body.id);
    const [acknowledgement] = await t.system.brokerClient.getOrderReports(brokerOrder!.brokerOrderId);
    const forged = ExecutionReport.parse({
      ...acknowledgement,
      execId: 'forged-fill-1',
      execType: 'trade',
      orderStatus: 'filled',
      lastQuantity: '1',
      lastPrice: '500.00',
      cumulativeQuantity: '1',
      leavesQuantity: '0',
      averagePrice: '500.00',
      transactTime: new Date().toISOString(),
      sequence: acknowledgement!.sequence + 1,
    });
    expect(forged.account).toBe(accountId);
    const body = JSON.stringify(forged);
    const push = (headers: Record<string, string>) =>
      fetch(new URL(REPORTS_PATH, t.system.fillReceiverUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });

    const unsigned = await push({});
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const guessed = await push(signPush('a-guess-at-the-secret-0123456789abcdef', body, Date.now()));
    expect(guessed.status).toBe(401);
    // Counted where an operator looks: the trading API's /metrics, as `npm start` serves it.
    const metrics = await (await fetch(`${t.system.url}/metrics`)).text();
    expect(metrics).toContain('fill_receiver_refused_pushes_total{reason="unsigned"} 1');
    expect(metrics).toContain('fill_receiver_refused_pushes_total{reason="mismatch"} 1');

    // A genuine report after the forgeries, on the same account (so the same partition, in order):
    // once it has been applied, anything the forgeries had put on the topic would have been too.
    expect((await t.api.request('DELETE', `/v1/orders/${placed.body.id}`, key)).status).toBe(202);
    const closed = await t.api.waitForOrder<Order>(key, placed.body.id, (order) => order.status === 'canceled');
    expect(closed).toMatchObject({ filledQuantity: '0', fills: [] });
    await waitFor(() =>
      onTopic.some((m) => m.key === accountId && (JSON.parse(m.value) as ExecutionReport).execType === 'canceled'),
    );
    expect(onTopic.filter((m) => m.value.includes('forged-fill-1'))).toEqual([]);

    const after = (await t.api.request<Account>('GET', '/v1/account', key)).body;
    expect(before.cash.total).toBe('1000.00');
    expect(after).toEqual({
      ...before,
      cash: { currency: 'USD', total: '1000.00', available: '1000.00', held: '0.00' },
    });
    expect(after.positions).toEqual([]);
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
