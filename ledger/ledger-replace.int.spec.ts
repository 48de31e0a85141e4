import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dec, withTransaction, type PoolClient } from '../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import type { LedgerError } from './index.ts';
import { checkLedgerInvariants, createLedger, type Ledger } from './index.ts';
import { aBuyHold, aFill, aFundedAccount } from './test/ledger.builders.ts';

/** The holds of a replace (PATCH /v1/orders/{id}) on real PostgreSQL: the larger of old and new, never both. */
describe('ledger: holds of a replace', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  const tx = <T>(work: (tx: PoolClient) => Promise<T>) => withTransaction(db.pool, work);
  const cash = async (accountId: string) => (await ledger.getAccount(db.pool, accountId)).cash;

  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = createLedger({ commissionBps: 10 });
  });
  afterAll(async () => {
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
    await db.drop();
  });

  it('adds only what the new terms need beyond the old hold, and nothing when they need less', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '2000.00');
    const old = aBuyHold(accountId, { quantity: '10', worstPrice: '100' }); // 1000 + 1.00 commission
    await tx((t) => ledger.placeHold(t, old));
    // 12 at 100 needs 1201.20: 200.20 more.
    const topUp = await tx((t) =>
      ledger.reserveForReplace(t, {
        holdId: 'replace-a',
        baseHoldId: old.holdId,
        quantity: dec('12'),
        worstPrice: dec('100'),
      }),
    );
    expect(topUp?.amount.toFixed()).toBe('200.2');
    expect((await cash(accountId)).held.toFixed()).toBe('1201.2');
    // Again with the same id: idempotent.
    await tx((t) =>
      ledger.reserveForReplace(t, {
        holdId: 'replace-a',
        baseHoldId: old.holdId,
        quantity: dec('12'),
        worstPrice: dec('100'),
      }),
    );
    expect((await cash(accountId)).held.toFixed()).toBe('1201.2');
    // A cheaper price needs less than the old hold has: nothing is added.
    expect(
      await tx((t) =>
        ledger.reserveForReplace(t, {
          holdId: 'replace-b',
          baseHoldId: old.holdId,
          quantity: dec('10'),
          worstPrice: dec('90'),
        }),
      ),
    ).toBeNull();
  });

  it('refuses a top-up the account cannot pay, and writes nothing', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1001.00');
    const old = aBuyHold(accountId, { quantity: '10', worstPrice: '100' });
    await tx((t) => ledger.placeHold(t, old));
    await expect(
      tx((t) =>
        ledger.reserveForReplace(t, {
          holdId: 'replace-c',
          baseHoldId: old.holdId,
          quantity: dec('11'),
          worstPrice: dec('100'),
        }),
      ),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_BUYING_POWER' } satisfies Partial<LedgerError>);
    expect((await cash(accountId)).held.toFixed()).toBe('1001');
  });

  it('moves the hold to the new order when the broker replaced it, holding what there is when short', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1200.00');
    const old = aBuyHold(accountId, { quantity: '10', worstPrice: '100' });
    await tx((t) => ledger.placeHold(t, old));
    await tx((t) =>
      ledger.reserveForReplace(t, {
        holdId: 'replace-d',
        baseHoldId: old.holdId,
        quantity: dec('11'),
        worstPrice: dec('100'),
      }),
    );
    // The old order fills 2 at 99 while the replace is pending; then the broker replaces it.
    await tx((t) => ledger.settleFill(t, aFill({ holdId: old.holdId, quantity: dec('2'), price: dec('99') })));
    const moved = await tx(async (t) => {
      await ledger.releaseHold(t, { holdId: old.holdId });
      await ledger.releaseHold(t, { holdId: 'replace-d' });
      return ledger.placeHold(t, {
        ...aBuyHold(accountId, { quantity: '9', worstPrice: '100' }),
        clampToAvailable: true,
      });
    });
    expect(moved.amount.toFixed()).toBe('900.9');
    const after = await cash(accountId);
    expect(after.held.toFixed()).toBe('900.9');
    expect(after.total.toFixed()).toBe(dec('1200').minus('198').minus('0.2').toFixed());

    // Short of cash, a replacement the broker made still gets a hold: all that is available.
    const short = await tx((t) =>
      ledger.placeHold(t, { ...aBuyHold(accountId, { quantity: '10', worstPrice: '100' }), clampToAvailable: true }),
    );
    expect(short.amount.toFixed()).toBe(after.available.toFixed());
    expect((await cash(accountId)).available.toFixed()).toBe('0');
  });
});
