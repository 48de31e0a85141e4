/**
 * Errors are values with stable codes (docs/api.md's error codes) and the HTTP status they map to.
 * One fastify error handler turns them into `{"error": {"code", "message", "details"}}`; anything
 * that is not a DomainError is an internal fault and never shows its message to a client.
 */
export class DomainError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly details: unknown;

  constructor(code: string, message: string, options: { httpStatus?: number; details?: unknown } = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = options.httpStatus ?? 422;
    this.details = options.details ?? null;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
