import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../platform/index.ts';
import { hashApiKey } from '../http/api-keys.ts';
import { DELETE_EXPIRED_SESSIONS, DELETE_SESSION, INSERT_SESSION, SESSION_OPERATOR } from './ops-session.sql.ts';

/**
 * Server-side sessions of the ops console: the cookie carries a random token, the table its hash,
 * the operator and the expiry. Signing out or expiry ends a session everywhere at once, which a
 * self-contained signed cookie could not do.
 */
export const opsSessions = {
  async open(db: Queryable, operator: string, ttlSeconds: number): Promise<string> {
    const token = `opss_${randomBytes(32).toString('base64url')}`;
    await db.query(DELETE_EXPIRED_SESSIONS);
    await db.query(INSERT_SESSION, [hashApiKey(token), operator, ttlSeconds]);
    return token;
  },

  /** The operator of a live session, or null for an unknown, expired or ended one. */
  async operatorOf(db: Queryable, token: string): Promise<string | null> {
    if (!/^opss_[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const { rows } = await db.query<{ operator: string }>(SESSION_OPERATOR, [hashApiKey(token)]);
    return rows[0]?.operator ?? null;
  },

  async close(db: Queryable, token: string): Promise<void> {
    await db.query(DELETE_SESSION, [hashApiKey(token)]);
  },
};
