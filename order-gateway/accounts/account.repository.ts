import type { Queryable } from '../../platform/index.ts';
import { ACCOUNT_EXISTS, INSERT_ACCOUNT, LOCK_ACCOUNT, LOCK_ACCOUNTS } from './account.sql.ts';

export function createAccountRepository(pool: Queryable) {
  return {
    async insert(input: { id: string; name: string }, tx?: Queryable): Promise<void> {
      await (tx ?? pool).query(INSERT_ACCOUNT, [input.id, input.name]);
    },
    async exists(id: string, tx?: Queryable): Promise<boolean> {
      const { rowCount } = await (tx ?? pool).query(ACCOUNT_EXISTS, [id]);
      return (rowCount ?? 0) > 0;
    },
  };
}

/** Holds the account's row until the transaction ends: one placement of the account at a time. */
export async function lockAccount(tx: Queryable, accountId: string): Promise<boolean> {
  const { rowCount } = await tx.query(LOCK_ACCOUNT, [accountId]);
  return (rowCount ?? 0) > 0;
}

/** lockAccount for several accounts at once, taken in id order. */
export async function lockAccounts(tx: Queryable, accountIds: readonly string[]): Promise<void> {
  await tx.query({ name: 'gateway_lock_accounts', text: LOCK_ACCOUNTS, values: [accountIds] });
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
