import { DomainError } from '../../platform/index.ts';

/** The order codes of docs/api.md, each with its HTTP status. */
export const ORDER_ERRORS = {
  FRACTIONAL_NOT_ALLOWED: 422,
  INVALID_PRICE_INCREMENT: 422,
  UNKNOWN_SYMBOL: 422,
  SYMBOL_NOT_TRADABLE: 422,
  EXTENDED_HOURS_NOT_ALLOWED: 422,
  TOO_MANY_OPEN_ORDERS: 422,
  IDEMPOTENCY_CONFLICT: 409,
  ORDER_NOT_CANCELABLE: 409,
  ORDER_NOT_REPLACEABLE: 409,
  QUANTITY_BELOW_FILLED: 422,
  ORDER_NOT_FOUND: 404,
} as const;

export type OrderErrorCode = keyof typeof ORDER_ERRORS;

export class OrderError extends DomainError {
  constructor(code: OrderErrorCode, message: string, details?: unknown) {
    super(code, message, { httpStatus: ORDER_ERRORS[code], details });
  }
}
