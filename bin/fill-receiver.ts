import {
  answerUsage,
  ConfigError,
  KafkaBus,
  createLogger,
  createPool,
  DEFAULT_BROKER,
  loadConfigOrExit,
  migrate,
  runProcess,
} from '../platform/index.ts';
import { brokerAdapterMigrations, createFillReceiverApp, ensureExecutionsTopic } from '../broker-adapter/index.ts';
import { loadProcessEnv } from './broker-process-env.ts';

/** The fill receiver as its own process: `node bin/fill-receiver.ts` (see README.md). */
answerUsage(`
Usage: node bin/fill-receiver.ts

The fill receiver on its own, on HOST:FILL_RECEIVER_PORT (3100): takes the broker's execution
reports and puts each on Kafka's executions topic. Needs DATABASE_URL, KAFKA_BROKERS and
FILL_RECEIVER_SECRET (the HMAC key the broker signs its pushes with; unsigned pushes get 401).
`);
const config = loadConfigOrExit();
let env;
try {
  env = loadProcessEnv();
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL', 'is required to run the fill receiver on its own');
  if (!config.KAFKA_BROKERS) throw new ConfigError('KAFKA_BROKERS', 'is required to run the fill receiver on its own');
  // A generated secret would be known to this process alone, and every push would be refused.
  if (config.generated.fillReceiverSecret) {
    throw new ConfigError(
      'FILL_RECEIVER_SECRET',
      "is required to run the fill receiver on its own: the key of the broker's signed pushes",
    );
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
// Read once here: a closure would not see the checks above narrow them.
const databaseUrl = config.DATABASE_URL;
const kafkaBrokers = config.KAFKA_BROKERS;
const port = env.FILL_RECEIVER_PORT;
const logger = createLogger('fill-receiver', config.LOG_LEVEL);
await runProcess(
  async (lifecycle) => {
    await migrate(databaseUrl, [brokerAdapterMigrations], logger);
    const pool = createPool(databaseUrl, { name: 'fill-receiver' });
    lifecycle.onStop(() => pool.end());
    const bus = new KafkaBus({
      brokers: kafkaBrokers,
      clientId: 'fill-receiver',
      logger,
      namespace: config.KAFKA_NAMESPACE,
    });
    lifecycle.onStop(() => bus.close());
    await ensureExecutionsTopic(bus, config.KAFKA_PARTITIONS);
    // Each broker of BROKERS pushes to its own path, signed with its own key; else the one broker, primary.
    const brokers = config.BROKERS?.map(({ name }) => name) ?? [DEFAULT_BROKER];
    const app = createFillReceiverApp({ bus, pool, logger, secret: config.FILL_RECEIVER_SECRET, brokers });
    lifecycle.onStop(() => app.close());
    const url = await app.listen({ port, host: config.HOST });
    process.stdout.write(`Fill receiver: ${url}\n`);
  },
  { logger },
);
