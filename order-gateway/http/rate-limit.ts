import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../platform/index.ts';
import { rateLimitKey, type Refusal } from './auth.ts';

// Probes and scrapes must see the truth even while a client is being throttled.
const UNLIMITED_ROUTES = new Set(['/healthz', '/metrics']);

/**
 * Requests per minute per API key (per address without one), counted in this process's memory: with
 * several trading servers, each counts its own share. A throttled request is answered in onRequest,
 * after authentication and before its body is read, with 429 RATE_LIMITED, `Retry-After` and the
 * draft standard `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers (also sent,
 * counting down, on every allowed request).
 */
export async function registerRateLimit(
  app: FastifyInstance,
  options: { perMinute: number; onRefused?: ((reason: Refusal) => void) | undefined },
): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: 60_000,
    enableDraftSpec: true,
    // Keys and addresses counted at once (least recently seen forgotten first).
    cache: 10_000,
    keyGenerator: rateLimitKey,
    onExceeded: () => options.onRefused?.('rate_limited'),
    allowList: (request) => UNLIMITED_ROUTES.has(request.routeOptions.url ?? ''),
    errorResponseBuilder: (_request, context) =>
      new DomainError(
        'RATE_LIMITED',
        `rate limit of ${context.max} requests a minute reached; retry in ${context.after}`,
        {
          httpStatus: 429,
          details: { limit: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        },
      ),
  });
}
