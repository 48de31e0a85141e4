import { z } from 'zod';
import { ConfigError, type Config } from '../platform/index.ts';

/** What the trading server and the request server need when they run as their own processes. */
const schema = z.object({
  BROKER_URL: z.url('must be the simulated broker\'s base URL, e.g. http://127.0.0.1:3200').default('http://127.0.0.1:3200'),
});

export interface SeparateProcessEnv {
  BROKER_URL: string;
  DATABASE_URL: string;
  KAFKA_BROKERS: string[];
}

/** Separate processes share state only through PostgreSQL and Kafka, so both must be given. */
export function loadSeparateProcessEnv(config: Config, env: NodeJS.ProcessEnv = process.env): SeparateProcessEnv {
  try {
    const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key in schema.shape && value !== ''));
    const parsed = schema.safeParse(present);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(String(issue.path[0]), issue.message);
    }
    if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL', 'is required to run this component on its own');
    if (!config.KAFKA_BROKERS) throw new ConfigError('KAFKA_BROKERS', 'is required to run this component on its own');
    return { BROKER_URL: parsed.data.BROKER_URL, DATABASE_URL: config.DATABASE_URL, KAFKA_BROKERS: config.KAFKA_BROKERS };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
