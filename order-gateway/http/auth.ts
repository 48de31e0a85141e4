import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashApiKey, sameSecret } from '../accounts/api-keys.ts';
import { errorBody } from './error-handler.ts';

export type Principal = { kind: 'client'; accountId: string } | { kind: 'ops' };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

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
 * Client keys belong to one account each and reach only that account's routes; the ops key reaches
 * /v1/ops/* and nothing else. Either key on the other's routes is simply a wrong key: 401.
 */
export function createAuth(deps: { opsApiKey: string; accountIdByKeyHash(hash: Buffer): Promise<string | null> }) {
  return {
    requireClient: async (request: FastifyRequest, reply: FastifyReply) => {
      const token = bearerToken(request);
      const accountId = token ? await deps.accountIdByKeyHash(hashApiKey(token)) : null;
      if (!accountId) return unauthorized(reply);
      request.principal = { kind: 'client', accountId };
    },
    requireOps: async (request: FastifyRequest, reply: FastifyReply) => {
      const token = bearerToken(request);
      if (!token || !sameSecret(token, deps.opsApiKey)) return unauthorized(reply);
      request.principal = { kind: 'ops' };
    },
  };
}

export type Auth = ReturnType<typeof createAuth>;

/** The account of an authenticated client request. */
export function clientAccountId(request: FastifyRequest): string {
  if (request.principal?.kind !== 'client') throw new Error('route is missing requireClient');
  return request.principal.accountId;
}
