import { resolve } from 'node:path';
import { brokerAdapterMigrations } from '../broker-adapter/index.ts';
import { ledgerMigrations } from '../ledger/index.ts';
import { orderGatewayMigrations } from '../order-gateway/index.ts';
import {
  createPool,
  InProcessBus,
  KafkaBus,
  migrate,
  startEmbeddedPostgres,
  type Bus,
  type ComponentMigrations,
  type Config,
  type Logger,
  type Pool,
} from '../platform/index.ts';
import { reconcilerMigrations } from '../reconciler/index.ts';

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
export async function startInfrastructure(config: Config, logger: Logger): Promise<Infrastructure> {
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
  const pool = createPool(databaseUrl, { name: 'order-routing' });
  const bus: Bus = config.KAFKA_BROKERS
    ? new KafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'order-routing', logger })
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
