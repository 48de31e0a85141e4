import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../broker-adapter/simulator/index.ts';
import { startTestSystem, type TestSystem } from '../support/system.ts';

interface Order {
  id: string;
  status: string;
}

/**
 * Orders placed while their session is closed are accepted at once but wait at the request server;
 * they go to the broker when a session they may trade in opens, and day orders expire at the close.
 */
describe('market hours', () => {
  // Wednesday 25 November 2026, New York: pre-market opens 09:00 UTC, regular 14:30–21:00 UTC.
  const clock = manualClock(new Date('2026-11-25T08:00:00Z'));
  let t: TestSystem;
  beforeAll(async () => {
    t = await startTestSystem({ clock });
  });
  afterAll(() => t.stop());

  it(
    'holds orders until their session, then trades them, and expires day orders at the close',
    { timeout: 120_000 },
    async () => {
      const { key } = await t.api.openAccount('20000.00');
      const clockView = await t.api.request<{ session: string }>('GET', '/v1/market/clock', key);
      expect(clockView.body.session).toBe('closed');
      const regular = await t.api.request<Order>('POST', '/v1/orders', key, {
        clientOrderId: 'before-open',
        symbol: 'AAPL',
        side: 'buy',
        type: 'market',
        quantity: '1',
      });
      const extended = await t.api.request<Order>('POST', '/v1/orders', key, {
        clientOrderId: 'pre-market',
        symbol: 'MSFT',
        side: 'buy',
        type: 'limit',
        quantity: '1',
        limitPrice: '1.00',
        extendedHours: true,
      });
      const resting = await t.api.request<Order>('POST', '/v1/orders', key, {
        clientOrderId: 'resting-day',
        symbol: 'NVDA',
        side: 'buy',
        type: 'limit',
        quantity: '1',
        limitPrice: '1.00',
      });
      expect([regular.status, extended.status, resting.status]).toEqual([201, 201, 201]);

      // Closed: nothing reaches the broker.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const atBroker = async () =>
        (await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM broker_orders')).rows[0]!.n;
      expect(await atBroker()).toBe(0);

      // Pre-market: only the extended-hours order may go.
      clock.set(new Date('2026-11-25T10:00:00Z'));
      await t.api.waitForOrder<Order>(key, extended.body.id, (o) => o.status === 'new');
      expect(await atBroker()).toBe(1);
      expect((await t.api.request<Order>('GET', `/v1/orders/${regular.body.id}`, key)).body.status).toBe('pending_new');

      // Regular hours: the market order fills, the day limit order rests.
      clock.set(new Date('2026-11-25T15:00:00Z'));
      expect((await t.api.waitForOrder<Order>(key, regular.body.id, (o) => o.status === 'filled')).status).toBe(
        'filled',
      );
      await t.api.waitForOrder<Order>(key, resting.body.id, (o) => o.status === 'new');

      // After the close (and after the post-market close for the extended one): day orders expire.
      clock.set(new Date('2026-11-26T01:30:00Z'));
      expect((await t.api.waitForOrder<Order>(key, resting.body.id, (o) => o.status === 'expired')).status).toBe(
        'expired',
      );
      expect((await t.api.waitForOrder<Order>(key, extended.body.id, (o) => o.status === 'expired')).status).toBe(
        'expired',
      );
      const account = await t.api.request<{ cash: { held: string } }>('GET', '/v1/account', key);
      expect(account.body.cash.held).toBe('0.00');
    },
  );
});
