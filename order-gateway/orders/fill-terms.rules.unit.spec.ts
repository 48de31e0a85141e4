import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../../platform/decimal.ts';
import { fillTermsBreaches, type OrderTerms } from './fill-terms.rules.ts';

const anOrder = (overrides: Partial<OrderTerms> = {}): OrderTerms => ({
  accountId: 'acc-1',
  symbol: 'AAPL',
  side: 'buy',
  worstPrice: '187.25',
  ...overrides,
});
const aFill = (overrides: Partial<{ account: string; symbol: string; side: 'buy' | 'sell'; price: string }> = {}) => ({
  account: 'acc-1',
  symbol: 'AAPL',
  side: 'buy' as const,
  price: '187.25',
  ...overrides,
});

/** Prices in cents as decimal strings, 0.01 to 10,000.00. */
const cents = fc.integer({ min: 1, max: 1_000_000 }).map((c) => dec(String(c)).dividedBy(100).toFixed(2));

describe('fill terms', () => {
  it('accepts a fill at the limit, and names each term a fill breaks', () => {
    expect(fillTermsBreaches(anOrder(), aFill())).toEqual([]);
    expect(fillTermsBreaches(anOrder(), aFill({ price: '187.26' }))).toEqual([
      { field: 'price', expected: 'at most 187.25', actual: '187.26' },
    ]);
    expect(fillTermsBreaches(anOrder({ side: 'sell' }), aFill({ side: 'sell', price: '187.24' }))).toEqual([
      { field: 'price', expected: 'at least 187.25', actual: '187.24' },
    ]);
    expect(
      fillTermsBreaches(anOrder(), aFill({ account: 'acc-2', symbol: 'MSFT', side: 'sell' })).map((b) => b.field),
    ).toEqual(['account', 'symbol', 'side']);
  });

  it('a buy may fill at or below its bound and never above; a sell at or above and never below', () => {
    fc.assert(
      fc.property(cents, cents, fc.constantFrom('buy' as const, 'sell' as const), (bound, price, side) => {
        const breaches = fillTermsBreaches(anOrder({ side, worstPrice: bound }), aFill({ side, price }));
        const allowed = side === 'buy' ? dec(price).lte(bound) : dec(price).gte(bound);
        expect(breaches.length === 0).toBe(allowed);
      }),
    );
  });

  it('a fill whose account, symbol or side differs from the order is never within its terms', () => {
    fc.assert(
      fc.property(fc.record({ account: fc.boolean(), symbol: fc.boolean(), side: fc.boolean() }), (wrong) => {
        const fill = aFill({
          ...(wrong.account ? { account: 'other' } : {}),
          ...(wrong.symbol ? { symbol: 'MSFT' } : {}),
          ...(wrong.side ? { side: 'sell' as const } : {}),
          price: '100.00',
        });
        const fields = fillTermsBreaches(anOrder(), fill).map((b) => b.field);
        expect(fields).toEqual((['account', 'symbol', 'side'] as const).filter((field) => wrong[field]));
      }),
    );
  });
});
