import { inject } from 'vitest';
import { createPool, createThrowawayDatabase, type Pool } from '../../platform/index.ts';

export interface TestDatabase {
  url: string;
  pool: Pool;
  /** Another pool on the same database, as a second process would have. */
  newPool(max?: number): Pool;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, copied from the migrated template: creating a database
 * costs milliseconds, starting a server costs seconds.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const database = await createThrowawayDatabase({
    prefix: 'test',
    serverUrl: inject('adminDatabaseUrl'),
    template: inject('templateDatabase'),
  });
  const pools: Pool[] = [];
  const newPool = (max = 10) => {
    const pool = createPool(database.url, { max, name: 'test' });
    pools.push(pool);
    return pool;
  };
  const pool = newPool();
  return {
    url: database.url,
    pool,
    newPool,
    drop: async () => {
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
      await database.drop();
    },
  };
}
