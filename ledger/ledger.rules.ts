import { CASH_SCALE, Decimal, PRICE_SCALE, QUANTITY_SCALE, ZERO, roundCash } from '../platform/decimal.ts';
import { LedgerError } from './ledger.errors.ts';

/*
 * Every rounding and reservation rule of the ledger, written down once.
 *
 * - Quantities carry at most 6 decimals, prices at most 4, cash amounts at most 2.
 * - notional = round_half_up_cent(quantity × price); commission = round_half_up_cent(notional × bps / 10000).
 * - An order's fills are priced cumulatively: fill k's notional is round(gross after k) − round(gross
 *   before k), where gross is the exact Σ quantity × price, and its commission is
 *   commission(notional after k) − commission(notional before k). Rounding each fill on its own can
 *   add up to more than the hold (many partial fills, each rounded up), and a customer who had
 *   exactly enough would go negative; cumulative rounding makes the order's total cost exactly
 *   what one fill of the whole would cost, which never exceeds the hold at the worst price. A
 *   single-fill order gets exactly round(bps × notional).
 * - A buy hold is cost(quantity × worstPrice) where cost(g) = round(g) + commission(round(g)).
 * - After each fill the hold keeps exactly the worst case of what is left,
 *   cost(gross + leaves × worstPrice) − cost(gross), and releases the rest; it never keeps more
 *   than it had. A sell hold is the shares: it keeps the leaves quantity.
 */

export const BPS_PER_UNIT = 10_000;
const MAX_CASH = new Decimal('1e15');
const MAX_QUANTITY = new Decimal('1e12');
const MAX_PRICE = new Decimal('1e9');
const SYMBOL = /^[A-Z][A-Z0-9.]{0,9}$/;
const IDENTIFIER = /^[\x21-\x7e]{1,128}$/;
export const CASH_ASSET = 'USD';

export function commissionOn(notional: Decimal, bps: Decimal): Decimal {
  return roundCash(notional.times(bps).dividedBy(BPS_PER_UNIT));
}

/** What a gross (exact Σ quantity × price) costs a buyer, commission included. */
export function costOf(gross: Decimal, bps: Decimal): Decimal {
  const notional = roundCash(gross);
  return notional.plus(commissionOn(notional, bps));
}

export function buyHoldAmount(quantity: Decimal, worstPrice: Decimal, commissionBps: number): Decimal {
  return costOf(quantity.times(worstPrice), bpsOf(commissionBps));
}

export interface OrderProgress {
  filledQuantity: Decimal;
  /** Exact Σ quantity × price of the fills so far. */
  gross: Decimal;
  /** round(gross): the order's notional so far, to the cent. */
  notional: Decimal;
  /** commission(notional): the order's commission so far, to the cent. */
  commission: Decimal;
}

export const NO_PROGRESS: OrderProgress = { filledQuantity: ZERO, gross: ZERO, notional: ZERO, commission: ZERO };

export interface FillPricing {
  progress: OrderProgress;
  notional: Decimal;
  commission: Decimal;
}

export function priceFill(before: OrderProgress, quantity: Decimal, price: Decimal, bps: Decimal): FillPricing {
  const gross = before.gross.plus(quantity.times(price));
  const notional = roundCash(gross);
  const commission = commissionOn(notional, bps);
  return {
    progress: { filledQuantity: before.filledQuantity.plus(quantity), gross, notional, commission },
    notional: notional.minus(before.notional),
    commission: commission.minus(before.commission),
  };
}

/** What a hold must still cover after `progress`: the worst case of the rest of the order. */
export function requiredHold(
  side: 'buy' | 'sell',
  orderQuantity: Decimal,
  worstPrice: Decimal,
  progress: OrderProgress,
  bps: Decimal,
): Decimal {
  const leaves = orderQuantity.minus(progress.filledQuantity);
  if (side === 'sell') return leaves;
  return costOf(progress.gross.plus(leaves.times(worstPrice)), bps).minus(costOf(progress.gross, bps));
}

// ---- input rules: each refusal is a typed error, raised before anything is written ----

export function bpsOf(commissionBps: number): Decimal {
  if (!Number.isFinite(commissionBps) || commissionBps < 0 || commissionBps > BPS_PER_UNIT) {
    throw new RangeError(`commissionBps must be between 0 and ${BPS_PER_UNIT}, got ${commissionBps}`);
  }
  const bps = new Decimal(String(commissionBps));
  if (bps.decimalPlaces() > 4) throw new RangeError(`commissionBps has more than 4 decimals: ${commissionBps}`);
  return bps;
}

function positiveDecimal(
  value: unknown,
  scale: number,
  max: Decimal,
  code: 'INVALID_AMOUNT' | 'INVALID_QUANTITY' | 'INVALID_PRICE',
  field: string,
): Decimal {
  if (!Decimal.isDecimal(value)) throw new LedgerError(code, `${field} must be a decimal`, { field });
  const decimal = new Decimal(value);
  if (!decimal.isFinite() || decimal.lte(0))
    throw new LedgerError(code, `${field} must be positive`, { field, value: decimal.toString() });
  if (decimal.decimalPlaces() > scale) {
    throw new LedgerError(code, `${field} has more than ${scale} decimals`, { field, value: decimal.toFixed() });
  }
  if (decimal.gt(max)) throw new LedgerError(code, `${field} is too large`, { field, value: decimal.toFixed() });
  return decimal;
}

export const checkCash = (value: unknown, field = 'amount') =>
  positiveDecimal(value, CASH_SCALE, MAX_CASH, 'INVALID_AMOUNT', field);
export const checkQuantity = (value: unknown, field = 'quantity') =>
  positiveDecimal(value, QUANTITY_SCALE, MAX_QUANTITY, 'INVALID_QUANTITY', field);
export const checkPrice = (value: unknown, field = 'price') =>
  positiveDecimal(value, PRICE_SCALE, MAX_PRICE, 'INVALID_PRICE', field);

/** Release amounts are in the hold's asset: cents for a buy, shares for a sell. */
export function checkReleaseAmount(value: unknown, side: 'buy' | 'sell'): Decimal {
  return side === 'buy' ? checkCash(value) : checkQuantity(value, 'amount');
}

export function checkSymbol(value: unknown): string {
  if (typeof value !== 'string' || !SYMBOL.test(value) || value === CASH_ASSET) {
    throw new LedgerError('INVALID_SYMBOL', 'symbol must be 1-10 of A-Z, 0-9 and "." starting with a letter', {
      value: String(value),
    });
  }
  return value;
}

export function checkIdentifier(
  value: unknown,
  field: string,
  code: 'INVALID_ACCOUNT_ID' | 'INVALID_REFERENCE' | 'INVALID_FILL' = 'INVALID_REFERENCE',
): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new LedgerError(code, `${field} must be 1-128 printable characters without spaces`, { field });
  }
  return value;
}

export function checkAccountId(value: unknown): string {
  const id = checkIdentifier(value, 'accountId', 'INVALID_ACCOUNT_ID');
  if (id.startsWith(FIRM_PREFIX))
    throw new LedgerError('INVALID_ACCOUNT_ID', `account ids starting with "${FIRM_PREFIX}" are the firm's`, {
      accountId: id,
    });
  return id;
}

export function checkSide(value: unknown): 'buy' | 'sell' {
  if (value !== 'buy' && value !== 'sell')
    throw new LedgerError('INVALID_FILL', 'side must be "buy" or "sell"', { value: String(value) });
  return value;
}

export function checkDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new LedgerError('INVALID_FILL', `${field} must be a valid Date`, { field });
  return value;
}

/** The firm's counter-accounts: the other side of every customer movement. */
export const FIRM_PREFIX = 'firm:';
export const OMNIBUS = 'firm:omnibus';
export const COMMISSION_REVENUE = 'firm:commission';
export const EXTERNAL = 'firm:external';
