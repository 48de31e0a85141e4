import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError, withTransaction, type Pool, type Queryable } from '../../platform/index.ts';
import { operatorOf, type Auth } from '../http/auth.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import { recordOpsAction } from '../ops/ops-audit.repository.ts';
import type { AccountRepository } from './account.repository.ts';
import { AccountIdParams, ApiKeyListSchema, ApiKeyParams, IssuedApiKeySchema } from './account.schemas.ts';
import type { ApiKeyCache } from './api-key.cache.ts';
import { apiKeyRepository } from './api-key.repository.ts';
import { hashApiKey, newApiKey } from '../http/api-keys.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Dependencies {
  auth: Auth;
  pool: Pool;
  accounts: AccountRepository;
  keys: ApiKeyCache;
}

async function mustExist(accounts: AccountRepository, accountId: string, tx: Queryable): Promise<void> {
  if (!UUID.test(accountId) || !(await accounts.exists(accountId, tx))) {
    throw new DomainError('ACCOUNT_NOT_FOUND', 'no such account', { httpStatus: 404, details: { accountId } });
  }
}

/** Ops issue an account a new key and revoke an old one (rotation without a gap). */
export const apiKeyRoutes: FastifyPluginAsyncZod<Dependencies> = async (app, { auth, pool, accounts, keys }) => {
  app.addHook('preHandler', auth.requireOps);

  app.post(
    '/v1/ops/accounts/:id/keys',
    {
      schema: {
        tags: ['ops'],
        summary: "Issue a new API key for an account (shown once); the account's other keys keep working",
        security: [{ bearer: [] }],
        params: AccountIdParams,
        response: { 201: IssuedApiKeySchema, 401: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const accountId = request.params.id;
      const operator = operatorOf(request);
      const keyId = randomUUID();
      const apiKey = newApiKey();
      await withTransaction(pool, async (tx) => {
        await mustExist(accounts, accountId, tx);
        await apiKeyRepository.insert(tx, { keyId, accountId, keyHash: hashApiKey(apiKey), createdBy: operator });
        await recordOpsAction(tx, { operator, action: 'api_key.issue', target: accountId, detail: { keyId } });
      });
      keys.forget(hashApiKey(apiKey));
      return reply.code(201).send({ keyId, apiKey });
    },
  );

  app.delete(
    '/v1/ops/accounts/:id/keys/:keyId',
    {
      schema: {
        tags: ['ops'],
        summary: 'Revoke an API key: refused (401) from then on; revoking it again changes nothing',
        security: [{ bearer: [] }],
        params: ApiKeyParams,
        response: { 204: z.null(), 401: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { id: accountId, keyId } = request.params;
      const operator = operatorOf(request);
      const revoked = await withTransaction(pool, async (tx) => {
        const done =
          UUID.test(accountId) && UUID.test(keyId)
            ? await apiKeyRepository.revoke(tx, { keyId, accountId, revokedBy: operator })
            : null;
        if (!done) {
          throw new DomainError('API_KEY_NOT_FOUND', 'this account has no key with this id', {
            httpStatus: 404,
            details: { accountId, keyId },
          });
        }
        await recordOpsAction(tx, {
          operator,
          action: 'api_key.revoke',
          target: accountId,
          detail: { keyId, alreadyRevoked: done.alreadyRevoked },
        });
        return done;
      });
      // Only after the commit: a lookup between forgetting and committing would cache the live key again.
      keys.forget(revoked.keyHash);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/ops/accounts/:id/keys',
    {
      schema: {
        tags: ['ops'],
        summary: "An account's API keys (ids and history; never the keys)",
        security: [{ bearer: [] }],
        params: AccountIdParams,
        response: { 200: ApiKeyListSchema, 401: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      await mustExist(accounts, request.params.id, pool);
      return { keys: await apiKeyRepository.ofAccount(pool, request.params.id) };
    },
  );
};
