import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpsOperator } from '../../platform/index.ts';
import { hashApiKey, sameSecret } from './api-keys.ts';
import { errorBody } from './error-handler.ts';

export type Principal = { kind: 'client'; accountId: string; keyId: string } | { kind: 'ops'; operator: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The operator's name on an ops request (`ops` for OPS_API_KEY), for the audit log. */
    operator?: string;
  }
  interface FastifyContextConfig {
    /** A route under /v1 that needs no key (market data). */
    auth?: 'public';
  }
}

const MINUTE_MS = 60_000;

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S{1,200})\s*$/i.exec(header) : null;
  return match ? match[1]! : null;
}

function unauthorized(reply: FastifyReply) {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .send(errorBody('UNAUTHORIZED', 'a valid API key is required: Authorization: Bearer <key>'));
}

/**
 * Which key a request needs, from its route (the template, so an encoded path cannot dodge it) or,
 * for a path no route matches, from the path itself: a stranger learns nothing of which routes exist.
 */
function requirementOf(request: FastifyRequest): 'client' | 'ops' | null {
  if (request.routeOptions.config?.auth === 'public') return null;
  const path = request.routeOptions.url ?? request.url.split('?')[0]!;
  if (path === '/v1/ops' || path.startsWith('/v1/ops/')) return 'ops';
  if (path.startsWith('/v1/')) return 'client';
  return null;
}

/** Who a request is counted as by the rate limit: its key when it has one, else its address. */
export function rateLimitKey(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind === 'client') return `key:${principal.keyId}`;
  if (principal?.kind === 'ops') return `operator:${principal.operator}`;
  return `address:${normalizeIP(request.ip)}`;
}

/** The operator whose key this is, or null. The ops console's sign-in asks the same question. */
export function operatorWithKey(operators: readonly OpsOperator[], key: string): string | null {
  // Every operator's key is compared, in time that does not depend on which one matched.
  let operator: string | null = null;
  for (const candidate of operators) if (sameSecret(key, candidate.key)) operator = candidate.name;
  return operator;
}

export type Refusal = 'unauthorized' | 'auth_failures' | 'rate_limited';

export interface AuthOptions {
  operators: readonly OpsOperator[];
  /** Who owns a key, by its hash (accounts/api-key.cache.ts): http/ stays below the features it serves. */
  keys: { ownerOf(keyHash: Buffer): Promise<{ keyId: string; accountId: string } | null> };
  authFailuresPerMinute: number;
  onRefused?: ((reason: Refusal) => void) | undefined;
}

/**
 * Authentication as an onRequest hook: it runs before the body is read, parsed or validated, so a
 * stranger gets 401 whatever the body, and learns nothing from validation details. Client keys
 * belong to one account each and reach only that account's routes; ops keys reach /v1/ops/* and
 * nothing else. Either key on the other's routes is simply a wrong key: 401.
 *
 * Failed authentications are counted per client address: past `authFailuresPerMinute` in a window,
 * that address gets 429 before any key is looked up, so guessing keys costs neither us nor the
 * database anything more. Needs @fastify/rate-limit registered on `app` first.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions) {
  const failures = app.createRateLimit({
    max: options.authFailuresPerMinute,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => `auth-failures:${normalizeIP(request.ip)}`,
  });

  async function authenticate(request: FastifyRequest, need: 'client' | 'ops'): Promise<Principal | null> {
    const token = bearerToken(request);
    if (!token) return null;
    if (need === 'ops') {
      const operator = operatorWithKey(options.operators, token);
      return operator ? { kind: 'ops', operator } : null;
    }
    const owner = await options.keys.ownerOf(hashApiKey(token));
    return owner ? { kind: 'client', ...owner } : null;
  }

  app.addHook('onRequest', async (request, reply) => {
    const need = requirementOf(request);
    if (!need) return;
    const seen = await failures(request, { increment: false });
    if (!seen.isAllowed && seen.remaining <= 0) {
      options.onRefused?.('auth_failures');
      return reply
        .code(429)
        .headers({
          'ratelimit-limit': seen.max,
          'ratelimit-remaining': 0,
          'ratelimit-reset': seen.ttlInSeconds,
          'retry-after': seen.ttlInSeconds,
        })
        .send(
          errorBody(
            'RATE_LIMITED',
            `too many failed authentications from this address; retry in ${seen.ttlInSeconds} s`,
            {
              retryAfterSeconds: seen.ttlInSeconds,
            },
          ),
        );
    }
    const principal = await authenticate(request, need);
    if (!principal) {
      await failures(request);
      options.onRefused?.('unauthorized');
      return unauthorized(reply);
    }
    request.principal = principal;
    if (principal.kind === 'ops') request.operator = principal.operator;
  });

  // The hook above has decided by the time a route runs; these keep a route honest if it is ever
  // mounted where the hook's rule does not reach.
  return {
    requireClient: async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.principal?.kind !== 'client') return unauthorized(reply);
    },
    requireOps: async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.principal?.kind !== 'ops') return unauthorized(reply);
    },
    /**
     * Whether the key a request was authenticated with still holds: a long-lived response (an event
     * stream) asks again, so a key revoked while it is open stops being served.
     */
    stillAuthorized: async (request: FastifyRequest): Promise<boolean> => {
      const before = request.principal;
      if (!before) return false;
      const now = await authenticate(request, before.kind);
      if (now?.kind === 'client' && before.kind === 'client') return now.keyId === before.keyId;
      return now?.kind === before.kind;
    },
  };
}

export type Auth = ReturnType<typeof registerAuth>;

/** The account of an authenticated client request. */
export function clientAccountId(request: FastifyRequest): string {
  if (request.principal?.kind !== 'client') throw new Error('route is missing requireClient');
  return request.principal.accountId;
}

/** The operator of an authenticated ops request. */
export function operatorOf(request: FastifyRequest): string {
  if (request.principal?.kind !== 'ops') throw new Error('route is missing requireOps');
  return request.principal.operator;
}
