import { LEDGER_ERRORS } from '../ledger/index.ts';
import { ORDER_ERRORS } from './orders/order.errors.ts';

/** Codes of the HTTP layer itself (the error handler and the key check), each with its status. */
export const HTTP_ERRORS = {
  VALIDATION_FAILED: 400,
  // Any other 4xx of fastify's own (a method it cannot serve, say): the status is fastify's.
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Over RATE_LIMIT_PER_MINUTE, or too many failed authentications from one address; with Retry-After.
  RATE_LIMITED: 429,
  INTERNAL: 500,
  // PostgreSQL or the bus away (platform's DependencyUnavailableError), with Retry-After.
  SERVICE_UNAVAILABLE: 503,
} as const;

export const ACCOUNT_ERRORS = { ACCOUNT_NOT_FOUND: 404, API_KEY_NOT_FOUND: 404 } as const;
export const MARKET_ERRORS = { MARKET_DATA_UNAVAILABLE: 503 } as const;
/** The dead letters' replay (`dead-letters/dead-letter.repository.ts`). */
export const PARKED_MESSAGE_ERRORS = { PARKED_MESSAGE_NOT_FOUND: 404, PARKED_MESSAGE_ALREADY_REPLAYED: 409 } as const;
/** The brokers' ops routes (`brokers/brokers.routes.ts`). */
export const BROKER_ERRORS = { BROKER_NOT_FOUND: 404 } as const;

/**
 * Every code the trading API's own routes can answer with, and its HTTP status. The OpenAPI
 * document lists them as the error code's enum; docs/api.md's table is checked against them.
 */
export const TRADING_API_ERRORS: Readonly<Record<string, number>> = {
  ...HTTP_ERRORS,
  ...ORDER_ERRORS,
  ...ACCOUNT_ERRORS,
  ...MARKET_ERRORS,
  ...PARKED_MESSAGE_ERRORS,
  ...BROKER_ERRORS,
  ...LEDGER_ERRORS,
};

/**
 * Codes an order's `lastRejection.code` carries when we name a broker's refusal ourselves: they travel
 * in the order body, never in an error body, so they are not in the OpenAPI error enum (docs/api.md).
 */
export const REFUSAL_CODES = {
  TOO_LATE_TO_CANCEL: 'the broker had already ended the order',
  REJECTED: 'the broker refused the order without a code of its own',
} as const;
