/** Every code the reconciliation routes answer with, and its HTTP status (docs/api.md lists them). */
export const RECONCILER_ERRORS = {
  VALIDATION_FAILED: 400,
  RECONCILIATION_NOT_FOUND: 404,
  BREAK_NOT_FOUND: 404,
  BREAK_NOT_OPEN: 409,
  REPAIR_UNAVAILABLE: 422,
  BROKER_UNAVAILABLE: 503,
} as const;
