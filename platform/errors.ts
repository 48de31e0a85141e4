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

/**
 * A dependency (PostgreSQL, the bus) is away: the work was not done, or for `commitUnknown` may or
 * may not have been, and the same request can be tried again later. Deliberately not a DomainError:
 * a consumer must retry it, never record it as the domain's refusal. HTTP answers it with 503
 * SERVICE_UNAVAILABLE and Retry-After.
 */
export class DependencyUnavailableError extends Error {
  readonly dependency: 'postgres' | 'bus';
  readonly commitUnknown: boolean;
  /** What the HTTP answer's Retry-After says, in seconds. */
  readonly retryAfterSeconds = 2;

  constructor(dependency: 'postgres' | 'bus', options: { cause?: unknown; commitUnknown?: boolean } = {}) {
    super(
      options.commitUnknown
        ? `${dependency} went away while committing; the outcome is unknown`
        : `${dependency} is unavailable`,
      { cause: options.cause },
    );
    this.name = 'DependencyUnavailableError';
    this.dependency = dependency;
    this.commitUnknown = options.commitUnknown ?? false;
  }
}
