import { BrokerClient, ensureExecutionsTopic } from '../broker-adapter/index.ts';
import { createLedger } from '../ledger/index.ts';
import {
  createOrderService,
  createRequestServer,
  ensureOrderRequestsTopic,
  unsentSubmits,
} from '../order-gateway/index.ts';
import { answerUsage, runProcess } from '../platform/index.ts';
import { connectSeparateProcess, separateProcessSettings } from './process-env.ts';
import { brokerMarketData } from './system.ts';

/**
 * The request server (매매 요청 서버) as its own process: consumes `order-requests` and sends orders
 * and cancels to the broker at BROKER_URL. Several may run: they share work through the database
 * (SKIP LOCKED) and the partitions through Kafka.
 */
answerUsage(`
Usage: node bin/request-server.ts

The request server on its own: consumes order-requests from Kafka and sends each order and cancel
to its broker: BROKERS (name=url,... in order of preference), else the one at BROKER_URL (default
http://127.0.0.1:3200), named primary. Needs DATABASE_URL and KAFKA_BROKERS.
Several may run: they share work through the database.
`);
const settings = separateProcessSettings('request-server');
const { config, env, logger } = settings;
await runProcess(
  async (lifecycle) => {
    const { pool, bus } = await connectSeparateProcess(settings, lifecycle);
    await ensureOrderRequestsTopic(bus, config.KAFKA_PARTITIONS);
    // The open-order check republishes what the broker has and we lack on `executions`.
    await ensureExecutionsTopic(bus, config.KAFKA_PARTITIONS);
    const brokers = env.brokers.map(({ name, url }) => ({
      name,
      client: new BrokerClient({ baseUrl: url, apiKey: config.BROKER_API_KEY, timeoutMs: 2_000 }),
    }));
    const marketData = brokerMarketData(...brokers.map(({ client }) => client));
    // The request server tells orders what the broker answered; the order service owns how.
    const orders = createOrderService({
      pool,
      ledger: createLedger({ commissionBps: config.COMMISSION_BPS }),
      marketData,
      logger,
      unsentSubmits,
    });
    const server = createRequestServer({
      pool,
      bus,
      brokers,
      orders,
      marketData,
      logger,
      openOrderCheckSeconds: config.OPEN_ORDER_CHECK_SECONDS,
    });
    await server.start();
    lifecycle.onStop(() => server.stop());
    process.stdout.write(
      `Request server: sending to ${env.brokers.map(({ name, url }) => `${name} ${url}`).join(', ')}\n`,
    );
  },
  { logger },
);
