import { describe, expect, it } from 'vitest';
import { dec } from '../../platform/index.ts';
import fc from 'fast-check';
import { compareBalances, ledgerAsOf, runStatus, sumAcrossBrokers, withBrokerShares } from './reconciliation.rules.ts';

const balances = (overrides: Partial<Parameters<typeof compareBalances>[0]> = {}) => ({
  brokerPositions: [{ symbol: 'AAPL', quantity: '3' }],
  customerShares: { AAPL: dec('3') },
  // The broker bought 3 AAPL for 561.75: its cash is −561.75; the ledger's omnibus took +561.75.
  brokerCash: '-561.75',
  ledgerOmnibusCash: dec('561.75'),
  ...overrides,
});

describe('the balance identities', () => {
  it('given the broker and the ledger agree, when compared, then there is no break', () => {
    expect(compareBalances(balances())).toEqual({ breaks: [], positionsChecked: 1 });
  });

  it('given the ledger lacks a fill, when compared, then the position and the cash break', () => {
    const result = compareBalances(balances({ customerShares: {}, ledgerOmnibusCash: dec('0') }));
    expect(result.breaks).toEqual([
      { kind: 'POSITION_MISMATCH', symbol: 'AAPL', expected: '3', actual: '0' },
      { kind: 'CASH_MISMATCH', symbol: null, expected: '-561.75', actual: '0.00' },
    ]);
  });

  it('given a cent of difference, when compared, then the cash breaks', () => {
    expect(compareBalances(balances({ ledgerOmnibusCash: dec('561.76') })).breaks).toEqual([
      { kind: 'CASH_MISMATCH', symbol: null, expected: '-561.75', actual: '-561.76' },
    ]);
  });

  it('given shares we hold that the broker does not, when compared, then that symbol breaks too', () => {
    const result = compareBalances(balances({ customerShares: { AAPL: dec('3'), MSFT: dec('0.5') } }));
    expect(result).toEqual({
      breaks: [{ kind: 'POSITION_MISMATCH', symbol: 'MSFT', expected: '0', actual: '0.5' }],
      positionsChecked: 2,
    });
  });

  it('given a flat account on both sides, when compared, then a zero balance matches a missing row', () => {
    expect(
      compareBalances(
        balances({
          brokerPositions: [],
          customerShares: { AAPL: dec('0') },
          brokerCash: '0',
          ledgerOmnibusCash: dec('0'),
        }),
      ).breaks,
    ).toEqual([]);
  });
});

describe('the run status', () => {
  it('is clean with nothing found, repaired when all found were fixed, breaks while one is open', () => {
    expect(runStatus(0, 0)).toBe('clean');
    expect(runStatus(4, 0)).toBe('repaired');
    expect(runStatus(4, 1)).toBe('breaks');
    expect(runStatus(0, 1)).toBe('breaks');
  });
});

describe('the ledger as of a past date', () => {
  it('given fills after the date, when taken back out, then the balances are those of the date', () => {
    const asOf = ledgerAsOf({ customerShares: { AAPL: dec('5'), MSFT: dec('1') }, omnibusCash: dec('900.50') }, [
      { symbol: 'AAPL', shares: '2', omnibusCash: '374.50' },
      { symbol: 'MSFT', shares: '-1', omnibusCash: '-410.00' },
      { symbol: 'NVDA', shares: '3', omnibusCash: '540.00' },
    ]);
    expect(Object.fromEntries(Object.entries(asOf.customerShares).map(([s, q]) => [s, q.toFixed()]))).toEqual({
      AAPL: '3',
      MSFT: '2',
      NVDA: '-3',
    });
    expect(asOf.omnibusCash.toFixed(2)).toBe('396.00');
  });

  it('given no later fills, when taken back out, then nothing changes', () => {
    const now = { customerShares: { AAPL: dec('5') }, omnibusCash: dec('1.00') };
    expect(ledgerAsOf(now, [])).toEqual(now);
  });
});

describe('several brokers', () => {
  const primary = { broker: 'primary', positions: [{ symbol: 'AAPL', quantity: '5' }], cash: '-935.00' };
  const secondary = { broker: 'secondary', positions: [{ symbol: 'AAPL', quantity: '-2' }], cash: '376.40' };

  it('given an account that bought at one broker and sold at another, when summed, then there is no break', () => {
    const omnibus = sumAcrossBrokers([primary, secondary]);
    expect(omnibus).toEqual({ positions: [{ symbol: 'AAPL', quantity: '3' }], cash: '-558.60' });
    const result = compareBalances({
      brokerPositions: omnibus.positions,
      customerShares: { AAPL: dec('3') },
      brokerCash: omnibus.cash,
      ledgerOmnibusCash: dec('558.60'),
    });
    expect(result.breaks).toEqual([]);
    // Either broker alone would break.
    expect(
      compareBalances({ ...balances(), brokerPositions: primary.positions, customerShares: { AAPL: dec('3') } }).breaks,
    ).not.toEqual([]);
  });

  it("given a break of the sum, then each broker's share is shown beside it, and nothing is added for one broker", () => {
    const breaks = [
      { kind: 'POSITION_MISMATCH' as const, symbol: 'AAPL', expected: '3', actual: '4' },
      { kind: 'CASH_MISMATCH' as const, symbol: null, expected: '-558.60', actual: '-600.00' },
    ];
    expect(withBrokerShares(breaks, [primary, secondary]).map((b) => b.expected)).toEqual([
      '3 (primary 5, secondary -2)',
      '-558.60 (primary -935.00, secondary 376.40)',
    ]);
    expect(withBrokerShares(breaks, [primary])).toEqual(breaks);
  });

  it('property: the sum does not depend on how the trades are spread over the brokers', () => {
    const move = fc.record({
      broker: fc.integer({ min: 0, max: 2 }),
      symbol: fc.constantFrom('AAPL', 'MSFT'),
      quantity: fc.integer({ min: -1_000_000, max: 1_000_000 }),
      cents: fc.integer({ min: -10_000_000, max: 10_000_000 }),
    });
    fc.assert(
      fc.property(fc.array(move, { maxLength: 30 }), (moves) => {
        const spread = [0, 1, 2].map((i) => ({
          broker: `b${i}`,
          positions: ['AAPL', 'MSFT'].map((symbol) => ({
            symbol,
            quantity: String(
              moves.filter((m) => m.broker === i && m.symbol === symbol).reduce((n, m) => n + m.quantity, 0) / 1000,
            ),
          })),
          cash: (moves.filter((m) => m.broker === i).reduce((n, m) => n + m.cents, 0) / 100).toFixed(2),
        }));
        const atOne = [
          {
            broker: 'one',
            positions: ['AAPL', 'MSFT'].map((symbol) => ({
              symbol,
              quantity: String(moves.filter((m) => m.symbol === symbol).reduce((n, m) => n + m.quantity, 0) / 1000),
            })),
            cash: (moves.reduce((n, m) => n + m.cents, 0) / 100).toFixed(2),
          },
        ];
        expect(sumAcrossBrokers(spread)).toEqual(sumAcrossBrokers(atOne));
      }),
    );
  });
});
