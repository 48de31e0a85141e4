import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createPool, type Pool } from '../../platform/index.ts';
import { withDatabase } from './global-setup.ts';

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
  const adminUrl = inject('adminDatabaseUrl');
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const pools: Pool[] = [];
  const newPool = (max = 10) => {
    const pool = createPool(url, { max, name });
    pools.push(pool);
    return pool;
  };
  const pool = newPool();
  return {
    url,
    pool,
    newPool,
    drop: async () => {
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
