import { dec } from '../../platform/decimal.ts';

/**
 * Whether a reported fill keeps the terms of the order it claims to fill. A broker that fills a buy
 * above its limit (or above the market order's collar), a sell below it, or on another account,
 * symbol or side has made a trade the customer never asked for: applying it would spend more than
 * the hold or move shares the order never covered. Such a fill is kept aside for an operator, never
 * applied. Pure: values in, values out.
 */

export interface OrderTerms {
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  /** The limit of a limit order, the collar of a market order: the price no fill may cross. */
  worstPrice: string;
}

export interface ReportedFill {
  account: string;
  symbol: string;
  side: 'buy' | 'sell';
  price: string;
}

export interface TermsBreach {
  field: 'account' | 'symbol' | 'side' | 'price';
  expected: string;
  actual: string;
}

export function fillTermsBreaches(terms: OrderTerms, fill: ReportedFill): TermsBreach[] {
  const breaches: TermsBreach[] = [];
  if (fill.account !== terms.accountId)
    breaches.push({ field: 'account', expected: terms.accountId, actual: fill.account });
  if (fill.symbol !== terms.symbol) breaches.push({ field: 'symbol', expected: terms.symbol, actual: fill.symbol });
  if (fill.side !== terms.side) breaches.push({ field: 'side', expected: terms.side, actual: fill.side });
  const price = dec(fill.price);
  const bound = dec(terms.worstPrice);
  // The bound is the order's: on a report whose side is wrong too, the order's side still decides.
  const crosses = terms.side === 'buy' ? price.gt(bound) : price.lt(bound);
  if (crosses) {
    breaches.push({
      field: 'price',
      expected: `${terms.side === 'buy' ? 'at most' : 'at least'} ${bound.toFixed()}`,
      actual: price.toFixed(),
    });
  }
  return breaches;
}

/** One line for the log, the alarm and the ops listing. */
export function describeBreaches(breaches: readonly TermsBreach[]): string {
  return breaches.map((b) => `${b.field} ${b.actual} (order: ${b.expected})`).join('; ');
}
