import { Registry } from 'prom-client';
import { createLedger } from '../../ledger/index.ts';
import {
  buildApp,
  createOrderService,
  type App,
  type AppDependencies,
  type Instrument,
  type MarketClock,
  type MarketData,
  unsentSubmits,
} from '../../order-gateway/index.ts';
import { InProcessBus, silentLogger, type Bus, type Pool } from '../../platform/index.ts';
import type { TestDatabase } from './database.ts';

export const TEST_OPS_KEY = 'ops_test_key_0123456789abcdef';

/** Prices the tests set by hand; the broker's market feeds the real system. */
export function fixedMarketData(
  prices: Record<string, string> = {},
): MarketData & { set(symbol: string, price: string): void } {
  const instruments = new Map<string, Instrument>(
    Object.entries({ AAPL: '187.25', MSFT: '410.10', PNNY: '0.4125', HALT: '12.00', ...prices }).map(
      ([symbol, lastPrice]) => [symbol, { symbol, name: `${symbol} Inc.`, lastPrice, tradable: symbol !== 'HALT' }],
    ),
  );
  const clock: MarketClock = {
    now: '2026-11-25T15:00:00.000Z',
    session: 'regular',
    nextOpen: '2026-11-27T14:30:00.000Z',
    nextClose: '2026-11-25T21:00:00.000Z',
  };
  return {
    instruments: async () => [...instruments.values()],
    clock: async () => clock,
    set(symbol, price) {
      const instrument = instruments.get(symbol);
      if (instrument) instrument.lastPrice = price;
    },
  };
}

/** The trading API on a test database, with the real ledger and order service. */
export async function buildTestApp(
  db: TestDatabase,
  options: {
    marketData?: MarketData;
    commissionBps?: number;
    newId?: () => string;
    bus?: Bus;
    maxOpenOrders?: number;
    pool?: Pool;
  } & Partial<
    Pick<
      AppDependencies,
      | 'rateLimitPerMinute'
      | 'authFailuresPerMinute'
      | 'opsApiKeys'
      | 'apiKeyCacheTtlMs'
      | 'registerOpsRoutes'
      | 'onRefused'
      | 'events'
    >
  > = {},
): Promise<App> {
  const pool = options.pool ?? db.pool;
  const ledger = createLedger({ commissionBps: options.commissionBps ?? 10 });
  const marketData = options.marketData ?? fixedMarketData();
  const orders = createOrderService({
    pool,
    ledger,
    marketData,
    logger: silentLogger,
    newId: options.newId,
    maxOpenOrders: options.maxOpenOrders,
    unsentSubmits,
  });
  return buildApp({
    logger: silentLogger,
    pool,
    bus: options.bus ?? new InProcessBus(),
    ledger,
    orders,
    marketData,
    opsApiKey: TEST_OPS_KEY,
    opsApiKeys: options.opsApiKeys,
    // Tests drive many requests through one key; the limits have their own tests, which set them.
    rateLimitPerMinute: options.rateLimitPerMinute ?? 1_000_000,
    authFailuresPerMinute: options.authFailuresPerMinute ?? 1_000_000,
    apiKeyCacheTtlMs: options.apiKeyCacheTtlMs,
    registerOpsRoutes: options.registerOpsRoutes,
    onRefused: options.onRefused,
    events: options.events,
    checks: { postgres: async () => true },
    metrics: new Registry(),
  });
}
