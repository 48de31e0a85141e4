import { BrokerClient, type StatementKind, type Statements } from '../../broker-adapter/index.ts';
import { startBroker, type RunningBroker, type SimClock } from '../../broker-adapter/simulator/index.ts';
import {
  createPool,
  createThrowawayDatabase,
  dec,
  faultsOf,
  formatCash,
  formatQuantity,
  migrate,
  simulatedBrokerSeed,
  withDatabase,
  type Config,
  type Logger,
} from '../../platform/index.ts';
import { allMigrations, type RunningSystem } from '../system.ts';

/** One of the session's simulated brokers: the broker itself, and a client of its API. */
export interface SessionBroker {
  name: string;
  broker: RunningBroker;
  client: BrokerClient;
}

/**
 * The second simulated broker, `secondary`: its own books on a database of its own (a broker elsewhere
 * keeps its own), its own seed and faults (BROKER_FAULTS_SECONDARY, else BROKER_FAULTS), on the
 * session's clock, pushing to the system's fill receiver. The system's own broker is `primary`.
 */
export async function startSecondaryBroker(options: {
  name: string;
  index: number;
  config: Config;
  databaseUrl: string;
  system: RunningSystem;
  clock: SimClock;
  logger: Logger;
  cleanups: Array<() => Promise<unknown>>;
}): Promise<SessionBroker> {
  const { config } = options;
  const database = await createThrowawayDatabase({
    prefix: `session_${options.name}`,
    serverUrl: withDatabase(options.databaseUrl, 'postgres'),
    logger: options.logger,
  });
  options.cleanups.unshift(() => database.drop());
  await migrate(database.url, allMigrations, options.logger);
  const pool = createPool(database.url, { name: `session-${options.name}`, max: 5 });
  options.cleanups.unshift(() => pool.end());
  const broker = await startBroker({
    pool,
    config: {
      BROKER_FAULTS: faultsOf(config, options.name),
      BROKER_LATENCY_MS: config.BROKER_LATENCY_MS,
      SIM_SEED: simulatedBrokerSeed(config.SIM_SEED, options.index),
    },
    fillReceiverUrl: options.system.fillReceiverUrl,
    fillReceiverSecret: config.FILL_RECEIVER_SECRET,
    apiKey: config.BROKER_API_KEY,
    clock: options.clock,
    logger: options.logger,
    autoRun: false,
    ackTimeoutDelayMs: 3_000,
    // One market: the primary's prices from the same instant, whatever this broker's own seed.
    priceSeed: config.SIM_SEED,
    priceAnchor: options.clock.now(),
  });
  options.cleanups.unshift(() => broker.close());
  return {
    name: options.name,
    broker,
    client: new BrokerClient({ baseUrl: broker.url, apiKey: config.BROKER_API_KEY, timeoutMs: 2_000 }),
  };
}

/**
 * Every broker's statements as one broker's: orders and executions side by side (each order is at one
 * broker), positions and cash summed (our books are one, each broker's per account at that broker).
 */
export function mergedStatements(brokers: readonly SessionBroker[]): Pick<BrokerClient, 'getStatement'> {
  return {
    async getStatement<K extends StatementKind>(kind: K, date: string): Promise<Statements[K]> {
      const each = await Promise.all(brokers.map((b) => b.client.getStatement(kind, date)));
      return merge(kind, date, each) as Statements[K];
    },
  };
}

function merge(
  kind: StatementKind,
  date: string,
  each: readonly Statements[StatementKind][],
): Statements[StatementKind] {
  switch (kind) {
    case 'orders':
      return { date, orders: (each as Statements['orders'][]).flatMap((s) => s.orders) };
    case 'executions':
      return { date, executions: (each as Statements['executions'][]).flatMap((s) => s.executions) };
    case 'positions': {
      const sums = new Map<string, ReturnType<typeof dec>>();
      for (const s of each as Statements['positions'][])
        for (const p of s.positions) sums.set(p.symbol, (sums.get(p.symbol) ?? dec('0')).plus(p.quantity));
      return { date, positions: [...sums].map(([symbol, q]) => ({ symbol, quantity: formatQuantity(q) })) };
    }
    case 'cash': {
      const cash = each as Statements['cash'][];
      const sum = (field: 'balance' | 'bought' | 'sold') =>
        formatCash(cash.reduce((total, s) => total.plus(s[field]), dec('0')));
      return { date, currency: 'USD', balance: sum('balance'), bought: sum('bought'), sold: sum('sold') };
    }
  }
}
