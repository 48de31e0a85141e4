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
  brokerRoutes,
  listBrokers,
  registerBrokerMetrics,
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
  SIMULATED_BROKERS,
  simulatedBrokerSeed,
  withSearchPath,
  InProcessBus,
  KafkaBus,
  migrate,
  opsOperators,
  startEmbeddedPostgres,
  type Bus,
  type BrokerEndpoint,
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

/**
 * Market data for the trading server, from the brokers' public endpoints: the first that answers, in
 * order of preference, so that a broker's outage does not stop the market's clock for the others.
 */
export function brokerMarketData(...brokers: BrokerClient[]): MarketData {
  const firstAnswer = async <T>(ask: (broker: BrokerClient) => Promise<T>): Promise<T> => {
    let failure: unknown;
    for (const broker of brokers) {
      try {
        return await ask(broker);
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  };
  return cachedMarketData({
    instruments: () => firstAnswer((broker) => broker.getInstruments()),
    clock: () => firstAnswer((broker) => broker.getClock()),
  });
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
    /** Every broker, in order of preference (the first is brokerClient's): market data fails over. */
    brokerClients?: readonly BrokerClient[];
    /** The names of the brokers orders are routed to (GET /v1/ops/brokers, the health gauge). */
    brokerNames?: readonly string[];
    /** Every broker's name and URL: the reconciler reads each one's statements (default: `brokerUrl`, the first name). */
    brokerEndpoints?: readonly BrokerEndpoint[];
    /** The request server's circuit breaker, when it runs in this process (null: not known here). */
    brokerHealth?: () => BreakerState | null;
  } & Pick<TradingServerDependencies, 'metrics' | 'newId' | 'onReportApplied'>,
): Promise<{ trading: TradingServer; reconciler: Reconciler; marketData: MarketData }> {
  const { config, pool, bus, logger } = options;
  const brokerNames = options.brokerNames ?? [DEFAULT_BROKER];
  const brokerClient =
    options.brokerClient ??
    new BrokerClient({ baseUrl: options.brokerUrl, apiKey: config.BROKER_API_KEY, timeoutMs: 2_000 });
  const marketData = brokerMarketData(brokerClient, ...(options.brokerClients ?? []).slice(1));
  const ledger = createLedger({ commissionBps: config.COMMISSION_BPS });
  // The lag of the groups that consume in this process (every one of them under npm start).
  const consumerLag = bus.consumerLag ? () => bus.consumerLag!() : undefined;
  const reconciler = createReconciler({
    pool,
    brokers: (options.brokerEndpoints ?? [{ name: brokerNames[0]!, url: options.brokerUrl }]).map((endpoint) => ({
      name: endpoint.name,
      statements: brokerStatements({ baseUrl: endpoint.url, apiKey: config.BROKER_API_KEY }),
    })),
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
      await app.register(brokerRoutes, { requireOps, pool, brokers: brokerNames });
      await app.register(opsConsole, {
        pool,
        ledger,
        reconciler,
        operators: opsOperators(config),
        broker: brokerClient,
        brokerHealth: options.brokerHealth,
        brokers: () => listBrokers(pool, brokerNames),
        consumerLag,
        authFailuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
      });
    },
  });
  registerBrokerMetrics(trading.metrics, { pool, brokers: brokerNames });
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
  requestServerBrokerUrl?: (brokerUrl: string, broker: string) => string;
  metrics?: Registry;
  /** Ids of new accounts and orders; random UUIDs unless a simulation needs them reproducible. */
  newId?: () => string;
  /** Told of every execution report the trading server has consumed (the session waits on it). */
  onReportApplied?: TradingServerDependencies['onReportApplied'];
  /**
   * The simulated brokers, in order of preference (default: primary and secondary when `databaseUrl`
   * is given, else primary alone, as before there were several). The first keeps
   * its books in the database's own schema; each other one in a schema of its own (sim_<name>), as a
   * separate broker would, which needs `databaseUrl`.
   */
  simulatedBrokers?: readonly string[];
  /** The database `pool` is on: the other simulated brokers' schemas are made there. */
  databaseUrl?: string;
}

/** One simulated broker of the system, by the name orders and metrics know it by. */
export interface SimulatedBroker {
  name: string;
  broker: RunningBroker;
  client: BrokerClient;
}

export interface RunningSystem {
  url: string;
  /** Where the broker pushes its execution reports (loopback, a free port). */
  fillReceiverUrl: string;
  app: App;
  ledger: Ledger;
  orders: OrderService;
  /** The preferred broker (the first of `brokers`). */
  broker: RunningBroker;
  brokerClient: BrokerClient;
  /** Every simulated broker, in order of preference. */
  brokers: SimulatedBroker[];
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

  // The other simulated brokers keep their books in schemas of the database's URL: without it, one.
  const names = options.simulatedBrokers ?? (options.databaseUrl ? SIMULATED_BROKERS : [DEFAULT_BROKER]);
  const fillReceiver = createFillReceiverApp({
    bus,
    pool,
    logger,
    secret: config.FILL_RECEIVER_SECRET,
    metrics,
    brokers: names,
  });
  const fillReceiverUrl = await fillReceiver.listen({ port: 0, host: '127.0.0.1' });
  const brokers: SimulatedBroker[] = [];
  const brokerPools: Pool[] = [];
  const stopBrokers = async () => {
    for (const { broker } of brokers) await broker.close();
    for (const brokerPool of brokerPools) await brokerPool.end();
  };
  try {
    for (const [index, name] of names.entries()) {
      const brokerPool = index === 0 ? pool : await simulatedBrokerPool(options, name);
      if (brokerPool !== pool) brokerPools.push(brokerPool);
      const broker = await startBroker({
        pool: brokerPool,
        // Each broker its own faults (BROKER_FAULTS_<NAME>, else BROKER_FAULTS) and seed for them;
        // one market: the same prices at every broker.
        config: {
          ...config,
          BROKER_FAULTS: faultsOf(config, name),
          SIM_SEED: simulatedBrokerSeed(config.SIM_SEED, index),
        },
        priceSeed: config.SIM_SEED,
        fillReceiverUrl,
        fillReceiverSecret: config.FILL_RECEIVER_SECRET,
        apiKey: config.BROKER_API_KEY,
        logger: logger.child({ broker: name }),
        ...options.broker,
        clock: options.clock ?? options.broker?.clock,
        // The first pushes where a broker pushed before there were several; the others to their own path.
        ...(index === 0 ? {} : { pushAs: name }),
      });
      const client = new BrokerClient({
        baseUrl: broker.url,
        apiKey: config.BROKER_API_KEY,
        timeoutMs: options.brokerTimeoutMs ?? 2_000,
      });
      brokers.push({ name, broker, client });
    }
  } catch (error) {
    await stopBrokers();
    await fillReceiver.close();
    throw error;
  }
  const { broker, client: brokerClient } = brokers[0]!;
  // The request server is made after the trading server (it needs its order service); the console
  // asks for its circuit breaker only when a page or a scrape does.
  const late: { breaker?: { opened: boolean; halfOpen: boolean } } = {};
  const { trading, reconciler, marketData } = await composeTradingServer({
    config,
    pool,
    bus,
    logger,
    brokerClient,
    brokerClients: brokers.map((b) => b.client),
    brokerNames: names,
    brokerEndpoints: brokers.map((b) => ({ name: b.name, url: b.broker.url })),
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
    brokers: brokers.map(({ name, client, broker: running }) => ({
      name,
      client: options.requestServerBrokerUrl
        ? new BrokerClient({
            baseUrl: options.requestServerBrokerUrl(running.url, name),
            apiKey: config.BROKER_API_KEY,
            timeoutMs: options.brokerTimeoutMs ?? 2_000,
          })
        : client,
    })),
    orders,
    marketData,
    logger,
    openOrderCheckSeconds: config.OPEN_ORDER_CHECK_SECONDS,
    rateLimits: config.BROKER_RATE_LIMITS,
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
    brokers,
    relay,
    requestServer,
    executionConsumer,
    reconciler,
    stop: async () => {
      await app.close();
      await requestServer.stop();
      await stopBrokers();
      await fillReceiver.close();
      await trading.stop();
    },
  };
}

/**
 * The books of a simulated broker other than the first: a schema of its own in the same database, so
 * two simulated brokers share no table (each is the outside world, with its own orders and sequence).
 */
async function simulatedBrokerPool(options: SystemOptions, name: string): Promise<Pool> {
  if (!options.databaseUrl) throw new Error(`simulated broker ${name} needs the database's URL (databaseUrl)`);
  const schema = `sim_${name.replaceAll('-', '_')}`;
  const url = withSearchPath(options.databaseUrl, schema);
  await migrate(url, [brokerAdapterMigrations], options.logger, { schema });
  return createPool(url, { name: `sim-broker-${name}`, max: 5, logger: options.logger });
}
