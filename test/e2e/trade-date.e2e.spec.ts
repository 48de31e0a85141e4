import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../broker-adapter/simulator/index.ts';
import { OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

interface Order {
  id: string;
  status: string;
}
interface Run {
  status: string;
  breaks: { kind: string; orderId: string | null; expected: string | null; actual: string | null }[];
}

/**
 * Reconciliation by trade date on the broker's clock, over a weekend: Friday 4 December 2026 to
 * Monday 7 December 2026, New York (regular hours 14:30–21:00 UTC).
 */
describe('reconciliation by trade date', () => {
  const clock = manualClock(new Date('2026-12-04T20:00:00Z'));
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ clock });
  });
  afterAll(() => t.stop());

  const reconcile = async (date: string) => {
    const run = await t.api.request<Run>('POST', '/v1/ops/reconciliations', OPS_KEY, { date, repair: false });
    expect(run.status).toBe(201);
    return run.body;
  };

  it(
    'puts orders placed after Friday close on Monday, where the broker traded them, and still finds a live order the broker lost',
    { timeout: 120_000 },
    async () => {
      const { key } = await t.api.openAccount('100000.00');
      const place = async (body: Record<string, unknown>) => {
        const placed = await t.api.request<Order>('POST', '/v1/orders', key, body);
        expect(placed.status).toBe(201);
        return placed.body;
      };

      // Friday 15:00 New York: an order that trades the same day.
      const friday = await place({
        clientOrderId: 'fri-1',
        symbol: 'AAPL',
        side: 'buy',
        type: 'market',
        quantity: '1',
      });
      await t.api.waitForOrder<Order>(key, friday.id, (o) => o.status === 'filled');

      // Friday 17:00, after the close: a market day order and a marketable gtc limit wait for Monday.
      const placedAt = new Date('2026-12-04T22:00:00Z');
      clock.set(placedAt);
      // Placing reads the market clock through a 250 ms cache: let it see the jump past the close, as it
      // would on a real clock, or the day order would take Friday's close for its own.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const afterClose = [
        await place({ clientOrderId: 'fri-late-1', symbol: 'MSFT', side: 'buy', type: 'market', quantity: '2' }),
        await place({
          clientOrderId: 'fri-late-2',
          symbol: 'NVDA',
          side: 'buy',
          type: 'limit',
          quantity: '1',
          limitPrice: '5000.00',
          timeInForce: 'gtc',
        }),
      ];
      // On a real clock these rows would bear Friday's date: make the database's clock agree with the market's.
      await t.db.pool.query('UPDATE orders SET created_at = $2 WHERE id = ANY($1::uuid[])', [
        afterClose.map((o) => o.id),
        placedAt,
      ]);

      // The weekend, then Monday 09:35: they go to the broker and fill.
      clock.set(new Date('2026-12-05T16:00:00Z'));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const order of afterClose) {
        expect((await t.api.request<Order>('GET', `/v1/orders/${order.id}`, key)).body.status).toBe('pending_new');
      }
      clock.set(new Date('2026-12-07T14:35:00Z'));
      for (const order of afterClose) await t.api.waitForOrder<Order>(key, order.id, (o) => o.status === 'filled');

      // Monday: a resting order the broker then loses (as if its books were restored from an old backup).
      const lost = await place({
        clientOrderId: 'mon-lost',
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        quantity: '1',
        limitPrice: '1.00',
      });
      await t.api.waitForOrder<Order>(key, lost.id, (o) => o.status === 'new');
      await t.db.pool.query(
        `WITH b AS (SELECT broker_order_id FROM broker_orders WHERE client_order_id = $1),
              d AS (DELETE FROM broker_deliveries WHERE sequence IN (
                      SELECT sequence FROM broker_executions WHERE broker_order_id IN (SELECT broker_order_id FROM b))),
              e AS (DELETE FROM broker_executions WHERE broker_order_id IN (SELECT broker_order_id FROM b))
         DELETE FROM broker_orders WHERE broker_order_id IN (SELECT broker_order_id FROM b)`,
        [lost.id],
      );

      const fridayRun = await reconcile('2026-12-04');
      expect(fridayRun.breaks).toEqual([]);
      expect(fridayRun.status).toBe('clean');
      expect((await reconcile('2026-12-05')).breaks).toEqual([]);

      const mondayRun = await reconcile('2026-12-07');
      expect(mondayRun.breaks).toEqual([
        expect.objectContaining({
          kind: 'ORDER_STATUS_MISMATCH',
          orderId: lost.id,
          expected: 'no such order',
          actual: 'new, filled 0',
        }),
      ]);
    },
  );
});
