import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  adminQuery,
  createLogger,
  loadConfig,
  migrate,
  provisionKafka,
  startEmbeddedPostgres,
  withDatabase,
} from '../../platform/index.ts';
import { allMigrations } from '../../bin/system.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of a server on which test files create their own databases. */
    adminDatabaseUrl: string;
    /** A database migrated to the latest schema, copied by each test file (CREATE DATABASE ... TEMPLATE). */
    templateDatabase: string;
    kafkaBrokers: string[];
  }
}

/**
 * Starts what the integration tests need, once per run: PostgreSQL (DATABASE_URL, else embedded) and
 * Kafka (KAFKA_BROKERS, else testcontainers, else Maven). A failure here fails the run: no test is
 * ever skipped for want of PostgreSQL or Kafka.
 */
export default async function setup(project: TestProject) {
  const logger = createLogger('test-setup', process.env.LOG_LEVEL ?? 'warn');
  const config = loadConfig(process.env);
  const started = Date.now();
  const pgDir = config.DATABASE_URL
    ? undefined
    : (mkdirSync(resolve('.cache'), { recursive: true }), mkdtempSync(join(resolve('.cache'), 'test-pg-')));
  const [postgresStart, kafkaStart] = await Promise.allSettled([
    pgDir ? startEmbeddedPostgres({ dir: pgDir, persistent: false, logger }) : Promise.resolve(undefined),
    provisionKafka({ logger, brokersFromEnv: config.KAFKA_BROKERS }),
  ]);
  if (postgresStart.status === 'rejected' || kafkaStart.status === 'rejected') {
    // Stop whichever did start, so a failed setup fails the run instead of hanging it.
    if (postgresStart.status === 'fulfilled') await postgresStart.value?.stop();
    if (kafkaStart.status === 'fulfilled') await kafkaStart.value.stop();
    throw postgresStart.status === 'rejected' ? postgresStart.reason : (kafkaStart as PromiseRejectedResult).reason;
  }
  const postgres = postgresStart.value;
  const kafka = kafkaStart.value;
  const adminDatabaseUrl = config.DATABASE_URL ?? postgres!.url;

  const templateDatabase = `template_${process.pid}_${Date.now()}`;
  await adminQuery(adminDatabaseUrl, `CREATE DATABASE ${templateDatabase}`);
  await migrate(withDatabase(adminDatabaseUrl, templateDatabase), allMigrations, logger);

  process.stdout.write(
    `[integration] PostgreSQL ${config.DATABASE_URL ? 'from DATABASE_URL' : `embedded (${postgres!.url.replace(/:[^:@]*@/, ':***@')})`}; ` +
      `Kafka ${kafka.brokers.join(',')} (${kafka.source}); ready in ${Date.now() - started} ms\n`,
  );
  project.provide('adminDatabaseUrl', adminDatabaseUrl);
  project.provide('templateDatabase', templateDatabase);
  project.provide('kafkaBrokers', kafka.brokers);

  return async () => {
    await kafka.stop();
    if (postgres) {
      await postgres.stop();
      rmSync(pgDir!, { recursive: true, force: true });
    } else {
      await adminQuery(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${templateDatabase} WITH (FORCE)`);
    }
  };
}
