import { Decimal as DecimalJs } from 'decimal.js';

/**
 * The one exact decimal type for money, prices and quantities. A JS number never carries either.
 *
 * Rounding rules, written down once:
 * - quantities carry at most 6 fractional digits (QUANTITY_SCALE); inputs with more are refused;
 * - prices carry at most 4 fractional digits (PRICE_SCALE);
 * - cash is rounded half-up to the cent (CASH_SCALE) wherever it is computed from a product,
 *   e.g. notional and commission; a sum of cents stays exact without rounding.
 * 40 significant digits hold 10^20 dollars to the micro-unit, far beyond any balance here, so
 * intermediate products are exact before the one rounding step.
 */
export const Decimal = DecimalJs.clone({
  precision: 40,
  rounding: DecimalJs.ROUND_HALF_UP,
  toExpNeg: -40,
  toExpPos: 40,
});
export type Decimal = DecimalJs;
export type DecimalInput = Decimal | string | bigint;

export const QUANTITY_SCALE = 6;
export const PRICE_SCALE = 4;
export const CASH_SCALE = 2;

export const ZERO = new Decimal(0);

export function dec(value: DecimalInput): Decimal {
  return new Decimal(typeof value === 'bigint' ? value.toString() : value);
}

/** Half-up to the cent. */
export function roundCash(value: Decimal): Decimal {
  return value.toDecimalPlaces(CASH_SCALE, Decimal.ROUND_HALF_UP);
}

/** Cash as it travels and is shown: always two decimals ("1000.00"). */
export function formatCash(value: Decimal): string {
  return roundCash(value).toFixed(CASH_SCALE);
}

/** Quantities as they travel: no trailing zeros ("10", "0.125"). */
export function formatQuantity(value: Decimal): string {
  return value.toDecimalPlaces(QUANTITY_SCALE).toFixed();
}

/** Number of digits after the point, ignoring trailing zeros ("1.50" has 1). */
export function fractionalDigits(value: Decimal): number {
  return value.decimalPlaces();
}

/** Strict syntax for decimals arriving from outside: no exponent, no sign games, no blanks. */
export const DECIMAL_PATTERN = /^-?(?:0|[1-9]\d{0,17})(?:\.\d{1,18})?$/;
