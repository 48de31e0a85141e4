import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { tradingDateOf } from '../../broker-adapter/index.ts';
import { OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

interface Order {
  id: string;
  status: string;
  filledQuantity: string;
  averageFillPrice: string | null;
  commission: string;
  fills: { execId: string; quantity: string; price: string; commission: string }[];
}

const final = (order: { status: string }) => ['filled', 'canceled', 'rejected', 'expired'].includes(order.status);

describe('an order end to end: HTTP → outbox → Kafka → request server → broker → fill receiver → Kafka → ledger', () => {
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem();
  });
  afterAll(() => t.stop());

  it('fills a market buy, moves cash and shares exactly, and releases the rest of the hold', async () => {
    const { key } = await t.api.openAccount('10000.00');
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 'e2e-mkt-1',
      symbol: 'AAPL',
      side: 'buy',
      type: 'market',
      quantity: '3',
    });
    expect(placed.status).toBe(201);
    const order = await t.api.waitForOrder<Order>(key, placed.body.id, final);
    expect(order.status).toBe('filled');
    expect(order.filledQuantity).toBe('3');
    const fillSum = order.fills.reduce((sum, fill) => sum + Number(fill.quantity), 0);
    expect(fillSum).toBe(3);

    const account = await t.api.request<{
      cash: { total: string; available: string; held: string };
      positions: { symbol: string; quantity: string }[];
    }>('GET', '/v1/account', key);
    const spentCents = order.fills.reduce(
      (sum, fill) => sum + Math.round(Number(fill.quantity) * Number(fill.price) * 100),
      0,
    );
    const commissionCents = Math.round(Number(order.commission) * 100);
    expect(account.body.cash.held).toBe('0.00');
    expect(Math.round(Number(account.body.cash.total) * 100)).toBe(1_000_000 - spentCents - commissionCents);
    expect(account.body.positions).toEqual([expect.objectContaining({ symbol: 'AAPL', quantity: '3' })]);
    expect(await checkLedgerInvariants(t.db.pool)).toEqual([]);
  });

  it('sells what it holds', async () => {
    const { key } = await t.api.openAccount('5000.00');
    const buy = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 'b1',
      symbol: 'MSFT',
      side: 'buy',
      type: 'market',
      quantity: '2',
    });
    await t.api.waitForOrder<Order>(key, buy.body.id, final);
    const sell = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 's1',
      symbol: 'MSFT',
      side: 'sell',
      type: 'market',
      quantity: '2',
    });
    expect(sell.status).toBe(201);
    expect((await t.api.waitForOrder<Order>(key, sell.body.id, final)).status).toBe('filled');
    const account = await t.api.request<{ positions: unknown[]; cash: { held: string } }>('GET', '/v1/account', key);
    expect(account.body.positions).toEqual([]);
    expect(account.body.cash.held).toBe('0.00');
  });

  it('cancels a resting limit order and releases its whole hold', async () => {
    const { key } = await t.api.openAccount('5000.00');
    const placed = await t.api.request<Order>('POST', '/v1/orders', key, {
      clientOrderId: 'rest-1',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      quantity: '5',
      limitPrice: '1.00',
      timeInForce: 'gtc',
    });
    await t.api.waitForOrder<Order>(key, placed.body.id, (o) => o.status === 'new');
    const canceled = await t.api.request<Order>('DELETE', `/v1/orders/${placed.body.id}`, key);
    expect(canceled.status).toBe(202);
    expect((await t.api.waitForOrder<Order>(key, placed.body.id, final)).status).toBe('canceled');
    const account = await t.api.request<{ cash: { total: string; available: string; held: string } }>(
      'GET',
      '/v1/account',
      key,
    );
    expect(account.body.cash).toEqual({ currency: 'USD', total: '5000.00', available: '5000.00', held: '0.00' });
    const again = await t.api.request<{ error: { code: string } }>('DELETE', `/v1/orders/${placed.body.id}`, key);
    expect(again.status).toBe(202);
  });

  it('counts what it did on /metrics', async () => {
    const text = await (await fetch(`${t.system.url}/metrics`)).text();
    expect(text).toMatch(/trading_execution_reports_total\{exec_type="trade",outcome="applied"\} [1-9]/);
    expect(text).toMatch(/trading_broker_submissions_total\{kind="submit",state="acknowledged"\} [1-9]/);
    expect(text).toMatch(
      /trading_http_request_duration_seconds_count\{method="POST",route="\/v1\/orders",status="201"\} [1-9]/,
    );
  });

  it('reconciles the day clean over the ops API', async () => {
    const date = tradingDateOf(new Date());
    const run = await t.api.request<{
      id: string;
      status: string;
      checked: { orders: number; executions: number };
      breaks: unknown[];
    }>('POST', '/v1/ops/reconciliations', OPS_KEY, { date, repair: false });
    expect(run.status).toBe(201);
    expect(run.body).toMatchObject({ date, status: 'clean', breaks: [] });
    expect(run.body.checked.executions).toBeGreaterThan(0);
    const again = await t.api.request<{ id: string }>('GET', `/v1/ops/reconciliations/${run.body.id}`, OPS_KEY);
    expect(again.body.id).toBe(run.body.id);
    const { rows: audit } = await t.db.pool.query(
      "SELECT operator, action, detail FROM ops_audit_log WHERE action LIKE 'reconciliation.%' AND target = $1",
      [run.body.id],
    );
    expect(audit).toEqual([
      { operator: 'ops', action: 'reconciliation.run', detail: { date, repair: false, status: 'clean' } },
    ]);
    const forbidden = await t.api.request('POST', '/v1/ops/reconciliations', 'key_not_ops', { date, repair: false });
    expect(forbidden.status).toBe(401);
    const metrics = await (await fetch(`${t.system.url}/metrics`)).text();
    expect(metrics).toMatch(/trading_http_refusals_total\{reason="unauthorized"\} [1-9]/);
  });

  it('sends each order to the broker exactly once', async () => {
    const { rows } = await t.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM broker_orders b JOIN orders o ON o.id::text = b.client_order_id`,
    );
    const { rows: ours } = await t.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders`);
    expect(rows[0]!.n).toBe(ours[0]!.n);
  });
});
