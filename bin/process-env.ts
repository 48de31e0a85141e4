import { z } from 'zod';
import {
  ConfigError,
  createLogger,
  createPool,
  KafkaBus,
  loadConfigOrExit,
  migrate,
  configuredBrokers,
  type BrokerEndpoint,
  type Config,
  type Lifecycle,
} from '../platform/index.ts';
import { allMigrations } from './system.ts';

/** What the trading server and the request server need when they run as their own processes. */
const schema = z.object({
  BROKER_URL: z
    .url("must be the simulated broker's base URL, e.g. http://127.0.0.1:3200")
    .default('http://127.0.0.1:3200'),
});

export interface SeparateProcessEnv {
  BROKER_URL: string;
  /** BROKERS, else the one broker at BROKER_URL, named `primary`. */
  brokers: BrokerEndpoint[];
  DATABASE_URL: string;
  KAFKA_BROKERS: string[];
}

/** Separate processes share state only through PostgreSQL and Kafka, so both must be given. */
export function loadSeparateProcessEnv(config: Config, env: NodeJS.ProcessEnv = process.env): SeparateProcessEnv {
  try {
    const present = Object.fromEntries(
      Object.entries(env).filter(([key, value]) => key in schema.shape && value !== ''),
    );
    const parsed = schema.safeParse(present);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(String(issue.path[0]), issue.message);
    }
    if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL', 'is required to run this component on its own');
    if (!config.KAFKA_BROKERS) throw new ConfigError('KAFKA_BROKERS', 'is required to run this component on its own');
    if (config.generated.brokerApiKey) {
      throw new ConfigError('BROKER_API_KEY', "is required to run this component on its own: the broker's API key");
    }
    return {
      BROKER_URL: parsed.data.BROKER_URL,
      brokers: configuredBrokers(config, parsed.data.BROKER_URL),
      DATABASE_URL: config.DATABASE_URL,
      KAFKA_BROKERS: config.KAFKA_BROKERS,
    };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}

/** What a component run as its own process is configured by; read before it starts anything. */
export function separateProcessSettings(name: string) {
  const config = loadConfigOrExit();
  const env = loadSeparateProcessEnv(config);
  const logger = createLogger(name, config.LOG_LEVEL);
  return { name, config, env, logger };
}

/**
 * What a component run as its own process starts from: its migrations applied, a pool and a Kafka
 * bus (the two things separate processes share), each registered to stop with the process.
 */
export async function connectSeparateProcess(
  { name, config, env, logger }: ReturnType<typeof separateProcessSettings>,
  lifecycle: Lifecycle,
) {
  await migrate(env.DATABASE_URL, allMigrations, logger);
  const pool = createPool(env.DATABASE_URL, { name, max: 20 });
  lifecycle.onStop(() => pool.end());
  const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS, clientId: name, logger, namespace: config.KAFKA_NAMESPACE });
  lifecycle.onStop(() => bus.close());
  return { pool, bus };
}
