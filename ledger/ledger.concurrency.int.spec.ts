import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dec, withTransaction, type Pool, type PoolClient } from '../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { checkLedgerInvariants, createLedger, isLedgerError, LedgerConflictError, type Ledger } from './index.ts';
import { Books } from './ledger.repository.ts';
import { aBuyHold, aFill, aFundedAccount } from './test/ledger.builders.ts';

describe('many writers on one account, from two pools as two processes would be', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  let pools: [Pool, Pool];
  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = createLedger({ commissionBps: 10 });
    pools = [db.newPool(8), db.newPool(8)];
  });
  afterAll(() => db.drop());

  const on = <T>(i: number, work: (tx: PoolClient) => Promise<T>) => withTransaction(pools[i % 2]!, work);

  it('given 260 concurrent deposits, withdrawals, holds, releases and fills, then the totals are exact', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '100000.00');
    // 20 orders that will fill 3 × 1 @ 99.99 each; 10 that will be released. Each fill of one
    // order is at the same price, so the order's cost does not depend on which fill lands first.
    const filling = await Promise.all(
      Array.from({ length: 20 }, () =>
        on(0, (tx) => ledger.placeHold(tx, aBuyHold(accountId, { quantity: '10', worstPrice: '100' }))),
      ),
    );
    const releasing = await Promise.all(
      Array.from({ length: 10 }, () =>
        on(1, (tx) => ledger.placeHold(tx, aBuyHold(accountId, { quantity: '2', worstPrice: '100' }))),
      ),
    );
    const fills = filling.flatMap((hold) =>
      Array.from({ length: 3 }, () => aFill({ holdId: hold.holdId, quantity: dec('1'), price: dec('99.99') })),
    );

    const operations: (() => Promise<unknown>)[] = [
      ...Array.from(
        { length: 100 },
        (_, i) => () => on(i, (tx) => ledger.deposit(tx, { accountId, amount: dec('1.01'), reference: `d-${i}` })),
      ),
      ...Array.from(
        { length: 40 },
        (_, i) => () => on(i, (tx) => ledger.withdraw(tx, { accountId, amount: dec('0.50'), reference: `w-${i}` })),
      ),
      ...fills.map((fill, i) => () => on(i, (tx) => ledger.settleFill(tx, fill))),
      // The same executions again, as a redelivered batch would bring them: no effect.
      ...fills.slice(0, 20).map((fill, i) => () => on(i + 1, (tx) => ledger.settleFill(tx, fill))),
      ...Array.from(
        { length: 30 },
        (_, i) => () => on(i, (tx) => ledger.placeHold(tx, aBuyHold(accountId, { quantity: '1', worstPrice: '50' }))),
      ),
      ...releasing.map((hold, i) => () => on(i, (tx) => ledger.releaseHold(tx, { holdId: hold.holdId }))),
    ];
    // Interleave the kinds so that every kind races every other.
    const shuffled = operations
      .map((op, i) => ({ op, key: (i * 7919) % operations.length }))
      .sort((a, b) => a.key - b.key);
    expect(shuffled.length).toBeGreaterThanOrEqual(200);
    const results = await Promise.allSettled(shuffled.map(({ op }) => op()));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);

    const account = await ledger.getAccount(db.pool, accountId);
    // Each filling order: 3 × 99.99 = 299.97 + 0.30 commission = 300.27 paid; it keeps the worst
    // case of its 7 left: cost(299.97 + 700) − cost(299.97) = 1000.97 − 300.27 = 700.70.
    // Held: 20 × 700.70 + 30 × (50 + 0.05) = 15515.50.
    // Total: 100000 + 100 × 1.01 − 40 × 0.50 − 20 × 300.27 = 94075.60.
    expect(account.cash.held.toFixed(2)).toBe('15515.50');
    expect(account.cash.total.toFixed(2)).toBe('94075.60');
    expect(account.cash.available.toFixed(2)).toBe('78560.10');
    expect(account.positions.map((p) => [p.symbol, p.quantity.toFixed()])).toEqual([['AAPL', '60']]);
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('given 50 concurrent withdrawals racing for 100.00, then exactly 33 succeed and nothing goes negative', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '100.00');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        on(i, (tx) => ledger.withdraw(tx, { accountId, amount: dec('3.00'), reference: `race-${i}` })),
      ),
    );
    const refused = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (isLedgerError(r.reason) ? r.reason.code : String(r.reason)));
    expect(refused).toEqual(Array.from({ length: 17 }, () => 'INSUFFICIENT_FUNDS'));
    expect((await ledger.getAccount(db.pool, accountId)).cash.available.toFixed(2)).toBe('1.00');
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('given concurrent batches over the same accounts in different orders, then none deadlocks and all settle', async () => {
    const accounts = await Promise.all([1, 2, 3, 4].map(() => aFundedAccount(db.pool, ledger, '10000.00')));
    const holds = await Promise.all(
      accounts.map((accountId) =>
        on(0, (tx) => ledger.placeHold(tx, aBuyHold(accountId, { quantity: '100', worstPrice: '10' }))),
      ),
    );
    // 40 batches of 5 fills, each touching the accounts in its own order.
    const batches = Array.from({ length: 40 }, (_, b) =>
      Array.from({ length: 5 }, (_, f) =>
        aFill({ holdId: holds[(b + f * (b % 3 === 0 ? 3 : 1)) % 4]!.holdId, quantity: dec('0.5'), price: dec('10') }),
      ),
    );
    const results = await Promise.allSettled(batches.map((fills, i) => on(i, (tx) => ledger.settleFills(tx, fills))));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const filled = await Promise.all(holds.map((h) => ledger.getHold(db.pool, h.holdId)));
    const perHold = holds.map((h) =>
      dec(String(batches.flat().filter((f) => f.holdId === h.holdId).length))
        .times('0.5')
        .toFixed(),
    );
    expect(filled.map((h) => h.filledQuantity.toFixed())).toEqual(perHold);
    expect(perHold.reduce((sum, q) => sum.plus(q), dec('0')).toFixed()).toBe('100');
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('given two serializable transactions on one account, then the loser is retried and both deposits count', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '10.00');
    let attempts = 0;
    let rivalDone!: () => void;
    const rivalCommitted = new Promise<void>((resolve) => {
      rivalDone = resolve;
    });
    await withTransaction(
      pools[0],
      async (tx) => {
        attempts++;
        // The first statement fixes this transaction's snapshot; the rival then commits a deposit
        // that this snapshot cannot see, so our write of the same balance row must fail with 40001.
        await ledger.getAccount(tx, accountId);
        if (attempts === 1) {
          await withTransaction(
            pools[1],
            (other) => ledger.deposit(other, { accountId, amount: dec('5.00'), reference: 'rival' }),
            {
              isolation: 'serializable',
            },
          );
          rivalDone();
        }
        await rivalCommitted;
        await ledger.deposit(tx, { accountId, amount: dec('1.00'), reference: 'mine' });
      },
      { isolation: 'serializable' },
    );
    expect(attempts).toBe(2);
    expect((await ledger.getAccount(db.pool, accountId)).cash.total.toFixed(2)).toBe('16.00');
  });

  it('given a writer that bypasses the row lock, then the version check refuses the stale write and a retry applies it', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '10.00');
    let attempts = 0;
    const failures: unknown[] = [];
    await withTransaction(pools[0], async (tx) => {
      attempts++;
      const books = await Books.open(tx, { accountIds: [accountId] });
      const cash = books.balanceOf(accountId, 'USD');
      if (attempts === 1) {
        // Not through the ledger: no account lock, only the balance row (a version bump, values unchanged).
        await pools[1].query(`UPDATE ledger_balances SET version = version + 1 WHERE account_id = $1`, [accountId]);
      }
      books.record('deposit', accountId, `bypass-${attempts}`, [
        { accountId, asset: 'USD', bucket: 'available', amount: dec('2.00') },
        { accountId: 'firm:external', asset: 'USD', bucket: 'available', amount: dec('-2.00') },
      ]);
      await books.flush().catch((error: unknown) => {
        failures.push(error);
        throw error;
      });
      return cash;
    });
    expect(attempts).toBe(2);
    expect(failures[0]).toBeInstanceOf(LedgerConflictError);
    expect((await ledger.getAccount(db.pool, accountId)).cash.total.toFixed(2)).toBe('12.00');
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });
});
