import { resolve } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  BrokerClient,
  brokerAdapterMigrations,
  createFillReceiverApp,
  ensureExecutionsTopic,
} from '../broker-adapter/index.ts';
import {
  startBroker,
  type RunningBroker,
  type SimClock,
  type StartBrokerOptions,
} from '../broker-adapter/simulator/index.ts';
import { createLedger, ledgerMigrations, type Ledger } from '../ledger/index.ts';
import {
  cachedMarketData,
  operatorOf,
  createRequestServer,
  createTradingServer,
  ensureOrderRequestsTopic,
  orderGatewayMigrations,
  REQUEST_SERVER_GROUP,
  type App,
  type ExecutionConsumer,
  type MarketData,
  type OrderService,
  type OutboxRelay,
  type RequestServer,
  type TradingServer,
  type TradingServerDependencies,
} from '../order-gateway/index.ts';
import {
  createPool,
  DEFAULT_BROKER,
  faultsOf,
  InProcessBus,
  KafkaBus,
  migrate,
  opsOperators,
  startEmbeddedPostgres,
  type Bus,
  type ComponentMigrations,
  type Config,
  type Logger,
  type Pool,
} from '../platform/index.ts';
import {
  brokerStatements,
  createReconciler,
  RECONCILER_ERRORS,
  reconciliationRoutes,
  reconcilerMigrations,
  type Reconciler,
} from '../reconciler/index.ts';
import { opsConsole, registerOpsMetrics, type BreakerState } from '../ops-console/index.ts';

/** The composition root: which components make the system, and the infrastructure they share. */
export const allMigrations: readonly ComponentMigrations[] = [
  ledgerMigrations,
  brokerAdapterMigrations,
  orderGatewayMigrations,
  reconcilerMigrations,
];

export interface Infrastructure {
  databaseUrl: string;
  pool: Pool;
  bus: Bus;
  stop(): Promise<void>;
}

/**
 * PostgreSQL (DATABASE_URL, or embedded in ./.data/pg) migrated to the latest schema, and the bus
 * (Kafka when KAFKA_BROKERS is set, else in-process).
 */
export async function startInfrastructure(
  config: Config,
  logger: Logger,
  options: { poolSize?: number } = {},
): Promise<Infrastructure> {
  const embedded = config.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dir: resolve('.data', 'pg'), logger });
  const databaseUrl = config.DATABASE_URL ?? embedded!.url;
  try {
    await migrate(databaseUrl, allMigrations, logger);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  const pool = createPool(databaseUrl, { name: 'order-routing', max: options.poolSize ?? 20 });
  const bus: Bus = config.KAFKA_BROKERS
    ? new KafkaBus({
        brokers: config.KAFKA_BROKERS,
        clientId: 'order-routing',
        logger,
        namespace: config.KAFKA_NAMESPACE,
      })
    : new InProcessBus(config.KAFKA_PARTITIONS);
  return {
    databaseUrl,
    pool,
    bus,
    stop: async () => {
      await bus.close().catch((error: unknown) => logger.warn({ err: error }, 'bus did not close cleanly'));
      await pool.end();
      await embedded?.stop();
    },
  };
}

/** Market data for the trading server, from the broker's public endpoints. */
export function brokerMarketData(broker: BrokerClient): MarketData {
  return cachedMarketData({ instruments: () => broker.getInstruments(), clock: () => broker.getClock() });
}

/**
 * The trading server with the reconciler's ops routes, on the broker at `brokerUrl`: one wiring for
 * `npm start` and for the trading server as its own process.
 */
export async function composeTradingServer(
  options: {
    config: Config;
    pool: Pool;
    bus: Bus;
    logger: Logger;
    brokerUrl: string;
    brokerClient?: BrokerClient;
    /** The request server's circuit breaker, when it runs in this process (null: not known here). */
    brokerHealth?: () => BreakerState | null;
  } & Pick<TradingServerDependencies, 'metrics' | 'newId' | 'onReportApplied'>,
): Promise<{ trading: TradingServer; reconciler: Reconciler; marketData: MarketData }> {
  const { config, pool, bus, logger } = options;
  const brokerClient =
    options.brokerClient ??
    new BrokerClient({ baseUrl: options.brokerUrl, apiKey: config.BROKER_API_KEY, timeoutMs: 2_000 });
  const marketData = brokerMarketData(brokerClient);
  const ledger = createLedger({ commissionBps: config.COMMISSION_BPS });
  // The lag of the groups that consume in this process (every one of them under npm start).
  const consumerLag = bus.consumerLag ? () => bus.consumerLag!() : undefined;
  const reconciler = createReconciler({
    pool,
    brokers: [
      {
        name: DEFAULT_BROKER,
        statements: brokerStatements({ baseUrl: options.brokerUrl, apiKey: config.BROKER_API_KEY }),
      },
    ],
    ledger,
    bus,
    logger,
  });
  const trading = await createTradingServer({
    pool,
    bus,
    marketData,
    logger,
    opsApiKey: config.OPS_API_KEY,
    opsApiKeys: config.OPS_API_KEYS,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    authFailuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
    maxOpenOrders: config.MAX_OPEN_ORDERS,
    events: { heartbeatSeconds: config.EVENTS_HEARTBEAT_SECONDS, clientBufferBytes: config.EVENTS_CLIENT_BUFFER_BYTES },
    commissionBps: config.COMMISSION_BPS,
    metrics: options.metrics,
    newId: options.newId,
    onReportApplied: options.onReportApplied,
    extraErrorCodes: RECONCILER_ERRORS,
    registerOpsRoutes: async (app, requireOps, audit) => {
      await app.register(reconciliationRoutes, { requireOps, reconciler, audit, operatorOf });
      await app.register(opsConsole, {
        pool,
        ledger,
        reconciler,
        operators: opsOperators(config),
        broker: brokerClient,
        brokerHealth: options.brokerHealth,
        consumerLag,
        authFailuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
      });
    },
  });
  registerOpsMetrics(trading.metrics, {
    pool,
    reconciler,
    brokerHealth: options.brokerHealth,
    consumerLag,
  });
  return { trading, reconciler, marketData };
}

function breakerState(breaker: { opened: boolean; halfOpen: boolean }): BreakerState {
  if (breaker.halfOpen) return 'half_open';
  return breaker.opened ? 'open' : 'closed';
}

export interface SystemOptions {
  config: Config;
  logger: Logger;
  pool: Pool;
  bus: Bus;
  /** The simulated market's clock; the broker's default is real time. */
  clock?: SimClock;
  /** Trading API port and host; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Extra settings for the simulated broker (tick rate, outage window, ...). */
  broker?: Partial<Omit<StartBrokerOptions, 'pool' | 'config' | 'fillReceiverUrl' | 'fillReceiverSecret' | 'apiKey'>>;
  /** Broker call timeout of the request server, in ms: past it, the outcome is unknown. */
  brokerTimeoutMs?: number;
  /** Where the request server reaches the broker, given the broker's URL (tests put a faulty proxy there). */
  requestServerBrokerUrl?: (brokerUrl: string) => string;
  metrics?: Registry;
  /** Ids of new accounts and orders; random UUIDs unless a simulation needs them reproducible. */
  newId?: () => string;
  /** Told of every execution report the trading server has consumed (the session waits on it). */
  onReportApplied?: TradingServerDependencies['onReportApplied'];
}

export interface RunningSystem {
  url: string;
  /** Where the broker pushes its execution reports (loopback, a free port). */
  fillReceiverUrl: string;
  app: App;
  ledger: Ledger;
  orders: OrderService;
  broker: RunningBroker;
  brokerClient: BrokerClient;
  relay: OutboxRelay;
  requestServer: RequestServer;
  executionConsumer: ExecutionConsumer;
  reconciler: Reconciler;
  stop(): Promise<void>;
}

/**
 * Every component in one process: the simulated broker and its fill receiver, the request server,
 * and the trading server (API, outbox relay, execution consumer), wired through the given database
 * and bus exactly as separate processes would be (HTTP to the broker, the bus between the rest).
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const { config, logger, pool, bus } = options;
  // One registry for the process, so the trading API's /metrics shows the fill receiver's refusals too.
  const metrics = options.metrics ?? new Registry();
  if (!options.metrics) collectDefaultMetrics({ register: metrics });
  await ensureExecutionsTopic(bus, config.KAFKA_PARTITIONS);
  await ensureOrderRequestsTopic(bus, config.KAFKA_PARTITIONS);

  const fillReceiver = createFillReceiverApp({ bus, pool, logger, secret: config.FILL_RECEIVER_SECRET, metrics });
  const fillReceiverUrl = await fillReceiver.listen({ port: 0, host: '127.0.0.1' });
  const broker = await startBroker({
    pool,
    // This process's simulated broker is the primary: BROKER_FAULTS_PRIMARY, else BROKER_FAULTS.
    config: { ...config, BROKER_FAULTS: faultsOf(config, DEFAULT_BROKER) },
    fillReceiverUrl,
    fillReceiverSecret: config.FILL_RECEIVER_SECRET,
    apiKey: config.BROKER_API_KEY,
    logger,
    ...options.broker,
    clock: options.clock ?? options.broker?.clock,
  });
  const brokerClient = new BrokerClient({
    baseUrl: broker.url,
    apiKey: config.BROKER_API_KEY,
    timeoutMs: options.brokerTimeoutMs ?? 2_000,
  });
  // The request server is made after the trading server (it needs its order service); the console
  // asks for its circuit breaker only when a page or a scrape does.
  const late: { breaker?: { opened: boolean; halfOpen: boolean } } = {};
  const { trading, reconciler, marketData } = await composeTradingServer({
    config,
    pool,
    bus,
    logger,
    brokerClient,
    brokerUrl: broker.url,
    brokerHealth: () => (late.breaker ? breakerState(late.breaker) : null),
    metrics,
    newId: options.newId,
    onReportApplied: options.onReportApplied,
  });
  const { app, ledger, orders, relay, executionConsumer } = trading;
  const requestServer = createRequestServer({
    pool,
    bus,
    broker: options.requestServerBrokerUrl
      ? new BrokerClient({
          baseUrl: options.requestServerBrokerUrl(broker.url),
          apiKey: config.BROKER_API_KEY,
          timeoutMs: options.brokerTimeoutMs ?? 2_000,
        })
      : brokerClient,
    orders,
    marketData,
    logger,
    openOrderCheckSeconds: config.OPEN_ORDER_CHECK_SECONDS,
    onOutboxWritten: () => relay.wake(),
    onOutcome: (kind, state) => trading.tradingMetrics.submissions.inc({ kind, state }),
    onParked: (message) => {
      trading.tradingMetrics.deadLetters.inc({ consumer: REQUEST_SERVER_GROUP, topic: message.topic });
      trading.tradingMetrics.alarms.inc({ kind: 'MESSAGE_PARKED' });
    },
    onOpenOrderCheck: (outcome) => trading.tradingMetrics.openOrderChecks.inc({ outcome }),
    onRecovered: (kind) => trading.tradingMetrics.openOrderRecovered.inc({ kind }),
    onRedriven: (kind) => trading.tradingMetrics.requestsRedriven.inc({ kind }),
  });

  late.breaker = requestServer.breaker;

  await trading.start();
  await requestServer.start();
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const address = app.server.address();
  const url = `http://${options.host ?? '127.0.0.1'}:${typeof address === 'object' && address ? address.port : options.port}`;

  return {
    url,
    fillReceiverUrl,
    app,
    ledger,
    orders,
    broker,
    brokerClient,
    relay,
    requestServer,
    executionConsumer,
    reconciler,
    stop: async () => {
      await app.close();
      await requestServer.stop();
      await broker.close();
      await fillReceiver.close();
      await trading.stop();
    },
  };
}
