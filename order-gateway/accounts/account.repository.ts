import type { Queryable } from '../../platform/index.ts';
import { ACCOUNT_EXISTS, ACCOUNT_ID_BY_KEY_HASH, INSERT_ACCOUNT } from './account.sql.ts';

export function createAccountRepository(pool: Queryable) {
  return {
    async insert(input: { id: string; name: string; apiKeyHash: Buffer }, tx?: Queryable): Promise<void> {
      await (tx ?? pool).query(INSERT_ACCOUNT, [input.id, input.name, input.apiKeyHash]);
    },
    async accountIdByKeyHash(hash: Buffer, tx?: Queryable): Promise<string | null> {
      const { rows } = await (tx ?? pool).query<{ id: string }>(ACCOUNT_ID_BY_KEY_HASH, [hash]);
      return rows[0]?.id ?? null;
    },
    async exists(id: string, tx?: Queryable): Promise<boolean> {
      const { rowCount } = await (tx ?? pool).query(ACCOUNT_EXISTS, [id]);
      return (rowCount ?? 0) > 0;
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
