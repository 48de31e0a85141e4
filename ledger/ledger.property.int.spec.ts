import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dec, withTransaction, ZERO, type Decimal } from '../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { checkLedgerInvariants, createLedger, isLedgerError, type Ledger } from './index.ts';
import { aFill, aFundedAccount } from './test/ledger.builders.ts';

type Op =
  | { type: 'deposit'; cents: number }
  | { type: 'withdraw'; cents: number }
  | { type: 'hold'; side: 'buy' | 'sell'; micro: number; pips: number }
  | { type: 'release'; index: number; percent: number | null }
  | { type: 'fill'; index: number; percent: number; pricePercent: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant('deposit' as const), cents: fc.integer({ min: 1, max: 2_000_000 }) }),
  fc.record({ type: fc.constant('withdraw' as const), cents: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.record({
    type: fc.constant('hold' as const),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    micro: fc.integer({ min: 1, max: 30_000_000 }),
    pips: fc.integer({ min: 1, max: 5_000_000 }),
  }),
  fc.record({
    type: fc.constant('release' as const),
    index: fc.nat(),
    percent: fc.option(fc.integer({ min: 1, max: 120 })),
  }),
  fc.record({
    type: fc.constant('fill' as const),
    index: fc.nat(),
    percent: fc.integer({ min: 1, max: 110 }),
    // Mostly at or below the worst price; now and then above it (a broken collar).
    pricePercent: fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 50, max: 100 }) },
      { weight: 1, arbitrary: fc.integer({ min: 101, max: 110 }) },
    ),
  }),
);

const EXPECTED_REFUSALS = new Set([
  'INSUFFICIENT_FUNDS',
  'INSUFFICIENT_BUYING_POWER',
  'INSUFFICIENT_POSITION',
  'RELEASE_EXCEEDS_HOLD',
  'FILL_EXCEEDS_ORDER',
  'FILL_EXCEEDS_HOLD',
  'INVALID_AMOUNT',
  'INVALID_QUANTITY',
]);

describe('random sequences of ledger operations on real PostgreSQL', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = createLedger({ commissionBps: 10 });
  });
  afterAll(() => db.drop());

  it('keep every invariant, and money in equals money out plus balances', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        // Given an account that already owns shares, so that sells have something to sell.
        const accountId = await aFundedAccount(db.pool, ledger, '50000.00');
        const seed = {
          holdId: `${accountId}-seed`,
          accountId,
          side: 'buy' as const,
          symbol: 'MSFT',
          quantity: dec('200'),
          worstPrice: dec('100'),
        };
        const seeded = await withTransaction(db.pool, async (tx) => {
          await ledger.placeHold(tx, seed);
          return ledger.settleFill(tx, aFill({ holdId: seed.holdId, quantity: dec('200'), price: dec('100') }));
        });
        const holds: { holdId: string; quantity: Decimal; worstPrice: Decimal }[] = [];
        let moneyIn = dec('50000');
        let moneyOut = seeded.notional.plus(seeded.commission);
        let shares = dec('200');
        let n = 0;
        for (const step of ops) {
          n++;
          try {
            await withTransaction(db.pool, async (tx) => {
              switch (step.type) {
                case 'deposit': {
                  const amount = dec(String(step.cents)).dividedBy(100);
                  await ledger.deposit(tx, { accountId, amount, reference: `d${n}` });
                  moneyIn = moneyIn.plus(amount);
                  return;
                }
                case 'withdraw': {
                  const amount = dec(String(step.cents)).dividedBy(100);
                  await ledger.withdraw(tx, { accountId, amount, reference: `w${n}` });
                  moneyOut = moneyOut.plus(amount);
                  return;
                }
                case 'hold': {
                  const input = {
                    holdId: `${accountId}-h${n}`,
                    accountId,
                    side: step.side,
                    symbol: 'MSFT',
                    quantity: dec(String(step.micro)).dividedBy(1_000_000),
                    worstPrice: dec(String(step.pips)).dividedBy(10_000),
                  };
                  await ledger.placeHold(tx, input);
                  holds.push(input);
                  return;
                }
                case 'release': {
                  const target = holds[step.index % Math.max(holds.length, 1)];
                  if (!target) return;
                  const hold = await ledger.getHold(tx, target.holdId);
                  const amount =
                    step.percent === null
                      ? undefined
                      : hold.amount
                          .times(step.percent)
                          .dividedBy(100)
                          .toDecimalPlaces(hold.side === 'buy' ? 2 : 6, 1);
                  if (amount?.isZero()) return;
                  await ledger.releaseHold(tx, { holdId: target.holdId, amount });
                  return;
                }
                case 'fill': {
                  const target = holds[step.index % Math.max(holds.length, 1)];
                  if (!target) return;
                  const hold = await ledger.getHold(tx, target.holdId);
                  const leaves = hold.orderQuantity.minus(hold.filledQuantity);
                  const wanted = leaves.times(step.percent).dividedBy(100).toDecimalPlaces(6, 1);
                  const quantity = wanted.isZero() ? dec('0.000001') : wanted;
                  const price = Decimal4(target.worstPrice.times(step.pricePercent).dividedBy(100));
                  const result = await ledger.settleFill(
                    tx,
                    aFill({ holdId: target.holdId, execId: `${target.holdId}-e${n}`, quantity, price }),
                  );
                  if (hold.side === 'buy') {
                    moneyOut = moneyOut.plus(result.notional).plus(result.commission);
                    shares = shares.plus(quantity);
                  } else {
                    moneyIn = moneyIn.plus(result.notional).minus(result.commission);
                    shares = shares.minus(quantity);
                  }
                  return;
                }
              }
            });
          } catch (error) {
            if (!isLedgerError(error) || !EXPECTED_REFUSALS.has(error.code)) throw error;
          }
        }
        expect(await checkLedgerInvariants(db.pool)).toEqual([]);
        const account = await ledger.getAccount(db.pool, accountId);
        expect(account.cash.total.toFixed()).toBe(moneyIn.minus(moneyOut).toFixed());
        expect((account.positions[0]?.quantity ?? ZERO).toFixed()).toBe(shares.toFixed());
        const totals = await ledger.totals(db.pool);
        expect(
          totals.customers.cash.total
            .plus(totals.omnibus.cash)
            .plus(totals.commissionRevenue)
            .minus(totals.netDeposits)
            .toFixed(),
        ).toBe('0');
      }),
      { numRuns: 60 },
    );
  });
});

function Decimal4(value: Decimal): Decimal {
  const price = value.toDecimalPlaces(4, 1);
  return price.isZero() ? dec('0.0001') : price;
}
