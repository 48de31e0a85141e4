import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec, formatCash, formatQuantity, roundCash } from './decimal.ts';

describe('decimal rounding rules', () => {
  it.each([
    ['0.005', '0.01'],
    ['0.004999', '0.00'],
    ['1.125', '1.13'],
    ['1.135', '1.14'],
    ['187.2449', '187.24'],
    ['-0.005', '-0.01'],
  ])('rounds cash %s half-up to the cent: %s', (input, expected) => {
    expect(formatCash(dec(input))).toBe(expected);
  });

  it('formats quantities without trailing zeros', () => {
    expect(formatQuantity(dec('10.000000'))).toBe('10');
    expect(formatQuantity(dec('0.125'))).toBe('0.125');
  });

  it('is exact where binary floating point is not', () => {
    expect(dec('0.1').plus('0.2').toFixed()).toBe('0.3');
    expect(dec('187.25').times('3').toFixed()).toBe('561.75');
  });

  it('sums of cents never drift, however many', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), { maxLength: 200 }), (cents) => {
        const viaDecimal = cents.reduce((sum, c) => sum.plus(dec(c).dividedBy(100)), dec('0'));
        const viaBigint = cents.reduce((sum, c) => sum + c, 0n);
        expect(viaDecimal.times(100).toFixed()).toBe(viaBigint.toString());
      }),
    );
  });

  it('rounding to the cent moves a value by at most half a cent', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (micro) => {
        const value = dec(micro).dividedBy(1_000_000);
        expect(roundCash(value).minus(value).abs().lte('0.005')).toBe(true);
      }),
    );
  });
});
