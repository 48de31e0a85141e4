import { randomUUID } from 'node:crypto';
import { dec, withTransaction, type Pool } from '../../platform/index.ts';
import type { FillToSettle, Ledger } from '../index.ts';

/** Builders over fixtures: each gives a valid input that a test changes only where it matters. */
export function aFill(overrides: Partial<FillToSettle> & { holdId: string }): FillToSettle {
  return {
    execId: `exec-${randomUUID()}`,
    quantity: dec('1'),
    price: dec('100'),
    at: new Date('2026-01-05T15:00:00Z'),
    ...overrides,
  };
}

export function aBuyHold(
  accountId: string,
  overrides: { quantity?: string; worstPrice?: string; holdId?: string } = {},
) {
  return {
    holdId: overrides.holdId ?? `order-${randomUUID()}`,
    accountId,
    side: 'buy' as const,
    symbol: 'AAPL',
    quantity: dec(overrides.quantity ?? '10'),
    worstPrice: dec(overrides.worstPrice ?? '100'),
  };
}

export function aSellHold(
  accountId: string,
  overrides: { quantity?: string; worstPrice?: string; holdId?: string } = {},
) {
  return { ...aBuyHold(accountId, overrides), side: 'sell' as const };
}

/** A customer account with `cash` deposited, committed. */
export async function aFundedAccount(pool: Pool, ledger: Ledger, cash: string): Promise<string> {
  const accountId = `acct-${randomUUID()}`;
  await withTransaction(pool, async (tx) => {
    await ledger.openAccount(tx, accountId);
    if (dec(cash).gt(0)) await ledger.deposit(tx, { accountId, amount: dec(cash), reference: `seed-${accountId}` });
  });
  return accountId;
}
