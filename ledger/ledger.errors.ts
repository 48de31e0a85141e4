import { DomainError } from '../platform/index.ts';

export type LedgerErrorCode =
  | 'INVALID_ACCOUNT_ID'
  | 'UNKNOWN_ACCOUNT'
  | 'INVALID_AMOUNT'
  | 'INVALID_QUANTITY'
  | 'INVALID_PRICE'
  | 'INVALID_SYMBOL'
  | 'INVALID_REFERENCE'
  | 'INVALID_FILL'
  | 'DUPLICATE_REFERENCE'
  | 'INSUFFICIENT_FUNDS'
  | 'INSUFFICIENT_BUYING_POWER'
  | 'INSUFFICIENT_POSITION'
  | 'HOLD_NOT_FOUND'
  | 'HOLD_CONFLICT'
  | 'RELEASE_EXCEEDS_HOLD'
  | 'FILL_EXCEEDS_ORDER'
  | 'FILL_EXCEEDS_HOLD';

/** Each ledger code with the HTTP status it answers with when it reaches the API. */
export const LEDGER_ERRORS: Record<LedgerErrorCode, number> = {
  INVALID_ACCOUNT_ID: 400,
  UNKNOWN_ACCOUNT: 404,
  INVALID_AMOUNT: 400,
  INVALID_QUANTITY: 400,
  INVALID_PRICE: 400,
  INVALID_SYMBOL: 400,
  INVALID_REFERENCE: 400,
  INVALID_FILL: 400,
  DUPLICATE_REFERENCE: 409,
  INSUFFICIENT_FUNDS: 422,
  INSUFFICIENT_BUYING_POWER: 422,
  INSUFFICIENT_POSITION: 422,
  HOLD_NOT_FOUND: 404,
  HOLD_CONFLICT: 409,
  RELEASE_EXCEEDS_HOLD: 422,
  FILL_EXCEEDS_ORDER: 422,
  FILL_EXCEEDS_HOLD: 422,
};

/** A refused ledger operation: the caller's input or the account's state does not allow it; nothing was written. */
export class LedgerError extends DomainError {
  declare readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, details?: unknown) {
    super(code, message, { httpStatus: LEDGER_ERRORS[code], details });
  }
}

export function isLedgerError(error: unknown): error is LedgerError {
  return error instanceof LedgerError;
}

/**
 * A balance row changed under us although we held the account's row lock: some writer bypassed
 * the lock. It carries SQLSTATE 40001 so `withTransaction` retries the whole transaction.
 */
export class LedgerConflictError extends Error {
  readonly code = '40001';

  constructor(message: string) {
    super(message);
    this.name = 'LedgerConflictError';
  }
}
