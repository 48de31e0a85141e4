/** Infrastructure shared by every component: configuration, database, migrations, bus, decimals, logging. */
export * from './config.ts';
export * from './database.ts';
export * from './decimal.ts';
export * from './embedded-postgres.ts';
export * from './logger.ts';
export * from './migrations.ts';
export * from './bus/index.ts';
export {
  provisionKafka,
  ensureKafkaJars,
  startLocalKafka,
  type RunningKafka,
  type RestartableKafka,
} from './kafka/local-kafka.ts';
export * from './errors.ts';
export * from './decimal.schemas.ts';
export * from './throwaway-database.ts';
export * from './process-lifecycle.ts';
export * from './cli-usage.ts';
export * from './backoff.ts';
export * from './worker-loop.ts';
export * from './group-commit.ts';
