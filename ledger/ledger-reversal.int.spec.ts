import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dec, withTransaction, type PoolClient } from '../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { checkLedgerInvariants, createLedger, type Ledger } from './index.ts';
import { aBuyHold, aFill, aFundedAccount, aSellHold } from './test/ledger.builders.ts';

/** Busts and corrects on real PostgreSQL: a fill taken back by a new entry, exactly, once. */
describe('ledger: reversing a settled fill', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  const tx = <T>(work: (tx: PoolClient) => Promise<T>) => withTransaction(db.pool, work);
  const balances = (accountId: string) => ledger.getAccount(db.pool, accountId);

  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = createLedger({ commissionBps: 10 });
  });
  afterAll(async () => {
    await db.drop();
  });

  it('gives a busted buy its cash back and takes the shares, once, leaving the journal as it was written', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1000.00');
    const hold = aBuyHold(accountId, { quantity: '2', worstPrice: '110' });
    await tx((t) => ledger.placeHold(t, hold));
    const fill = aFill({ holdId: hold.holdId, quantity: dec('2'), price: dec('100.005') });
    await tx((t) => ledger.settleFills(t, [fill], { thenRelease: [hold.holdId] }));
    const bought = await balances(accountId);
    expect(bought.cash.total.toFixed()).toBe('799.79'); // 200.01 + 0.20 commission

    const reversal = await tx((t) =>
      ledger.reverseFill(t, { execId: `${fill.execId}.bust`, reversedExecId: fill.execId, live: false }),
    );
    expect(reversal).toMatchObject({ duplicate: false, negative: [] });
    expect([reversal.notional.toFixed(), reversal.commission.toFixed()]).toEqual(['200.01', '0.2']);
    const after = await balances(accountId);
    expect(after.cash.total.toFixed()).toBe('1000');
    expect(after.positions).toEqual([]);
    const again = await tx((t) =>
      ledger.reverseFill(t, { execId: `${fill.execId}.bust`, reversedExecId: fill.execId, live: false }),
    );
    expect(again.duplicate).toBe(true);
    expect(await balances(accountId)).toEqual(after);
    const journal = await ledger.journalOf(db.pool, { holdId: hold.holdId, execIds: [fill.execId] });
    expect(journal.map((entry) => entry.kind)).toEqual(['hold', 'fill', 'reversal']);
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('leaves a flagged short when the shares were sold, and refuses an unflagged negative balance at commit', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1000.00');
    const buy = aBuyHold(accountId, { quantity: '3', worstPrice: '100' });
    await tx((t) => ledger.placeHold(t, buy));
    const bought = aFill({ holdId: buy.holdId, quantity: dec('3'), price: dec('100') });
    await tx((t) => ledger.settleFills(t, [bought], { thenRelease: [buy.holdId] }));
    const sell = aSellHold(accountId, { quantity: '3', worstPrice: '100' });
    await tx((t) => ledger.placeHold(t, sell));
    await tx((t) =>
      ledger.settleFills(t, [aFill({ holdId: sell.holdId, quantity: dec('3'), price: dec('101') })], {
        thenRelease: [sell.holdId],
      }),
    );
    const reversal = await tx((t) =>
      ledger.reverseFill(t, { execId: 'short-bust', reversedExecId: bought.execId, live: false }),
    );
    expect(reversal.negative.map((n) => [n.asset, n.available.toFixed()])).toEqual([['AAPL', '-3']]);
    expect((await balances(accountId)).positions).toMatchObject([{ symbol: 'AAPL' }]);
    expect((await balances(accountId)).positions[0]!.quantity.toFixed()).toBe('-3');
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
    // The database itself refuses a negative balance that no bust flagged.
    await expect(
      tx((t) =>
        t.query(
          `UPDATE ledger_balances SET available = -1, total = -1 + held WHERE account_id = $1 AND asset = 'USD'`,
          [accountId],
        ),
      ),
    ).rejects.toThrow(/without a flagged bust/);
  });

  it('through any fills and any reversals of them, the order costs what its remaining fills cost, to the cent', async () => {
    const fill = fc.record({
      quantity: fc.integer({ min: 1, max: 5 }),
      cents: fc.integer({ min: 9_000, max: 10_000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fill, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        async (fills, picks, live) => {
          const accountId = await aFundedAccount(db.pool, ledger, '100000.00');
          const quantity = fills.reduce((sum, f) => sum + f.quantity, 0);
          const hold = aBuyHold(accountId, { quantity: String(quantity), worstPrice: '100' });
          await tx((t) => ledger.placeHold(t, hold));
          const settled = fills.map((f) =>
            aFill({
              holdId: hold.holdId,
              quantity: dec(String(f.quantity)),
              price: dec(String(f.cents)).dividedBy(100),
            }),
          );
          await tx((t) => ledger.settleFills(t, settled, live ? {} : { thenRelease: [hold.holdId] }));
          const remaining = [...settled];
          for (const pick of picks) {
            if (remaining.length === 0) break;
            const [taken] = remaining.splice(pick % remaining.length, 1);
            await tx((t) =>
              ledger.reverseFill(t, { execId: `${taken!.execId}.bust`, reversedExecId: taken!.execId, live }),
            );
          }
          const gross = remaining.reduce((sum, f) => sum.plus(f.quantity.times(f.price)), dec('0'));
          const notional = gross.toDecimalPlaces(2, 4);
          const commission = notional.times('0.001').toDecimalPlaces(2, 4);
          const h = await ledger.getHold(db.pool, hold.holdId);
          expect([h.notional.toFixed(), h.commission.toFixed()]).toEqual([notional.toFixed(), commission.toFixed()]);
          const account = await balances(accountId);
          // What the customer has paid is exactly what the remaining fills cost; the rest is held or back.
          expect(dec('100000').minus(account.cash.total).eq(notional.plus(commission))).toBe(true);
          expect(await checkLedgerInvariants(db.pool)).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });
});
