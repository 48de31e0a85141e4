import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dec, withTransaction, type Decimal, type PoolClient } from '../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { checkLedgerInvariants, createLedger, LedgerError, type Ledger } from './index.ts';
import { aBuyHold, aFill, aFundedAccount, aSellHold } from './test/ledger.builders.ts';

const s = (value: Decimal) => value.toFixed();

describe('ledger on real PostgreSQL', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  const tx = <T>(work: (tx: PoolClient) => Promise<T>) => withTransaction(db.pool, work);

  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = createLedger({ commissionBps: 10 });
  });
  afterAll(async () => {
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
    await db.drop();
  });

  /** Snapshot of everything the ledger stores, to prove a refusal wrote nothing. */
  async function journalSize() {
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM ledger_entries) + (SELECT count(*) FROM ledger_postings) + (SELECT count(*) FROM ledger_fills)
            + (SELECT count(*) FROM ledger_holds) AS n`,
    );
    const balances = await db.pool.query<{ v: string }>(`SELECT coalesce(sum(version), 0) AS v FROM ledger_balances`);
    return `${rows[0]!.n}/${balances.rows[0]!.v}`;
  }

  it('opens accounts idempotently and deposits and withdraws against external money', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '0');
    await tx((t) => ledger.openAccount(t, accountId));
    const afterDeposit = await tx((t) => ledger.deposit(t, { accountId, amount: dec('1000.00'), reference: 'd1' }));
    expect(s(afterDeposit.available)).toBe('1000');
    const afterWithdrawal = await tx((t) => ledger.withdraw(t, { accountId, amount: dec('250.50'), reference: 'w1' }));
    expect([s(afterWithdrawal.total), s(afterWithdrawal.available), s(afterWithdrawal.held)]).toEqual([
      '749.5',
      '749.5',
      '0',
    ]);
  });

  it('settles the contract example: 4 @ 187.20 at 10 bps costs 748.80 plus 0.75 commission', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '2000.00');
    const hold = await tx((t) => ledger.placeHold(t, aBuyHold(accountId, { quantity: '10', worstPrice: '187.25' })));
    // 10 × 187.25 = 1872.50; commission 1.8725 → 1.87.
    expect(s(hold.amount)).toBe('1874.37');
    const fill = aFill({ holdId: hold.holdId, quantity: dec('4'), price: dec('187.20') });
    const settled = await tx((t) => ledger.settleFill(t, fill));
    expect([s(settled.notional), s(settled.commission), settled.duplicate]).toEqual(['748.8', '0.75', false]);

    const account = await ledger.getAccount(db.pool, accountId);
    const left = await ledger.getHold(db.pool, hold.holdId);
    // Worst case of the 6 left: 6 × 187.25 = 1123.50 + 1.12 (commission on 1872.30 − on 748.80 = 1.87 − 0.75).
    expect(s(left.amount)).toBe('1124.62');
    expect(s(account.cash.held)).toBe('1124.62');
    expect(s(account.cash.total)).toBe(s(dec('2000').minus('748.80').minus('0.75')));
    expect(account.positions.map((p) => [p.symbol, s(p.quantity), s(p.averageCost)])).toEqual([['AAPL', '4', '187.2']]);

    const again = await tx((t) => ledger.settleFill(t, fill));
    expect(again).toEqual({ ...settled, duplicate: true });
    expect(s((await ledger.getAccount(db.pool, accountId)).cash.total)).toBe(s(account.cash.total));
  });

  it('releases the rest of a hold when the order completes, and whole holds on request', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1000.00');
    const hold = await tx((t) => ledger.placeHold(t, aBuyHold(accountId, { quantity: '3', worstPrice: '100' })));
    await tx((t) =>
      ledger.settleFills(t, [
        aFill({ holdId: hold.holdId, quantity: dec('1'), price: dec('99') }),
        aFill({ holdId: hold.holdId, quantity: dec('2'), price: dec('98.5') }),
      ]),
    );
    const done = await ledger.getHold(db.pool, hold.holdId);
    expect([s(done.amount), s(done.filledQuantity), s(done.notional), s(done.commission)]).toEqual([
      '0',
      '3',
      '296',
      '0.3',
    ]);
    const account = await ledger.getAccount(db.pool, accountId);
    expect([s(account.cash.available), s(account.cash.held)]).toEqual(['703.7', '0']);

    const second = await tx((t) => ledger.placeHold(t, aBuyHold(accountId, { quantity: '1', worstPrice: '500' })));
    const partly = await tx((t) => ledger.releaseHold(t, { holdId: second.holdId, amount: dec('100.00') }));
    expect(s(partly.amount)).toBe('400.5');
    const released = await tx((t) => ledger.releaseHold(t, { holdId: second.holdId }));
    expect(s(released.amount)).toBe('0');
    expect(s((await ledger.getAccount(db.pool, accountId)).cash.available)).toBe('703.7');
  });

  it('settles a batch and then releases the rest of the holds it names, as settling and releasing one by one would', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '5000.00');
    const [partFilled, untouched, whole] = await tx(async (t) => [
      await ledger.placeHold(t, aBuyHold(accountId, { quantity: '5', worstPrice: '100' })),
      await ledger.placeHold(t, aBuyHold(accountId, { quantity: '2', worstPrice: '50' })),
      await ledger.placeHold(t, aBuyHold(accountId, { quantity: '1', worstPrice: '10' })),
    ]);
    const before = await journalSize();
    // A canceled order with one partial fill, a canceled order with none, and a filled order.
    const results = await tx((t) =>
      ledger.settleFills(
        t,
        [
          aFill({ holdId: partFilled.holdId, quantity: dec('2'), price: dec('99') }),
          aFill({ holdId: whole.holdId, quantity: dec('1'), price: dec('9.5') }),
        ],
        { thenRelease: [partFilled.holdId, untouched.holdId, whole.holdId] },
      ),
    );
    expect(results.map((r) => s(r.commission))).toEqual(['0.2', '0.01']);
    for (const id of [partFilled.holdId, untouched.holdId, whole.holdId])
      expect(s((await ledger.getHold(db.pool, id)).amount)).toBe('0');
    const account = await ledger.getAccount(db.pool, accountId);
    // 5000 − (198 + 0.20) − (9.50 + 0.01)
    expect([s(account.cash.available), s(account.cash.held)]).toEqual(['4792.29', '0']);
    expect(await journalSize()).not.toBe(before);

    // An unknown hold among the releases refuses the whole batch, writing nothing.
    const beforeRefusal = await journalSize();
    const refused = tx((t) => ledger.settleFills(t, [], { thenRelease: ['no-such-hold'] }));
    await expect(refused).rejects.toMatchObject({ code: 'HOLD_NOT_FOUND' });
    expect(await journalSize()).toBe(beforeRefusal);
  });

  it('sells held shares: proceeds are notional minus commission, and the average cost stays', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1000.00');
    const buy = await tx((t) => ledger.placeHold(t, aBuyHold(accountId, { quantity: '5', worstPrice: '100' })));
    await tx((t) => ledger.settleFill(t, aFill({ holdId: buy.holdId, quantity: dec('5'), price: dec('100') })));
    const sell = await tx((t) => ledger.placeHold(t, aSellHold(accountId, { quantity: '2', worstPrice: '110' })));
    expect([sell.asset, s(sell.amount)]).toEqual(['AAPL', '2']);
    await expect(tx((t) => ledger.placeHold(t, aSellHold(accountId, { quantity: '3.000001' })))).rejects.toMatchObject({
      code: 'INSUFFICIENT_POSITION',
    });
    const settled = await tx((t) =>
      ledger.settleFill(t, aFill({ holdId: sell.holdId, quantity: dec('2'), price: dec('110.10') })),
    );
    expect([s(settled.notional), s(settled.commission)]).toEqual(['220.2', '0.22']);
    const account = await ledger.getAccount(db.pool, accountId);
    // 1000 − 500 − 0.50 + 220.20 − 0.22
    expect(s(account.cash.available)).toBe('719.48');
    expect(account.positions.map((p) => [s(p.quantity), s(p.available), s(p.held), s(p.averageCost)])).toEqual([
      ['3', '3', '0', '100'],
    ]);

    const totals = await ledger.totals(db.pool);
    expect(s(totals.customers.shares.AAPL!.total.plus(totals.omnibus.shares.AAPL!))).toBe('0');
    expect(
      s(totals.customers.cash.total.plus(totals.omnibus.cash).plus(totals.commissionRevenue).minus(totals.netDeposits)),
    ).toBe('0');
  });

  it('takes a fill above the worst price from available cash, and refuses it when there is not enough', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '101.00');
    const hold = await tx((t) => ledger.placeHold(t, aBuyHold(accountId, { quantity: '1', worstPrice: '100' })));
    expect(s(hold.amount)).toBe('100.1');
    const before = await journalSize();
    await expect(
      tx((t) => ledger.settleFill(t, aFill({ holdId: hold.holdId, quantity: dec('1'), price: dec('101') }))),
    ).rejects.toMatchObject({
      code: 'FILL_EXCEEDS_HOLD',
    });
    expect(await journalSize()).toBe(before);
    await tx((t) => ledger.settleFill(t, aFill({ holdId: hold.holdId, quantity: dec('1'), price: dec('100.80') })));
    const account = await ledger.getAccount(db.pool, accountId);
    expect([s(account.cash.available), s(account.cash.held)]).toEqual(['0.1', '0']);
  });

  it.each<[string, (l: Ledger, accountId: string) => (t: PoolClient) => Promise<unknown>, string]>([
    [
      'a zero deposit',
      (l: Ledger, a: string) => (t) => l.deposit(t, { accountId: a, amount: dec('0'), reference: 'z' }),
      'INVALID_AMOUNT',
    ],
    [
      'a negative deposit',
      (l: Ledger, a: string) => (t) => l.deposit(t, { accountId: a, amount: dec('-5'), reference: 'n' }),
      'INVALID_AMOUNT',
    ],
    [
      'a deposit of a tenth of a cent',
      (l: Ledger, a: string) => (t) => l.deposit(t, { accountId: a, amount: dec('0.001'), reference: 'm' }),
      'INVALID_AMOUNT',
    ],
    [
      'a deposit given as a string',
      (l: Ledger, a: string) => (t) => l.deposit(t, { accountId: a, amount: '5' as never, reference: 's' }),
      'INVALID_AMOUNT',
    ],
    [
      'a deposit to an unknown account',
      (l: Ledger) => (t) => l.deposit(t, { accountId: 'nobody', amount: dec('5'), reference: 'u' }),
      'UNKNOWN_ACCOUNT',
    ],
    [
      'a deposit to a firm account',
      (l: Ledger) => (t) => l.deposit(t, { accountId: 'firm:omnibus', amount: dec('5'), reference: 'f' }),
      'UNKNOWN_ACCOUNT',
    ],
    [
      'a second deposit with one reference',
      (l: Ledger, a: string) => (t) => l.deposit(t, { accountId: a, amount: dec('5'), reference: 'seed-' + a }),
      'DUPLICATE_REFERENCE',
    ],
    [
      'a withdrawal beyond available',
      (l: Ledger, a: string) => (t) => l.withdraw(t, { accountId: a, amount: dec('50.01'), reference: 'w' }),
      'INSUFFICIENT_FUNDS',
    ],
    ['an account id of the firm', (l: Ledger) => (t) => l.openAccount(t, 'firm:mine'), 'INVALID_ACCOUNT_ID'],
    ['an empty account id', (l: Ledger) => (t) => l.openAccount(t, ''), 'INVALID_ACCOUNT_ID'],
    [
      'a hold beyond buying power',
      (l: Ledger, a: string) => (t) => l.placeHold(t, aBuyHold(a, { quantity: '1', worstPrice: '49.96' })),
      'INSUFFICIENT_BUYING_POWER',
    ],
    [
      'a hold with 7 decimals of quantity',
      (l: Ledger, a: string) => (t) => l.placeHold(t, aBuyHold(a, { quantity: '0.0000001' })),
      'INVALID_QUANTITY',
    ],
    [
      'a hold with 5 decimals of price',
      (l: Ledger, a: string) => (t) => l.placeHold(t, aBuyHold(a, { worstPrice: '1.00001' })),
      'INVALID_PRICE',
    ],
    [
      'a hold on a bad symbol',
      (l: Ledger, a: string) => (t) => l.placeHold(t, { ...aBuyHold(a), symbol: 'usd' }),
      'INVALID_SYMBOL',
    ],
    [
      'a sell hold without shares',
      (l: Ledger, a: string) => (t) => l.placeHold(t, aSellHold(a, { quantity: '1' })),
      'INSUFFICIENT_POSITION',
    ],
    [
      'a release of an unknown hold',
      (l: Ledger) => (t) => l.releaseHold(t, { holdId: 'no-such-order' }),
      'HOLD_NOT_FOUND',
    ],
    [
      'a fill of an unknown hold',
      (l: Ledger) => (t) => l.settleFill(t, aFill({ holdId: 'no-such-order' })),
      'HOLD_NOT_FOUND',
    ],
    [
      'a fill with an invalid date',
      (l: Ledger) => (t) => l.settleFill(t, aFill({ holdId: 'x', at: new Date('nope') })),
      'INVALID_FILL',
    ],
  ])('refuses %s with a typed error and writes nothing', async (_name, operation, code) => {
    const accountId = await aFundedAccount(db.pool, ledger, '50.00');
    const before = await journalSize();
    const error = await tx((t) => operation(ledger, accountId)(t)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).code).toBe(code);
    expect(await journalSize()).toBe(before);
  });

  it('refuses a release beyond the hold and a fill beyond the order, writing nothing', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1000.00');
    const hold = await tx((t) => ledger.placeHold(t, aBuyHold(accountId, { quantity: '2', worstPrice: '100' })));
    const before = await journalSize();
    await expect(
      tx((t) => ledger.releaseHold(t, { holdId: hold.holdId, amount: dec('200.21') })),
    ).rejects.toMatchObject({ code: 'RELEASE_EXCEEDS_HOLD' });
    await expect(
      tx((t) =>
        ledger.settleFills(t, [
          aFill({ holdId: hold.holdId, quantity: dec('1') }),
          aFill({ holdId: hold.holdId, quantity: dec('1.5') }),
        ]),
      ),
    ).rejects.toMatchObject({ code: 'FILL_EXCEEDS_ORDER' });
    expect(await journalSize()).toBe(before);
    expect(s((await ledger.getHold(db.pool, hold.holdId)).filledQuantity)).toBe('0');
  });

  it('treats a hold placed twice with the same terms as one, and other terms as a conflict', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '1000.00');
    const input = aBuyHold(accountId, { quantity: '1', worstPrice: '100' });
    await tx((t) => ledger.placeHold(t, input));
    await tx((t) => ledger.placeHold(t, input));
    expect(s((await ledger.getAccount(db.pool, accountId)).cash.held)).toBe('100.1');
    await expect(tx((t) => ledger.placeHold(t, { ...input, quantity: dec('2') }))).rejects.toMatchObject({
      code: 'HOLD_CONFLICT',
    });
  });

  it('settles a batch over several accounts in order, once per execId, as one-by-one settlement would', async () => {
    const [a, b] = [await aFundedAccount(db.pool, ledger, '1000.00'), await aFundedAccount(db.pool, ledger, '1000.00')];
    const holdA = await tx((t) => ledger.placeHold(t, aBuyHold(a, { quantity: '3', worstPrice: '10.005' })));
    const holdB = await tx((t) => ledger.placeHold(t, aBuyHold(b, { quantity: '3', worstPrice: '10.005' })));
    const fillsA = [1, 2, 3].map((i) => aFill({ holdId: holdA.holdId, execId: `a-${i}`, price: dec('10.005') }));
    const fillsB = [1, 2, 3].map((i) => aFill({ holdId: holdB.holdId, execId: `b-${i}`, price: dec('10.005') }));
    // Interleaved, with a redelivery inside the batch.
    const batch = [fillsB[0]!, fillsA[0]!, fillsA[1]!, fillsB[1]!, fillsA[0]!, fillsB[2]!, fillsA[2]!];
    const results = await tx((t) => ledger.settleFills(t, batch));
    expect(results.map((r) => [r.execId, s(r.notional), r.duplicate])).toEqual([
      ['b-1', '10.01', false],
      ['a-1', '10.01', false],
      ['a-2', '10', false],
      ['b-2', '10', false],
      ['a-1', '10.01', true],
      ['b-3', '10.01', false],
      ['a-3', '10.01', false],
    ]);
    // One at a time gives the same: cumulative 10.005 → 10.01, 20.01 → 20.01, 30.015 → 30.02.
    const c = await aFundedAccount(db.pool, ledger, '1000.00');
    const holdC = await tx((t) => ledger.placeHold(t, aBuyHold(c, { quantity: '3', worstPrice: '10.005' })));
    for (const i of [1, 2, 3]) {
      await tx((t) => ledger.settleFill(t, aFill({ holdId: holdC.holdId, execId: `c-${i}`, price: dec('10.005') })));
    }
    const [accountA, accountC] = [await ledger.getAccount(db.pool, a), await ledger.getAccount(db.pool, c)];
    expect(s(accountA.cash.total)).toBe(s(accountC.cash.total));
    expect(s(accountA.cash.total)).toBe('969.95');
  });

  it('the database itself refuses a negative customer balance and an unbalanced entry', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '10.00');
    await expect(
      db.pool.query(`UPDATE ledger_balances SET available = -1, total = -1 WHERE account_id = $1`, [accountId]),
    ).rejects.toMatchObject({
      code: '23514',
    });
    await expect(
      withTransaction(db.pool, async (t) => {
        await t.query(
          `INSERT INTO ledger_entries (id, kind, account_id, reference) VALUES (gen_random_uuid(), 'deposit', $1, 'bad')`,
          [accountId],
        );
        await t.query(
          `INSERT INTO ledger_postings (entry_id, account_id, asset, bucket, amount)
           SELECT id, $1, 'USD', 'available', 5 FROM ledger_entries WHERE reference = 'bad'`,
          [accountId],
        );
      }),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(db.pool.query(`DELETE FROM ledger_postings`)).rejects.toMatchObject({ code: '23001' });
  });

  it('the database refuses a posting that names no entry or no account, and an account postings name going away', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '10.00');
    const before = await journalSize();
    // Balanced postings, so only the reference check can refuse them.
    const postTo = (entry: string, account: string) =>
      withTransaction(db.pool, async (t) => {
        const { rows } = await t.query<{ id: string }>(
          `INSERT INTO ledger_entries (id, kind, account_id, reference) VALUES (gen_random_uuid(), 'deposit', $1, 'ref-check')
           RETURNING id`,
          [accountId],
        );
        await t.query(
          `INSERT INTO ledger_postings (entry_id, account_id, asset, bucket, amount)
           VALUES ($1, $2, 'USD', 'available', 5), ($1, 'firm:external', 'USD', 'available', -5)`,
          [entry === 'real' ? rows[0]!.id : entry, account],
        );
      });
    await expect(postTo('00000000-0000-4000-8000-000000000000', accountId)).rejects.toMatchObject({ code: '23503' });
    await expect(postTo('real', 'no-such-account')).rejects.toMatchObject({ code: '23503' });
    expect(await journalSize()).toBe(before);

    // firm:external has the deposit's posting but, unlike a customer, no entry, balance or hold that a foreign key keeps.
    await expect(db.pool.query(`DELETE FROM ledger_accounts WHERE id = 'firm:external'`)).rejects.toMatchObject({
      code: '23001',
    });
    await expect(
      db.pool.query(`UPDATE ledger_accounts SET id = 'firm:elsewhere' WHERE id = 'firm:external'`),
    ).rejects.toMatchObject({ code: '23001' });
    await expect(db.pool.query(`TRUNCATE ledger_accounts CASCADE`)).rejects.toMatchObject({ code: '23001' });
    const { rows } = await db.pool.query(`SELECT 1 FROM ledger_accounts WHERE id = 'firm:external'`);
    expect(rows).toHaveLength(1);
  });

  it('checkLedgerInvariants finds a balance row that disagrees with its postings', async () => {
    const accountId = await aFundedAccount(db.pool, ledger, '10.00');
    await db.pool.query(
      `UPDATE ledger_balances SET available = available + 1, total = total + 1 WHERE account_id = $1`,
      [accountId],
    );
    const violations = await checkLedgerInvariants(db.pool);
    expect(violations.map((v) => [v.code, v.details.account_id])).toEqual([['BALANCE_MISMATCH', accountId]]);
    await db.pool.query(
      `UPDATE ledger_balances SET available = available - 1, total = total - 1 WHERE account_id = $1`,
      [accountId],
    );
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });
});
