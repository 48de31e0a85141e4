import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { opsSessions } from './ops-session.repository.ts';

/** The ops console's sessions on a real database: a token lets its operator in until it ends or expires. */
describe('ops console sessions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('knows the operator of a live session, and nobody once it is closed', async () => {
    const token = await opsSessions.open(db.pool, 'kim', 3600);
    expect(await opsSessions.operatorOf(db.pool, token)).toBe('kim');
    await opsSessions.close(db.pool, token);
    expect(await opsSessions.operatorOf(db.pool, token)).toBeNull();
  });

  it('refuses an expired session, and sweeps it away at the next sign-in', async () => {
    const token = await opsSessions.open(db.pool, 'kim', 3600);
    await db.pool.query("UPDATE ops_sessions SET expires_at = now() - interval '1 second'");
    expect(await opsSessions.operatorOf(db.pool, token)).toBeNull();
    await opsSessions.open(db.pool, 'ops', 3600);
    const { rows } = await db.pool.query<{ operator: string }>('SELECT operator FROM ops_sessions');
    expect(rows).toEqual([{ operator: 'ops' }]);
  });

  it('stores only a hash of the token, and refuses a token of the wrong shape without asking the database', async () => {
    const token = await opsSessions.open(db.pool, 'kim', 3600);
    const { rows } = await db.pool.query<{ token_hash: Buffer }>('SELECT token_hash FROM ops_sessions');
    expect(rows.some((row) => row.token_hash.toString('utf8').includes(token.slice(5)))).toBe(false);
    for (const bad of ['', 'opss_short', `${token}x`, token.replace('opss_', 'ops_'), "opss_' OR 1=1 --"]) {
      expect(await opsSessions.operatorOf(db.pool, bad), bad).toBeNull();
    }
  });
});
