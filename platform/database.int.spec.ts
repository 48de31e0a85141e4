import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { createPool, isDatabaseReachable, withTransaction } from './database.ts';
import { DependencyUnavailableError } from './errors.ts';

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

  it('survives the backend of a checked-out client terminated between two queries (an unhandled error event would kill the process)', async () => {
    const pool = db.newPool(2);
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
  });

  it('retries on a new connection when its backend is terminated before COMMIT, and commits once', async () => {
    const pool = db.newPool(2);
    const { rows: before } = await pool.query<{ value: string }>('SELECT value FROM counter WHERE id = 1');
    let attempts = 0;
    await withTransaction(pool, async (tx) => {
      attempts++;
      await tx.query('UPDATE counter SET value = value + 1 WHERE id = 1');
      // The first attempt's backend is terminated mid-transaction, as a failover or an admin would.
      if (attempts === 1) await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
    });
    const { rows } = await pool.query<{ value: string }>('SELECT value FROM counter WHERE id = 1');
    expect(attempts).toBe(2);
    expect(Number(rows[0]!.value)).toBe(Number(before[0]!.value) + 1);
  });

  it('never retries a COMMIT whose connection died: its outcome is unknown, said as such', async () => {
    const pool = db.newPool(2);
    await pool.query('CREATE TABLE doomed (id int PRIMARY KEY)');
    // A deferred trigger runs inside COMMIT: it terminates the backend there.
    await pool.query(`
      CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$`);
    await pool.query(`
      CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON doomed
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die_at_commit()`);
    let attempts = 0;
    const failure = await withTransaction(pool, async (tx) => {
      attempts++;
      await tx.query('INSERT INTO doomed VALUES ($1)', [attempts]);
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DependencyUnavailableError);
    expect(failure).toMatchObject({ dependency: 'postgres', commitUnknown: true });
    expect(attempts).toBe(1);
  });

  it('fails as unavailable, without hanging and without crashing, when PostgreSQL does not answer', async () => {
    const nowhere = createPool('postgres://nobody:nothing@127.0.0.1:1/none', { max: 1 });
    try {
      const failure = await withTransaction(nowhere, async () => undefined).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(DependencyUnavailableError);
      expect(await isDatabaseReachable(nowhere)).toBe(false);
    } finally {
      await nowhere.end();
    }
  });
});
