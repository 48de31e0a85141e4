import type { Queryable } from '../../platform/index.ts';
import { API_KEY_BY_HASH, API_KEYS_OF_ACCOUNT, INSERT_API_KEY, REVOKE_API_KEY } from './api-key.sql.ts';

export interface ApiKeyOwner {
  keyId: string;
  accountId: string;
}

export interface ApiKeyRecord {
  keyId: string;
  createdAt: string;
  createdBy: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

interface ApiKeyRow {
  id: string;
  created_at: Date;
  created_by: string | null;
  revoked_at: Date | null;
  revoked_by: string | null;
}

export const apiKeyRepository = {
  async insert(
    db: Queryable,
    input: { keyId: string; accountId: string; keyHash: Buffer; createdBy: string | null },
  ): Promise<void> {
    await db.query(INSERT_API_KEY, [input.keyId, input.accountId, input.keyHash, input.createdBy]);
  },

  /** The live key with this hash; a revoked or unknown key has no owner. */
  async ownerOf(db: Queryable, keyHash: Buffer): Promise<ApiKeyOwner | null> {
    const { rows } = await db.query<{ id: string; account_id: string }>(API_KEY_BY_HASH, [keyHash]);
    const row = rows[0];
    return row ? { keyId: row.id, accountId: row.account_id } : null;
  },

  /** Null when the account has no key with this id. */
  async revoke(
    db: Queryable,
    input: { keyId: string; accountId: string; revokedBy: string },
  ): Promise<{ keyHash: Buffer; alreadyRevoked: boolean } | null> {
    const { rows } = await db.query<{ key_hash: Buffer; already_revoked: boolean }>(REVOKE_API_KEY, [
      input.keyId,
      input.accountId,
      input.revokedBy,
    ]);
    const row = rows[0];
    return row ? { keyHash: row.key_hash, alreadyRevoked: row.already_revoked } : null;
  },

  async ofAccount(db: Queryable, accountId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await db.query<ApiKeyRow>(API_KEYS_OF_ACCOUNT, [accountId]);
    return rows.map((row) => ({
      keyId: row.id,
      createdAt: row.created_at.toISOString(),
      createdBy: row.created_by,
      revokedAt: row.revoked_at?.toISOString() ?? null,
      revokedBy: row.revoked_by,
    }));
  },
};
