import { z } from 'zod';
import { DECIMAL_PATTERN, dec } from './decimal.ts';

export interface DecimalStringRules {
  /** How the value is named in messages ("quantity", "amount"). */
  name?: string;
  sign?: 'positive' | 'non-negative';
  maxFractionDigits?: number;
  max?: string;
  /** Shown in the OpenAPI document. */
  example?: string;
}

/**
 * A decimal that travels as a string ("187.25"): plain digits only (no exponent, no blanks, no JSON
 * number), checked in one pass that stops at the first failure, so that nothing ever parses a value
 * that is not a decimal.
 */
export function decimalString(rules: DecimalStringRules = {}) {
  const name = rules.name ?? 'value';
  return z
    .string({ error: `${name} must be a decimal string, e.g. "10" or "187.25"` })
    .superRefine((value, ctx) => {
      const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
      if (!DECIMAL_PATTERN.test(value)) return fail(`${name} must be a plain decimal string, e.g. "10" or "187.25"`);
      const number = dec(value);
      if (rules.sign === 'positive' && !number.gt(0)) return fail(`${name} must be positive`);
      if (rules.sign === 'non-negative' && number.lt(0)) return fail(`${name} must not be negative`);
      if (rules.maxFractionDigits !== undefined && number.decimalPlaces() > rules.maxFractionDigits) {
        return fail(`${name} has at most ${rules.maxFractionDigits} fractional digits`);
      }
      if (rules.max !== undefined && number.gt(rules.max)) return fail(`${name} is at most ${rules.max}`);
    })
    .meta({
      // Trailing zeros beyond the limit are accepted ("10.000000000" is 10), so the pattern allows 18.
      pattern: decimalPattern(18, rules.sign === undefined),
      example: rules.example ?? '187.25',
      description: [
        rules.sign === undefined ? 'a decimal string' : `a ${rules.sign} decimal string`,
        rules.maxFractionDigits === undefined ? '' : `at most ${rules.maxFractionDigits} fractional digits`,
        rules.max === undefined ? '' : `at most ${rules.max}`,
      ]
        .filter(Boolean)
        .join(', '),
    });
}

/** The OpenAPI pattern of a decimal string with at most `fractionDigits` decimals. */
export function decimalPattern(fractionDigits: number, signed = false): string {
  return `^${signed ? '-?' : ''}(?:0|[1-9]\\d{0,17})${fractionDigits > 0 ? `(?:\\.\\d{1,${fractionDigits}})?` : ''}$`;
}

/**
 * A decimal string as the API answers it: documented with its pattern and an example, so a
 * reader of the OpenAPI document sees "187.25", not just "string". Not checked on the way out.
 */
export function decimalOutput(example: string, fractionDigits = 18) {
  return z.string().meta({ pattern: decimalPattern(fractionDigits), example });
}
