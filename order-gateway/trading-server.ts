import { collectDefaultMetrics, Registry } from 'prom-client';
import { createLedger, type Ledger } from '../ledger/index.ts';
import { isDatabaseReachable, type Bus, type Logger, type Pool } from '../platform/index.ts';
import { buildApp, type App, type AppDependencies } from './app.ts';
import {
  createExecutionConsumer,
  EXECUTIONS_GROUP,
  type ExecutionConsumer,
  type ExecutionConsumerDependencies,
} from './executions/execution.consumer.ts';
import { TRADE_CORRECTION_FOR_OPS } from './executions/execution-report.rules.ts';
import type { MarketData } from './market/market-data.ts';
import { createTradingMetrics, type TradingMetrics } from './observability/trading.metrics.ts';
import { createOrderService, type OrderService } from './orders/order.service.ts';
import { createOutboxRelay, type OutboxRelay } from './outbox/outbox.ts';
import { unsentSubmits } from './requests/unsent-submits.ts';

export interface TradingServerDependencies {
  pool: Pool;
  bus: Bus;
  marketData: MarketData;
  logger: Logger;
  opsApiKey: string;
  opsApiKeys?: AppDependencies['opsApiKeys'];
  rateLimitPerMinute?: number;
  authFailuresPerMinute?: number;
  /** Open orders per account; MAX_OPEN_ORDERS. */
  maxOpenOrders?: number;
  /** EVENTS_HEARTBEAT_SECONDS and EVENTS_CLIENT_BUFFER_BYTES. */
  events?: AppDependencies['events'];
  commissionBps: number;
  metrics?: Registry;
  /** Ids of new accounts and orders; random UUIDs unless a simulation needs them reproducible. */
  newId?: () => string;
  registerOpsRoutes?: AppDependencies['registerOpsRoutes'];
  extraErrorCodes?: AppDependencies['extraErrorCodes'];
  /** Told of every execution report consumed, after its batch committed. */
  onReportApplied?: ExecutionConsumerDependencies['onApplied'];
}

export interface TradingServer {
  app: App;
  ledger: Ledger;
  orders: OrderService;
  relay: OutboxRelay;
  executionConsumer: ExecutionConsumer;
  metrics: Registry;
  tradingMetrics: TradingMetrics;
  /** Starts the relay and the consumer (the caller listens with `app.listen`). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The trading server (매매 서버): the HTTP API, the outbox relay and the execution consumer, wired on
 * one database and one bus. Whether it runs alone or beside the other components is the caller's
 * business.
 */
export async function createTradingServer(deps: TradingServerDependencies): Promise<TradingServer> {
  const { pool, bus, logger, marketData } = deps;
  const metrics = deps.metrics ?? new Registry();
  if (!deps.metrics) collectDefaultMetrics({ register: metrics });
  const tradingMetrics = createTradingMetrics(metrics);

  const ledger = createLedger({ commissionBps: deps.commissionBps });
  const relay = createOutboxRelay({ pool, bus, logger });
  const orders = createOrderService({
    pool,
    ledger,
    marketData,
    logger,
    newId: deps.newId,
    maxOpenOrders: deps.maxOpenOrders,
    unsentSubmits,
    onOutboxWritten: () => relay.wake(),
    onAlarm: (kind) => tradingMetrics.alarms.inc({ kind }),
  });
  const executionConsumer = createExecutionConsumer({
    pool,
    bus,
    orders,
    logger,
    onOutboxWritten: () => relay.wake(),
    onParked: (message) => {
      tradingMetrics.deadLetters.inc({ consumer: EXECUTIONS_GROUP, topic: message.topic });
      tradingMetrics.alarms.inc({ kind: 'MESSAGE_PARKED' });
    },
    onApplied: (report, outcome) => {
      tradingMetrics.reportsApplied.inc({ exec_type: report.execType, outcome });
      if (outcome === 'held_for_ops') tradingMetrics.alarms.inc({ kind: TRADE_CORRECTION_FOR_OPS });
      deps.onReportApplied?.(report, outcome);
    },
  });
  const app = await buildApp({
    logger,
    pool,
    bus,
    ledger,
    orders,
    marketData,
    opsApiKey: deps.opsApiKey,
    opsApiKeys: deps.opsApiKeys,
    rateLimitPerMinute: deps.rateLimitPerMinute,
    authFailuresPerMinute: deps.authFailuresPerMinute,
    metrics,
    newId: deps.newId,
    httpDuration: tradingMetrics.httpDuration,
    onRefused: (reason) => tradingMetrics.refusals.inc({ reason }),
    onErrorAnswered: (code, status) => tradingMetrics.httpErrors.inc({ code, status: String(status) }),
    registerOpsRoutes: deps.registerOpsRoutes,
    extraErrorCodes: deps.extraErrorCodes,
    events: {
      ...deps.events,
      onStream: (change) => {
        if (change === 'opened') tradingMetrics.eventStreams.inc();
        else tradingMetrics.eventStreams.dec();
        if (change === 'cut_off') tradingMetrics.eventStreamsCutOff.inc();
        deps.events?.onStream?.(change);
      },
    },
    checks: {
      postgres: () => isDatabaseReachable(pool),
      ...(bus.kind === 'kafka' ? { kafka: () => bus.isHealthy() } : {}),
    },
  });

  return {
    app,
    ledger,
    orders,
    relay,
    executionConsumer,
    metrics,
    tradingMetrics,
    async start() {
      // Fill the market-data cache before the first order needs it: later, a broker outage is
      // answered from the last prices instead of failing placement.
      await warmUp(marketData, logger);
      relay.start();
      await executionConsumer.start();
    },
    async stop() {
      await app.close();
      await executionConsumer.stop();
      await relay.stop();
    },
  };
}

async function warmUp(marketData: MarketData, logger: Logger, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await Promise.all([marketData.instruments(), marketData.clock()]);
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        logger.warn({ err: error }, 'market data still unavailable; orders will be refused with 503 until it answers');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
