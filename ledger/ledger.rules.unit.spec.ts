import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec, type Decimal } from '../platform/index.ts';
import { LedgerError } from './ledger.errors.ts';
import {
  NO_PROGRESS,
  buyHoldAmount,
  checkCash,
  checkPrice,
  checkQuantity,
  costOf,
  priceFill,
  requiredHold,
  type OrderProgress,
} from './ledger.rules.ts';

const s = (value: Decimal) => value.toFixed();
const micro = (n: bigint) => dec(n).dividedBy(1_000_000);
const pips = (n: bigint) => dec(n).dividedBy(10_000);

/** Fill quantities (in micro-shares) that add up to at most `total`, none zero. */
const splitOf = (total: bigint) =>
  fc.array(fc.bigInt({ min: 1n, max: 1000n }), { minLength: 1, maxLength: 12 }).chain((weights) => {
    const sum = weights.reduce((a, b) => a + b, 0n);
    const parts = weights.map((w) => (w * total) / sum).filter((p) => p > 0n);
    return fc.boolean().map((complete) => {
      if (parts.length === 0) return [total];
      const used = parts.reduce((a, b) => a + b, 0n);
      // Complete orders put the rounding remainder on the last fill; others stop short.
      if (complete) parts[parts.length - 1]! += total - used;
      return parts;
    });
  });

describe('rounding rules', () => {
  it('given the contract example, when 4 fill at 187.20 at 10 bps, then the commission is 0.75', () => {
    const { notional, commission } = priceFill(NO_PROGRESS, dec('4'), dec('187.20'), dec('10'));
    expect([s(notional), s(commission)]).toEqual(['748.8', '0.75']);
  });

  it.each([
    ['10', '187.25', 10, '1874.37'], // 1872.50 + 1.8725 → 1.87
    ['1', '0.0050', 10, '0.01'], // 0.005 → 0.01, commission 0.00001 → 0
    ['0.000001', '0.0001', 10, '0'],
    ['3', '33.335', 25, '100.26'], // 100.005 → 100.01 + 0.250025 → 0.25
  ])('given %s at %s and %i bps, then the buy hold is %s', (quantity, price, bps, expected) => {
    expect(s(buyHoldAmount(dec(quantity), dec(price), bps))).toBe(expected);
  });

  it('given three fills of 1 at 0.0050, then per-order rounding charges 0.02, not three rounded-up cents', () => {
    let progress: OrderProgress = NO_PROGRESS;
    const notionals: string[] = [];
    for (let i = 0; i < 3; i++) {
      const fill = priceFill(progress, dec('1'), dec('0.0050'), dec('10'));
      notionals.push(s(fill.notional));
      progress = fill.progress;
    }
    expect(notionals).toEqual(['0.01', '0', '0.01']);
    expect(s(progress.notional)).toBe('0.02');
    expect(s(buyHoldAmount(dec('3'), dec('0.0050'), 10))).toBe('0.02');
  });

  it.each([
    ['0', 'INVALID_AMOUNT'],
    ['-1', 'INVALID_AMOUNT'],
    ['0.001', 'INVALID_AMOUNT'],
    ['1e16', 'INVALID_AMOUNT'],
  ])('refuses cash %s with %s', (value, code) => {
    expect(() => checkCash(dec(value))).toThrow(expect.objectContaining({ code }) as LedgerError);
  });

  it('refuses a seventh decimal of quantity and a fifth of price, and NaN anywhere', () => {
    expect(() => checkQuantity(dec('0.0000001'))).toThrow(LedgerError);
    expect(() => checkPrice(dec('1.00001'))).toThrow(LedgerError);
    expect(() => checkPrice(dec('NaN'))).toThrow(LedgerError);
    expect(() => checkQuantity(1)).toThrow(LedgerError);
    expect(s(checkQuantity(dec('0.000001')))).toBe('0.000001');
  });
});

describe('an order priced fill by fill never costs more than its hold', () => {
  const order = fc.record({
    quantity: fc.bigInt({ min: 1n, max: 50_000_000n }),
    worstPrice: fc.bigInt({ min: 1n, max: 20_000_000n }),
    bps: fc.integer({ min: 0, max: 100 }),
  });

  it('given fills at or below the worst price, then the hold always covers the fill and keeps the worst case of the rest', () => {
    fc.assert(
      fc.property(
        order.chain((o) =>
          splitOf(o.quantity).chain((parts) =>
            fc.tuple(
              fc.constant(o),
              fc.constant(parts),
              fc.array(fc.bigInt({ min: 1n, max: o.worstPrice }), { minLength: parts.length, maxLength: parts.length }),
            ),
          ),
        ),
        ([o, parts, prices]) => {
          const quantity = micro(o.quantity);
          const worstPrice = pips(o.worstPrice);
          const bps = dec(String(o.bps));
          const original = buyHoldAmount(quantity, worstPrice, o.bps);
          let hold = original;
          let progress = NO_PROGRESS;
          let paid = dec('0');
          parts.forEach((part, i) => {
            const fill = priceFill(progress, micro(part), pips(prices[i]!), bps);
            const cost = fill.notional.plus(fill.commission);
            expect(fill.notional.gte(0) && fill.commission.gte(0)).toBe(true);
            expect(cost.lte(hold)).toBe(true);
            const required = requiredHold('buy', quantity, worstPrice, fill.progress, bps);
            expect(hold.minus(cost).gte(required)).toBe(true);
            hold = required;
            progress = fill.progress;
            paid = paid.plus(cost);
          });
          // Money in = money out: what left the customer is what the order cost, to the cent.
          expect(s(paid)).toBe(s(costOf(progress.gross, bps)));
          expect(paid.plus(hold).lte(original)).toBe(true);
          if (progress.filledQuantity.eq(quantity)) expect(s(hold)).toBe('0');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('given a single fill of the whole order, then its commission is exactly round(bps × notional)', () => {
    fc.assert(
      fc.property(order, fc.bigInt({ min: 1n, max: 20_000_000n }), (o, price) => {
        const fill = priceFill(NO_PROGRESS, micro(o.quantity), pips(price), dec(String(o.bps)));
        const notional = micro(o.quantity).times(pips(price)).toDecimalPlaces(2);
        expect(s(fill.notional)).toBe(s(notional));
        expect(s(fill.commission)).toBe(s(notional.times(o.bps).dividedBy(10_000).toDecimalPlaces(2)));
      }),
    );
  });
});
