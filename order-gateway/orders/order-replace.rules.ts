import { createHash } from 'node:crypto';
import { dec, formatQuantity } from '../../platform/decimal.ts';
import { FINAL_STATUSES, type OrderStatus } from './order.machine.ts';
import type { OrderErrorCode } from './order.errors.ts';
import type { ReplaceOrderRequest } from './order.schemas.ts';

/**
 * The rules of a replace (PATCH /v1/orders/{id}) that a schema cannot say. Pure: values in, values out.
 * FIX cancel/replace semantics: the new quantity is the order's total, fills so far included.
 */

export interface ReplaceTerms {
  quantity: string;
  limitPrice: string;
  timeInForce: 'day' | 'gtc' | 'ioc';
}

interface OrderUnderReplace {
  status: OrderStatus;
  type: 'market' | 'limit';
  quantity: string;
  limit_price: string | null;
  time_in_force: 'day' | 'gtc' | 'ioc';
  filled_quantity: string;
}

/** The order's terms after the replace: what the request names, the order's own for the rest. */
export function replacementTerms(order: OrderUnderReplace, request: ReplaceOrderRequest): ReplaceTerms {
  return {
    quantity: formatQuantity(dec(request.quantity ?? order.quantity)),
    // A market order is refused before its terms matter (replaceRefusal); its limit stays empty.
    limitPrice: dec(request.limitPrice ?? order.limit_price ?? '0').toFixed(),
    timeInForce: request.timeInForce ?? order.time_in_force,
  };
}

/** "10" and "10.0" are one replace; any changed term is another. */
export function replaceFingerprint(terms: ReplaceTerms): string {
  const canonical = ['replace', dec(terms.quantity).toFixed(), dec(terms.limitPrice).toFixed(), terms.timeInForce];
  return createHash('sha256').update(canonical.join('|')).digest('base64url');
}

/**
 * Why the order cannot be replaced as asked, or null. An order still `pending_new` passes here: it
 * can be replaced only if it never left, which the caller decides under the submit's lock.
 */
export function replaceRefusal(
  order: OrderUnderReplace,
  terms: ReplaceTerms,
): { code: Extract<OrderErrorCode, 'ORDER_NOT_REPLACEABLE' | 'QUANTITY_BELOW_FILLED'>; message: string } | null {
  if (FINAL_STATUSES.includes(order.status)) {
    return { code: 'ORDER_NOT_REPLACEABLE', message: `the order is ${order.status}` };
  }
  if (order.type === 'market') return { code: 'ORDER_NOT_REPLACEABLE', message: 'a market order cannot be replaced' };
  if (order.status === 'pending_cancel') {
    return { code: 'ORDER_NOT_REPLACEABLE', message: 'a cancel of the order is pending' };
  }
  if (order.status === 'pending_replace') {
    return { code: 'ORDER_NOT_REPLACEABLE', message: 'a replace of the order is already pending' };
  }
  if (dec(terms.quantity).lte(order.filled_quantity)) {
    return {
      code: 'QUANTITY_BELOW_FILLED',
      message: `the new total ${terms.quantity} leaves nothing to trade after ${formatQuantity(dec(order.filled_quantity))} filled`,
    };
  }
  return null;
}
