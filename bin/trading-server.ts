import { BrokerClient, ensureExecutionsTopic } from '../broker-adapter/index.ts';
import { createLedger } from '../ledger/index.ts';
import { createTradingServer, ensureOrderRequestsTopic } from '../order-gateway/index.ts';
import { createLogger, createPool, KafkaBus, loadConfigOrExit, migrate } from '../platform/index.ts';
import { brokerStatements, createReconciler, reconciliationRoutes } from '../reconciler/index.ts';
import { loadSeparateProcessEnv } from './process-env.ts';
import { allMigrations, brokerMarketData } from './system.ts';

/**
 * The trading server (매매 서버) as its own process: the HTTP API, the outbox relay and the execution
 * consumer, on shared PostgreSQL and Kafka. Run as many as you like; Kafka shares the partitions.
 */
const config = loadConfigOrExit();
const env = loadSeparateProcessEnv(config);
const logger = createLogger('trading-server', config.LOG_LEVEL);
await migrate(env.DATABASE_URL, allMigrations, logger);
const pool = createPool(env.DATABASE_URL, { name: 'trading-server', max: 20 });
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS, clientId: 'trading-server', logger, namespace: config.KAFKA_NAMESPACE });
await ensureExecutionsTopic(bus, config.KAFKA_PARTITIONS);
await ensureOrderRequestsTopic(bus, config.KAFKA_PARTITIONS);

const marketData = brokerMarketData(new BrokerClient({ baseUrl: env.BROKER_URL, timeoutMs: 2_000 }));
const reconciler = createReconciler({
  pool,
  broker: brokerStatements({ baseUrl: env.BROKER_URL }),
  ledger: createLedger({ commissionBps: config.COMMISSION_BPS }),
  bus,
  logger,
});
const server = await createTradingServer({
  pool,
  bus,
  marketData,
  logger,
  opsApiKey: config.OPS_API_KEY,
  commissionBps: config.COMMISSION_BPS,
  registerOpsRoutes: async (app, requireOps) => {
    await app.register(reconciliationRoutes, { requireOps, reconciler });
  },
});
await server.start();
const url = await server.app.listen({ port: config.PORT, host: config.HOST });
process.stdout.write(`Trading server: ${url}\nOps API key: ${config.OPS_API_KEY}${config.generated.opsApiKey ? ' (generated)' : ''}\n`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 4_500).unref();
  await server.stop();
  await bus.close();
  await pool.end();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
