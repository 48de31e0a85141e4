import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORTS_PATH, tradingDateOf } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { signPush } from '../../broker-adapter/fill-receiver/push-signature.ts';
import { OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

interface Fill {
  execId: string;
  quantity: string;
  price: string;
}
interface Order {
  id: string;
  accountId: string;
  status: string;
  filledQuantity: string;
  limitPrice: string | null;
  fills: Fill[];
}
interface Break {
  id: string;
  kind: string;
  execId: string | null;
  orderId: string | null;
  resolution: string | null;
  open: boolean;
}
interface Anomaly {
  id: string;
  kind: string;
  orderId: string | null;
  execId: string | null;
  detail: string;
}

/**
 * What the trading server does with fills that do not fit their order (forged or mistaken reports
 * posted to the real fill receiver, through Kafka to the execution consumer), and that every answer
 * about an order shows one consistent snapshot of it and its fills.
 */
describe('order consistency', () => {
  let t: TestSystem;
  let key: string;
  let sequence = 0;
  beforeAll(async () => {
    t = await startTestSystem();
    ({ key } = await t.api.openAccount('100000.00'));
    // Forged reports take sequence numbers well past the broker's own.
    const { rows } = await t.db.pool.query<{ last: string }>('SELECT last FROM broker_sequence');
    sequence = Number(rows[0]!.last) + 1_000;
  });
  afterAll(() => t.stop());

  /** A trade report as the broker would push it, for one of our orders; `overrides` forge it. */
  function tradeReport(order: Order, brokerOrderId: string, overrides: Record<string, unknown>) {
    const quantity = '1';
    return {
      execId: `forged-${++sequence}`,
      brokerOrderId,
      clientOrderId: order.id,
      account: order.accountId,
      symbol: 'AAPL',
      side: 'buy',
      execType: 'trade',
      orderStatus: 'partially_filled',
      lastQuantity: quantity,
      lastPrice: order.limitPrice!,
      cumulativeQuantity: quantity,
      leavesQuantity: '4',
      averagePrice: order.limitPrice!,
      orderQuantity: '5',
      rejectReason: null,
      transactTime: new Date().toISOString(),
      sequence,
      ...overrides,
    };
  }

  async function push(report: Record<string, unknown>) {
    // Signed with the broker's secret: these reports are forged past the door, to test what is behind it.
    const body = JSON.stringify(report);
    const response = await fetch(`${t.system.fillReceiverUrl}${REPORTS_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signPush(t.config.FILL_RECEIVER_SECRET, body, Date.now()) },
      body,
    });
    expect(response.status).toBe(200);
  }

  async function anomaliesOutsideTerms(): Promise<Anomaly[]> {
    const listed = await t.api.request<{ anomalies: Anomaly[] }>(
      'GET',
      '/v1/ops/anomalies?kind=FILL_OUTSIDE_TERMS&limit=50',
      OPS_KEY,
    );
    expect(listed.status).toBe(200);
    return listed.body.anomalies;
  }

  const restingBuy = {
    clientOrderId: 'resting-1',
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity: '5',
    limitPrice: '100.00',
  };

  it(
    'applies a forged fill within the terms, keeps fills outside them aside as anomalies, and the reconciler counts those until ops decide',
    { timeout: 90_000 },
    async () => {
      const placed = await t.api.request<Order>('POST', '/v1/orders', key, restingBuy);
      expect(placed.status).toBe(201);
      const resting = await t.api.waitForOrder<Order>(key, placed.body.id, (o) => o.status === 'new');
      const brokerOrderId = (
        await t.db.pool.query<{ broker_order_id: string }>('SELECT broker_order_id FROM orders WHERE id = $1', [
          resting.id,
        ])
      ).rows[0]!.broker_order_id;
      const heldBefore = (await t.api.request<{ cash: { held: string } }>('GET', '/v1/account', key)).body.cash.held;

      // Within the terms: nothing tells it from a real fill at receipt (the reconciler will).
      const inTerms = tradeReport(resting, brokerOrderId, { lastPrice: '99.50', averagePrice: '99.50' });
      // Above the limit of a buy; a fill on the wrong side at a good price; another account's.
      const aboveLimit = tradeReport(resting, brokerOrderId, { lastPrice: '100.01', averagePrice: '100.01' });
      const wrongSide = tradeReport(resting, brokerOrderId, {
        side: 'sell',
        lastPrice: '99.00',
        averagePrice: '99.00',
      });
      const otherAccount = tradeReport(resting, brokerOrderId, { account: '00000000-0000-4000-8000-000000000000' });
      await push(aboveLimit);
      await push(inTerms);
      await push(wrongSide);
      await push(otherAccount);
      await push(aboveLimit); // delivered twice: recorded once

      const deadline = Date.now() + 30_000;
      let anomalies = await anomaliesOutsideTerms();
      while (anomalies.length < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        anomalies = await anomaliesOutsideTerms();
      }
      expect(anomalies.map((a) => a.execId).sort()).toEqual(
        [aboveLimit.execId, wrongSide.execId, otherAccount.execId].sort(),
      );
      expect(anomalies.every((a) => a.orderId === resting.id)).toBe(true);
      expect(anomalies.find((a) => a.execId === aboveLimit.execId)!.detail).toContain('price 100.01');
      expect(anomalies.find((a) => a.execId === wrongSide.execId)!.detail).toContain('side sell');

      const order = await t.api.waitForOrder<Order>(key, resting.id, (o) => o.fills.length === 1);
      expect(order).toMatchObject({ status: 'partially_filled', filledQuantity: '1' });
      expect(order.fills.map((f) => f.execId)).toEqual([inTerms.execId]);
      // The ledger moved for the one fill only: the hold shrank by one share at 99.50 (plus its commission share).
      const account = await t.api.request<{
        cash: { held: string };
        positions: { symbol: string; quantity: string }[];
      }>('GET', '/v1/account', key);
      expect(account.body.positions).toEqual([expect.objectContaining({ symbol: 'AAPL', quantity: '1' })]);
      expect(Number(account.body.cash.held)).toBeLessThan(Number(heldBefore));
      expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);

      const metrics = await (await fetch(`${t.system.url}/metrics`)).text();
      expect(metrics).toMatch(/trading_order_alarms_total\{kind="FILL_OUTSIDE_TERMS"\} [3-9]/);

      const date = tradingDateOf(new Date(inTerms.transactTime));
      const run = await t.api.request<{ status: string; breaks: Break[] }>('POST', '/v1/ops/reconciliations', OPS_KEY, {
        date,
        repair: false,
      });
      expect(run.status).toBe(201);
      expect(run.body.status).toBe('breaks');
      const anomalyBreaks = run.body.breaks.filter((b) => b.kind === 'EXECUTION_ANOMALY');
      expect(anomalyBreaks.map((b) => b.execId).sort()).toEqual(
        [aboveLimit.execId, wrongSide.execId, otherAccount.execId].sort(),
      );
      expect(anomalyBreaks.every((b) => b.open && b.orderId === resting.id)).toBe(true);
      // The forged fill that was applied is the broker's to deny.
      expect(run.body.breaks).toContainEqual(
        expect.objectContaining({ kind: 'UNKNOWN_EXECUTION', execId: inTerms.execId }),
      );
      // Kept aside is not missing: nothing for a repair to republish.
      expect(run.body.breaks.filter((b) => b.kind === 'MISSING_EXECUTION')).toEqual([]);

      // Ops decide, once each; bad requests change nothing.
      const first = anomalyBreaks[0]!;
      expect((await t.api.request('POST', `/v1/ops/breaks/${first.id}/resolve`, key, { note: 'x' })).status).toBe(401);
      const noNote = await t.api.request<{ error: { code: string } }>(
        'POST',
        `/v1/ops/breaks/${first.id}/resolve`,
        OPS_KEY,
        { note: '  ' },
      );
      expect([noNote.status, noNote.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      for (const id of ['999999999', 'abc', '0']) {
        const unknown = await t.api.request<{ error: { code: string } }>(
          'POST',
          `/v1/ops/breaks/${id}/resolve`,
          OPS_KEY,
          {
            note: 'n',
          },
        );
        expect([unknown.status, unknown.body.error.code]).toEqual([404, 'BREAK_NOT_FOUND']);
      }
      for (const b of anomalyBreaks) {
        const resolved = await t.api.request<Break>('POST', `/v1/ops/breaks/${b.id}/resolve`, OPS_KEY, {
          note: 'broker confirms no such trade',
        });
        expect(resolved.status).toBe(200);
        expect(resolved.body).toMatchObject({
          id: b.id,
          kind: 'EXECUTION_ANOMALY',
          open: false,
          resolution: 'resolved by ops: broker confirms no such trade',
        });
      }
      const twice = await t.api.request<{ error: { code: string } }>(
        'POST',
        `/v1/ops/breaks/${first.id}/resolve`,
        OPS_KEY,
        {
          note: 'again',
        },
      );
      expect([twice.status, twice.body.error.code]).toEqual([409, 'BREAK_NOT_OPEN']);

      const after = await t.api.request<{ breaks: Break[] }>('POST', '/v1/ops/reconciliations', OPS_KEY, {
        date,
        repair: false,
      });
      expect(after.body.breaks.filter((b) => b.kind === 'EXECUTION_ANOMALY')).toEqual([]);
      expect(after.body.breaks).toContainEqual(
        expect.objectContaining({ kind: 'UNKNOWN_EXECUTION', execId: inTerms.execId }),
      );

      // A replay of the partially filled order answers the order as GET shows it, its fill included.
      const get = await t.api.request<Order>('GET', `/v1/orders/${resting.id}`, key);
      const replay = await t.api.request<Order>('POST', '/v1/orders', key, restingBuy);
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual(get.body);
    },
  );

  it('lists anomalies to the ops key only, a page at a time, and refuses bad queries with 400', async () => {
    expect((await t.api.request('GET', '/v1/ops/anomalies', key)).status).toBe(401);
    for (const query of ['limit=0', 'limit=501', 'after=x', 'kind=bad%20kind', 'extra=1']) {
      const bad = await t.api.request<{ error: { code: string } }>('GET', `/v1/ops/anomalies?${query}`, OPS_KEY);
      expect([query, bad.status, bad.body.error.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
    }
    const all = (await anomaliesOutsideTerms()).map((a) => a.id);
    expect(all.length).toBeGreaterThan(1);
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const page = await t.api.request<{ anomalies: Anomaly[]; next: string | null }>(
        'GET',
        `/v1/ops/anomalies?kind=FILL_OUTSIDE_TERMS&limit=1${after}`,
        OPS_KEY,
      );
      seen.push(...page.body.anomalies.map((a) => a.id));
      if (page.body.next === null) break;
      after = `&after=${page.body.next}`;
    }
    expect(seen).toEqual(all);
  });

  it('answers a replay of a filled order, a list and a cancel with the order and its fills, as GET does', async () => {
    const body = { clientOrderId: 'market-1', symbol: 'MSFT', side: 'buy', type: 'market', quantity: '2' };
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, body);
    expect(placed.status).toBe(201);
    const filled = await t.api.waitForOrder<Order>(key, placed.body.id, (o) => o.status === 'filled');
    expect(filled.fills.length).toBeGreaterThan(0);

    const replay = await t.api.request<Order>('POST', '/v1/orders', key, body);
    expect(replay.status).toBe(200);
    const get = await t.api.request<Order>('GET', `/v1/orders/${placed.body.id}`, key);
    expect(replay.body).toEqual(get.body);
    expect(replay.body.fills.length).toBe(filled.fills.length);

    const listed = await t.api.request<{ orders: Order[] }>('GET', '/v1/orders?status=all&limit=10', key);
    expect(listed.body.orders.find((o) => o.id === placed.body.id)).toEqual(get.body);

    const resting = (await t.api.request<{ orders: Order[] }>('GET', '/v1/orders?status=open', key)).body.orders.find(
      (o) => o.fills.length > 0,
    )!;
    const canceled = await t.api.request<Order>('DELETE', `/v1/orders/${resting.id}`, key);
    expect(canceled.status).toBe(202);
    expect(canceled.body.fills).toEqual(
      (await t.api.request<Order>('GET', `/v1/orders/${resting.id}`, key)).body.fills,
    );
    expect(canceled.body.filledQuantity).toBe('1');
  });
});
