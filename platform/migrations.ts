import { existsSync, readdirSync } from 'node:fs';
import { runner } from 'node-pg-migrate';
import type { Logger } from './logger.ts';

/** One component's migrations: its own folder and its own history table, since it owns its tables. */
export interface ComponentMigrations {
  component: string;
  dir: string;
}

/**
 * Applies every pending migration of each component, in the order given. Safe to run from several
 * processes at once: node-pg-migrate holds an advisory lock and the others wait for it.
 */
export async function migrate(
  databaseUrl: string,
  components: readonly ComponentMigrations[],
  logger?: Logger,
  /** A schema of their own (created if need be), e.g. for a second simulated broker in the same database. */
  options: { schema?: string } = {},
): Promise<void> {
  for (const { component, dir } of components) {
    // A component without tables yet has no migrations folder in git (git keeps no empty folders).
    if (!existsSync(dir) || !readdirSync(dir).some((file) => file.endsWith('.sql'))) continue;
    await runner({
      databaseUrl,
      dir,
      migrationsTable: `pgmigrations_${component.replace(/[^a-z0-9]+/gi, '_')}`,
      direction: 'up',
      count: Infinity,
      singleTransaction: true,
      advisoryLockMode: 'wait',
      ...(options.schema ? { schema: options.schema, createSchema: true } : {}),
      logger: logger
        ? {
            debug: (m: string) => logger.debug({ component }, m),
            info: (m: string) => logger.debug({ component }, m),
            warn: (m: string) => logger.warn({ component }, m),
            error: (m: string) => logger.error({ component }, m),
          }
        : { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
  }
}
