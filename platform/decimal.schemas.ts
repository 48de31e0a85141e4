import { z } from 'zod';
import { DECIMAL_PATTERN, dec } from './decimal.ts';

export interface DecimalStringRules {
  /** How the value is named in messages ("quantity", "amount"). */
  name?: string;
  sign?: 'positive' | 'non-negative';
  maxFractionDigits?: number;
  max?: string;
}

/**
 * A decimal that travels as a string ("187.25"): plain digits only (no exponent, no blanks, no JSON
 * number), checked in one pass that stops at the first failure, so that nothing ever parses a value
 * that is not a decimal.
 */
export function decimalString(rules: DecimalStringRules = {}) {
  const name = rules.name ?? 'value';
  return z.string({ error: `${name} must be a decimal string, e.g. "10" or "187.25"` }).superRefine((value, ctx) => {
    const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
    if (!DECIMAL_PATTERN.test(value)) return fail(`${name} must be a plain decimal string, e.g. "10" or "187.25"`);
    const number = dec(value);
    if (rules.sign === 'positive' && !number.gt(0)) return fail(`${name} must be positive`);
    if (rules.sign === 'non-negative' && number.lt(0)) return fail(`${name} must not be negative`);
    if (rules.maxFractionDigits !== undefined && number.decimalPlaces() > rules.maxFractionDigits) {
      return fail(`${name} has at most ${rules.maxFractionDigits} fractional digits`);
    }
    if (rules.max !== undefined && number.gt(rules.max)) return fail(`${name} is at most ${rules.max}`);
  });
}
