import { Decimal, ZERO, roundCash } from '../platform/decimal.ts';
import { LedgerError } from './ledger.errors.ts';
import {
  CASH_ASSET,
  COMMISSION_REVENUE,
  commissionOn,
  EXTERNAL,
  FIRM_PREFIX,
  OMNIBUS,
  priceFill,
  requiredHold,
  type OrderProgress,
} from './ledger.rules.ts';

/*
 * The pure core: given balances and a hold, each operation decides its postings and the hold's
 * next state, or refuses with a typed error. No I/O; the repository loads and stores the values.
 */

export type Side = 'buy' | 'sell';
export type Bucket = 'available' | 'held';
export type EntryKind = 'deposit' | 'withdrawal' | 'hold' | 'release' | 'fill' | 'reversal';

export interface Posting {
  accountId: string;
  asset: string;
  bucket: Bucket;
  amount: Decimal;
}

/** A customer's balance in one asset. total = available + held. */
export interface Balance {
  accountId: string;
  asset: string;
  available: Decimal;
  held: Decimal;
  /** Shares only: notional paid for the shares still owned, for the average cost. */
  costBasis: Decimal;
}

export interface HoldState {
  id: string;
  accountId: string;
  side: Side;
  symbol: string;
  /** USD for a buy, the symbol for a sell. */
  asset: string;
  orderQuantity: Decimal;
  worstPrice: Decimal;
  originalAmount: Decimal;
  amount: Decimal;
  progress: OrderProgress;
}

export interface FillInput {
  execId: string;
  quantity: Decimal;
  price: Decimal;
}

export interface FillOutcome {
  hold: HoldState;
  postings: Posting[];
  notional: Decimal;
  commission: Decimal;
  /** What left the hold: the fill's cost out of it plus what it no longer needs to keep. */
  holdReleased: Decimal;
  /** Shares only: the position's cost basis after the fill. */
  costBasis: Decimal;
}

export const isCustomer = (accountId: string) => !accountId.startsWith(FIRM_PREFIX);

export function holdAsset(side: Side, symbol: string): string {
  return side === 'buy' ? CASH_ASSET : symbol;
}

export function depositPostings(accountId: string, amount: Decimal): Posting[] {
  return nonZero([
    { accountId, asset: CASH_ASSET, bucket: 'available', amount },
    { accountId: EXTERNAL, asset: CASH_ASSET, bucket: 'available', amount: amount.negated() },
  ]);
}

export function withdrawalPostings(cash: Balance, amount: Decimal): Posting[] {
  if (cash.available.lt(amount)) {
    throw new LedgerError('INSUFFICIENT_FUNDS', 'withdrawal exceeds the available cash', {
      available: cash.available.toFixed(2),
      requested: amount.toFixed(2),
    });
  }
  return depositPostings(cash.accountId, amount.negated());
}

export function holdPostings(balance: Balance, side: Side, amount: Decimal): Posting[] {
  if (balance.available.lt(amount)) {
    throw side === 'buy'
      ? new LedgerError('INSUFFICIENT_BUYING_POWER', 'not enough available cash for the order', {
          available: balance.available.toFixed(2),
          required: amount.toFixed(2),
        })
      : new LedgerError('INSUFFICIENT_POSITION', 'not enough available shares for the order', {
          symbol: balance.asset,
          available: balance.available.toFixed(),
          required: amount.toFixed(),
        });
  }
  return moveWithin(balance.accountId, balance.asset, 'available', 'held', amount);
}

export function releasePostings(hold: HoldState, amount: Decimal): { hold: HoldState; postings: Posting[] } {
  if (amount.gt(hold.amount)) {
    throw new LedgerError('RELEASE_EXCEEDS_HOLD', 'release exceeds what the hold still has', {
      holdId: hold.id,
      held: hold.amount.toFixed(),
      requested: amount.toFixed(),
    });
  }
  return {
    hold: { ...hold, amount: hold.amount.minus(amount) },
    postings: moveWithin(hold.accountId, hold.asset, 'held', 'available', amount),
  };
}

/**
 * Settles one fill against its order's hold. The hold pays the fill's cost and keeps only the
 * worst case of what is left; a fill the hold cannot pay (priced above the worst price, or after
 * a release) takes the shortfall from available, and is refused when that is not enough.
 */
export function settleFillPostings(
  hold: HoldState,
  cash: Balance,
  shares: Balance,
  fill: FillInput,
  bps: Decimal,
): FillOutcome {
  const pricing = priceFill(hold.progress, fill.quantity, fill.price, bps);
  if (pricing.progress.filledQuantity.gt(hold.orderQuantity)) {
    throw new LedgerError('FILL_EXCEEDS_ORDER', 'fill would take the order beyond its quantity', {
      holdId: hold.id,
      execId: fill.execId,
      orderQuantity: hold.orderQuantity.toFixed(),
      filledQuantity: hold.progress.filledQuantity.toFixed(),
      quantity: fill.quantity.toFixed(),
    });
  }
  const { notional, commission } = pricing;
  // The fill's cost in the hold's asset: cash for a buy, shares for a sell.
  const cost = hold.side === 'buy' ? notional.plus(commission) : fill.quantity;
  const required = requiredHold(hold.side, hold.orderQuantity, hold.worstPrice, pricing.progress, bps);
  const held = hold.side === 'buy' ? cash : shares;
  let remaining: Decimal;
  if (hold.amount.gte(cost)) {
    remaining = Decimal.min(hold.amount.minus(cost), required);
  } else {
    remaining = ZERO;
    const shortfall = cost.minus(hold.amount);
    if (held.available.lt(shortfall)) {
      throw new LedgerError('FILL_EXCEEDS_HOLD', 'fill costs more than the hold and the available balance cover', {
        holdId: hold.id,
        execId: fill.execId,
        shortfall: shortfall.toFixed(),
        available: held.available.toFixed(),
      });
    }
  }
  const released = hold.amount.minus(remaining);
  const customer = hold.accountId;
  const postings: Posting[] =
    hold.side === 'buy'
      ? [
          { accountId: customer, asset: CASH_ASSET, bucket: 'held', amount: released.negated() },
          { accountId: customer, asset: CASH_ASSET, bucket: 'available', amount: released.minus(cost) },
          { accountId: customer, asset: hold.symbol, bucket: 'available', amount: fill.quantity },
          { accountId: OMNIBUS, asset: CASH_ASSET, bucket: 'available', amount: notional },
          { accountId: OMNIBUS, asset: hold.symbol, bucket: 'available', amount: fill.quantity.negated() },
          { accountId: COMMISSION_REVENUE, asset: CASH_ASSET, bucket: 'available', amount: commission },
        ]
      : [
          { accountId: customer, asset: hold.symbol, bucket: 'held', amount: released.negated() },
          { accountId: customer, asset: hold.symbol, bucket: 'available', amount: released.minus(cost) },
          { accountId: customer, asset: CASH_ASSET, bucket: 'available', amount: notional.minus(commission) },
          { accountId: OMNIBUS, asset: hold.symbol, bucket: 'available', amount: fill.quantity },
          { accountId: OMNIBUS, asset: CASH_ASSET, bucket: 'available', amount: notional.negated() },
          { accountId: COMMISSION_REVENUE, asset: CASH_ASSET, bucket: 'available', amount: commission },
        ];
  return {
    hold: { ...hold, amount: remaining, progress: pricing.progress },
    postings: nonZero(postings),
    notional,
    commission,
    holdReleased: released,
    costBasis: hold.side === 'buy' ? shares.costBasis.plus(notional) : costBasisAfterSale(shares, fill.quantity),
  };
}

export interface ReversalOutcome {
  hold: HoldState;
  postings: Posting[];
  /** What the order's cumulative figures lost: the fill's share of them, to the cent. */
  quantity: Decimal;
  gross: Decimal;
  notional: Decimal;
  commission: Decimal;
  costBasis: Decimal;
}

/**
 * Takes one settled fill back (a broker's bust, or the first half of a correct): the opposite of what
 * the fill moved, in a new entry. A buy gives the customer back its cash (notional and commission)
 * and takes the shares; a sell gives the shares back and takes the cash. The order's figures are
 * cumulative (ledger.rules.ts), so what is taken back is what brings them to the cost of the fills
 * that remain: a lone fill's exact notional and commission, and never a cent of drift against the
 * broker's per-order rounding. On a live order the hold takes back what the order may fill again,
 * as far as available allows (`live`). The customer's available may go below zero: the caller flags it.
 */
export function reverseFillPostings(
  hold: HoldState,
  cash: Balance,
  shares: Balance,
  fill: { quantity: Decimal; price: Decimal },
  bps: Decimal,
  options: { live: boolean },
): ReversalOutcome {
  const before = hold.progress;
  const fillGross = fill.quantity.times(fill.price);
  const gross = Decimal.max(ZERO, before.gross.minus(fillGross));
  const filledQuantity = Decimal.max(ZERO, before.filledQuantity.minus(fill.quantity));
  const remainingNotional = roundCash(gross);
  const remaining = {
    filledQuantity,
    gross,
    notional: remainingNotional,
    commission: commissionOn(remainingNotional, bps),
  };
  const notional = before.notional.minus(remaining.notional);
  const commission = before.commission.minus(remaining.commission);
  const customer = hold.accountId;
  const postings: Posting[] =
    hold.side === 'buy'
      ? [
          { accountId: customer, asset: CASH_ASSET, bucket: 'available', amount: notional.plus(commission) },
          { accountId: customer, asset: hold.symbol, bucket: 'available', amount: fill.quantity.negated() },
          { accountId: OMNIBUS, asset: CASH_ASSET, bucket: 'available', amount: notional.negated() },
          { accountId: OMNIBUS, asset: hold.symbol, bucket: 'available', amount: fill.quantity },
          { accountId: COMMISSION_REVENUE, asset: CASH_ASSET, bucket: 'available', amount: commission.negated() },
        ]
      : [
          { accountId: customer, asset: hold.symbol, bucket: 'available', amount: fill.quantity },
          { accountId: customer, asset: CASH_ASSET, bucket: 'available', amount: commission.minus(notional) },
          { accountId: OMNIBUS, asset: hold.symbol, bucket: 'available', amount: fill.quantity.negated() },
          { accountId: OMNIBUS, asset: CASH_ASSET, bucket: 'available', amount: notional },
          { accountId: COMMISSION_REVENUE, asset: CASH_ASSET, bucket: 'available', amount: commission.negated() },
        ];
  let amount = hold.amount;
  if (options.live) {
    const held = hold.side === 'buy' ? cash : shares;
    const returned = hold.side === 'buy' ? notional.plus(commission) : fill.quantity;
    const required = requiredHold(hold.side, hold.orderQuantity, hold.worstPrice, remaining, bps);
    const extra = Decimal.min(
      Decimal.max(ZERO, required.minus(hold.amount)),
      Decimal.max(ZERO, held.available.plus(returned)),
      Decimal.max(ZERO, hold.originalAmount.minus(hold.amount)),
    );
    if (extra.gt(0)) {
      postings.push(...moveWithin(customer, hold.asset, 'available', 'held', extra));
      amount = hold.amount.plus(extra);
    }
  }
  return {
    hold: { ...hold, amount, progress: remaining },
    postings: nonZero(postings),
    quantity: fill.quantity,
    gross: before.gross.minus(gross),
    notional,
    commission,
    costBasis:
      hold.side === 'buy'
        ? costBasisAfterBustedBuy(shares, fill.quantity, notional)
        : costBasisAfterBustedSale(shares, fill),
  };
}

/** The shares bought go, with what they cost; nothing is left of the basis when no shares are. */
function costBasisAfterBustedBuy(shares: Balance, quantity: Decimal, notional: Decimal): Decimal {
  const left = shares.available.plus(shares.held).minus(quantity);
  if (left.lte(0)) return ZERO;
  return Decimal.max(ZERO, shares.costBasis.minus(notional));
}

/** The shares sold come back at the position's average cost (at the sale's price when none is left). */
function costBasisAfterBustedSale(shares: Balance, fill: { quantity: Decimal; price: Decimal }): Decimal {
  const owned = shares.available.plus(shares.held);
  if (owned.lte(0)) return owned.plus(fill.quantity).gt(0) ? fill.quantity.times(fill.price) : ZERO;
  return shares.costBasis.times(owned.plus(fill.quantity)).dividedBy(owned).toDecimalPlaces(10, Decimal.ROUND_HALF_UP);
}

/** Average-cost method: selling keeps the average, so the basis shrinks in proportion to the shares sold. */
function costBasisAfterSale(shares: Balance, sold: Decimal): Decimal {
  const owned = shares.available.plus(shares.held);
  const left = owned.minus(sold);
  if (left.lte(0) || owned.lte(0)) return ZERO;
  return shares.costBasis.times(left).dividedBy(owned).toDecimalPlaces(10, Decimal.ROUND_HALF_UP);
}

/**
 * Applies postings to customer balances, refusing (as a bug) anything that takes a balance below zero.
 * Only a reversal may (`allowNegative`: a bust of shares already sold), and its caller flags it; a
 * posting that adds to a flagged negative balance is always allowed, since it makes it good.
 */
export function applyPostings(
  balanceOf: (accountId: string, asset: string) => Balance,
  postings: readonly Posting[],
  options: { allowNegative?: boolean } = {},
): void {
  for (const posting of postings) {
    if (!isCustomer(posting.accountId)) continue;
    const balance = balanceOf(posting.accountId, posting.asset);
    const next = balance[posting.bucket].plus(posting.amount);
    if (next.lt(0) && posting.amount.lt(0) && !options.allowNegative) {
      throw new Error(
        `ledger bug: ${posting.accountId} ${posting.asset} ${posting.bucket} would become ${next.toFixed()}`,
      );
    }
    balance[posting.bucket] = next;
  }
}

function moveWithin(accountId: string, asset: string, from: Bucket, to: Bucket, amount: Decimal): Posting[] {
  return nonZero([
    { accountId, asset, bucket: from, amount: amount.negated() },
    { accountId, asset, bucket: to, amount },
  ]);
}

function nonZero(postings: Posting[]): Posting[] {
  return postings.filter((posting) => !posting.amount.isZero());
}

/** Σ amount per asset; an entry balances when every value is zero. */
export function sumsByAsset(postings: readonly Posting[]): Map<string, Decimal> {
  const sums = new Map<string, Decimal>();
  for (const { asset, amount } of postings) sums.set(asset, (sums.get(asset) ?? ZERO).plus(amount));
  return sums;
}
