import type { FastifyReply, FastifyRequest } from 'fastify';
import { opsSessions } from '../../order-gateway/index.ts';
import type { Pool } from '../../platform/index.ts';

export const SESSION_COOKIE = 'ops_session';
export const CONSOLE_PATH = '/ops';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in operator of an ops console request. */
    consoleOperator?: string;
  }
}

/** Where a request without a live session is sent; nothing else happens to it. */
export function toSignIn(reply: FastifyReply) {
  return reply.code(303).header('location', `${CONSOLE_PATH}/login`).header('cache-control', 'no-store').send();
}

/**
 * The console's guard, as an onRequest hook: it runs before the body is read, so a request without a
 * session (a stranger, an expired or signed-out session) is turned away before anything is parsed.
 */
export function requireSession(pool: Pool, open: ReadonlySet<string>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (open.has(request.routeOptions.url ?? '')) return;
    const token = request.cookies[SESSION_COOKIE];
    const operator = token ? await opsSessions.operatorOf(pool, token) : null;
    if (!operator) return toSignIn(reply);
    request.consoleOperator = operator;
  };
}

/** The operator of a request the guard let through. */
export function consoleOperator(request: FastifyRequest): string {
  if (!request.consoleOperator) throw new Error('route is missing the console session guard');
  return request.consoleOperator;
}

export function sessionCookieOptions(request: FastifyRequest, maxAgeSeconds: number) {
  return {
    path: CONSOLE_PATH,
    httpOnly: true,
    sameSite: 'strict' as const,
    // Behind TLS the cookie never travels in clear; on loopback HTTP it must, or nobody signs in.
    secure: request.protocol === 'https',
    maxAge: maxAgeSeconds,
  };
}
