import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { isDatabaseReachable, withTransaction } from './database.ts';

describe('withTransaction on real PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query('CREATE TABLE counter (id int PRIMARY KEY, value numeric NOT NULL)');
    await db.pool.query('INSERT INTO counter VALUES (1, 0)');
  });
  afterAll(() => db.drop());

  it('commits the work and rolls back a failure', async () => {
    await withTransaction(db.pool, (tx) => tx.query('UPDATE counter SET value = value + 1 WHERE id = 1'));
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.query('UPDATE counter SET value = value + 100 WHERE id = 1');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const { rows } = await db.pool.query<{ value: string }>('SELECT value FROM counter WHERE id = 1');
    expect(rows[0]!.value).toBe('1');
  });

  it('retries a forced serialization failure instead of losing the update', async () => {
    const other = db.newPool(2);
    let attempts = 0;
    let releaseRival!: () => void;
    const rivalMayCommit = new Promise<void>((resolve) => {
      releaseRival = resolve;
    });
    // Two serializable read-modify-writes of one row: the first to commit wins, the other gets
    // SQLSTATE 40001 and must be retried from the start.
    const rival = withTransaction(
      other,
      async (tx) => {
        const { rows } = await tx.query<{ value: string }>('SELECT value FROM counter WHERE id = 1');
        await rivalMayCommit;
        await tx.query('UPDATE counter SET value = $1 WHERE id = 1', [String(Number(rows[0]!.value) + 10)]);
      },
      { isolation: 'serializable', attempts: 1 },
    );
    await withTransaction(
      db.pool,
      async (tx) => {
        attempts++;
        const { rows } = await tx.query<{ value: string }>('SELECT value FROM counter WHERE id = 1');
        if (attempts === 1) {
          releaseRival();
          await rival;
        }
        await tx.query('UPDATE counter SET value = $1 WHERE id = 1', [String(Number(rows[0]!.value) + 1)]);
      },
      { isolation: 'serializable' },
    );
    const { rows } = await db.pool.query<{ value: string }>('SELECT value FROM counter WHERE id = 1');
    expect(attempts).toBe(2);
    expect(rows[0]!.value).toBe('12');
  });

  it('reports whether the database answers', async () => {
    expect(await isDatabaseReachable(db.pool)).toBe(true);
  });
});
