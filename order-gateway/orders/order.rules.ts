import { createHash } from 'node:crypto';
import { Decimal, dec } from '../../platform/decimal.ts';
import { OrderError } from './order.errors.ts';
import type { PlaceOrderRequest } from './order.schemas.ts';

/**
 * Business rules of an order request that a schema cannot say. Pure: values in, values (or a typed
 * error) out.
 */

/** Market orders are protected: a buy never fills above last × (1 + 5%), a sell never below last × (1 − 5%). */
export const MARKET_COLLAR = dec('0.05');

/** Price tick of US equities (SEC Rule 612): cents at or above $1.00, hundredths of a cent below. */
export function priceDecimalsAllowed(price: Decimal): number {
  return price.gte(1) ? 2 : 4;
}

export function checkOrderRules(request: PlaceOrderRequest): void {
  const quantity = dec(request.quantity);
  if (!quantity.isInteger() && !(request.type === 'market' && request.timeInForce === 'day')) {
    throw new OrderError('FRACTIONAL_NOT_ALLOWED', 'fractional quantities are accepted only for market day orders', {
      quantity: request.quantity,
      type: request.type,
      timeInForce: request.timeInForce,
    });
  }
  if (request.limitPrice !== undefined) {
    const price = dec(request.limitPrice);
    const allowed = priceDecimalsAllowed(price);
    if (price.decimalPlaces() > allowed) {
      throw new OrderError(
        'INVALID_PRICE_INCREMENT',
        `a limit price ${price.gte(1) ? 'at or above' : 'below'} 1.00 has at most ${allowed} decimals`,
        { limitPrice: request.limitPrice },
      );
    }
  }
  // As at US brokers: outside the regular session only limit day orders may trade.
  if (request.extendedHours && !(request.type === 'limit' && request.timeInForce === 'day')) {
    throw new OrderError(
      'EXTENDED_HOURS_NOT_ALLOWED',
      'extended-hours orders must be limit orders with timeInForce day',
      {
        type: request.type,
        timeInForce: request.timeInForce,
      },
    );
  }
}

/**
 * The price the hold is computed at and, for a market order, the protection sent to the broker:
 * the limit for a limit order; last price ± the collar for a market order, rounded to a valid tick
 * away from the customer's favour for buys (up) and towards it for sells (down).
 */
export function worstPrice(
  request: Pick<PlaceOrderRequest, 'type' | 'side' | 'limitPrice'>,
  lastPrice: Decimal,
): Decimal {
  if (request.type === 'limit') return dec(request.limitPrice!);
  const collared =
    request.side === 'buy'
      ? lastPrice.times(dec('1').plus(MARKET_COLLAR))
      : lastPrice.times(dec('1').minus(MARKET_COLLAR));
  const decimals = priceDecimalsAllowed(collared);
  const rounded = collared.toDecimalPlaces(decimals, request.side === 'buy' ? Decimal.ROUND_UP : Decimal.ROUND_DOWN);
  // A sub-penny sell collar must stay a positive price.
  return rounded.gt(0) ? rounded : dec('0.0001');
}

/**
 * Fingerprint of what the client asked for, after defaults and number normalisation, so that
 * "10" and "10.0" are the same request and a changed field is a different one.
 */
export function requestFingerprint(request: PlaceOrderRequest): string {
  const canonical = [
    request.symbol,
    request.side,
    request.type,
    dec(request.quantity).toFixed(),
    request.limitPrice === undefined ? '' : dec(request.limitPrice).toFixed(),
    request.timeInForce,
    String(request.extendedHours),
  ].join('|');
  return createHash('sha256').update(canonical).digest('base64url');
}
