import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalString } from './decimal.schemas.ts';

describe('decimalString', () => {
  const quantity = decimalString({ name: 'quantity', sign: 'positive', maxFractionDigits: 6, max: '10000000' });

  it.each([['10'], ['0.125'], ['10000000'], ['0.000001']])('accepts %s', (value) => {
    expect(quantity.safeParse(value).success).toBe(true);
  });

  it.each([
    ['', 'plain decimal'],
    ['1e3', 'plain decimal'],
    [' 1', 'plain decimal'],
    ['-1', 'positive'],
    ['0', 'positive'],
    ['0.0000001', 'at most 6 fractional digits'],
    ['10000000.5', 'at most 10000000'],
  ])('refuses %s with one message saying %s', (value, message) => {
    const result = quantity.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error!.issues).toHaveLength(1);
    expect(result.error!.issues[0]!.message).toContain(message);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(() => quantity.safeParse(value)).not.toThrow();
      }),
    );
  });
});
