import { alwaysOpenClock, type SimClock, type StartBrokerOptions } from '../../broker-adapter/simulator/index.ts';
import { KafkaBus, loadConfig, silentLogger, type Config, type Logger } from '../../platform/index.ts';
import { startSystem, type RunningSystem } from '../../bin/system.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { kafkaBrokers } from './kafka.ts';
import { uniqueName } from './names.ts';

export const OPS_KEY = 'ops_e2e_key_0123456789abcdef';

export interface TestSystem {
  system: RunningSystem;
  db: TestDatabase;
  bus: KafkaBus;
  config: Config;
  api: Api;
  /** The Kafka namespace of its topics and groups: a separate process joins the system with it. */
  namespace: string;
  stop(): Promise<void>;
}

/**
 * The whole system on a fresh database and its own namespace on the run's real Kafka: the
 * simulated broker over HTTP, the fill receiver, the request server, the trading server.
 */
export async function startTestSystem(
  options: {
    env?: Record<string, string>;
    clock?: SimClock;
    broker?: Partial<StartBrokerOptions>;
    logger?: Logger;
    brokerTimeoutMs?: number;
    requestServerBrokerUrl?: (brokerUrl: string, broker: string) => string;
    /** The simulated brokers; one, `primary`, unless a test is about several. */
    brokers?: readonly string[];
  } = {},
): Promise<TestSystem> {
  const db = await createTestDatabase();
  const config = loadConfig({
    OPS_API_KEY: OPS_KEY,
    SIM_SEED: '7',
    BROKER_LATENCY_MS: '0',
    KAFKA_PARTITIONS: '3',
    // Tests poll; the rate limit has its own tests.
    RATE_LIMIT_PER_MINUTE: '1000000',
    ...options.env,
  });
  const logger = options.logger ?? silentLogger;
  const namespace = uniqueName('e2e');
  const bus = new KafkaBus({ brokers: kafkaBrokers(), clientId: 'e2e', logger, namespace });
  const system = await startSystem({
    config,
    logger,
    pool: db.pool,
    bus,
    clock: options.clock ?? alwaysOpenClock(),
    broker: { tickMs: 20, pushIntervalMs: 10, ...options.broker },
    brokerTimeoutMs: options.brokerTimeoutMs,
    requestServerBrokerUrl: options.requestServerBrokerUrl,
    simulatedBrokers: options.brokers ?? ['primary'],
    databaseUrl: db.url,
  });
  return {
    system,
    db,
    bus,
    config,
    api: new Api(system.url),
    namespace,
    stop: async () => {
      await system.stop();
      await bus.close();
      await db.drop();
    },
  };
}

/** A small client of the trading API, as a trading client would use it over HTTP. */
export class Api {
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    key: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** Opens an account with a deposit; returns its id and key. */
  async openAccount(deposit: string): Promise<{ accountId: string; key: string }> {
    const created = await this.request<{ accountId: string; apiKey: string }>('POST', '/v1/ops/accounts', OPS_KEY, {
      name: 'e2e',
    });
    await this.request('POST', `/v1/ops/accounts/${created.body.accountId}/deposits`, OPS_KEY, {
      amount: deposit,
      currency: 'USD',
    });
    return { accountId: created.body.accountId, key: created.body.apiKey };
  }

  /** Polls an order until `done` holds for it or the time runs out. */
  async waitForOrder<T extends { status: string }>(
    key: string,
    orderId: string,
    done: (order: T) => boolean,
    timeoutMs = 30_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.request<T>('GET', `/v1/orders/${orderId}`, key);
      if (done(body)) return body;
      if (Date.now() > deadline) throw new Error(`order ${orderId} still ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
