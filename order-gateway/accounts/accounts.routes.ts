import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Ledger } from '../../ledger/index.ts';
import { DomainError, dec, formatCash, formatQuantity, withTransaction, type Pool } from '../../platform/index.ts';
import { clientAccountId, operatorOf, type Auth } from '../http/auth.ts';
import { recordOpsAction } from '../ops/ops-audit.repository.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import type { AccountRepository } from './account.repository.ts';
import {
  AccountIdParams,
  AccountSchema,
  CreateAccountBody,
  CreatedAccountSchema,
  DepositBody,
  DepositResultSchema,
} from './account.schemas.ts';
import { apiKeyRepository } from './api-key.repository.ts';
import { hashApiKey, newApiKey } from '../http/api-keys.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Dependencies {
  auth: Auth;
  pool: Pool;
  ledger: Ledger;
  accounts: AccountRepository;
  newId?: (() => string) | undefined;
}

const cashView = (cash: {
  total: { toFixed(): string };
  available: { toFixed(): string };
  held: { toFixed(): string };
}) => ({
  currency: 'USD' as const,
  total: formatCash(dec(cash.total.toFixed())),
  available: formatCash(dec(cash.available.toFixed())),
  held: formatCash(dec(cash.held.toFixed())),
});

export const accountRoutes: FastifyPluginAsyncZod<Dependencies> = async (app, { auth, pool, ledger }) => {
  app.get(
    '/v1/account',
    {
      preHandler: auth.requireClient,
      schema: {
        tags: ['account'],
        summary: 'Cash and positions',
        security: [{ bearer: [] }],
        response: { 200: AccountSchema, 401: ErrorSchema },
      },
    },
    async (request) => {
      const balances = await ledger.getAccount(pool, clientAccountId(request));
      return {
        accountId: balances.accountId,
        cash: cashView(balances.cash),
        positions: balances.positions.map((position) => ({
          symbol: position.symbol,
          quantity: formatQuantity(position.quantity),
          available: formatQuantity(position.available),
          held: formatQuantity(position.held),
          averageCost: position.averageCost.toFixed(4),
        })),
      };
    },
  );
};

export const opsAccountRoutes: FastifyPluginAsyncZod<Dependencies> = async (
  app,
  { auth, pool, ledger, accounts, newId },
) => {
  app.addHook('preHandler', auth.requireOps);

  app.post(
    '/v1/ops/accounts',
    {
      schema: {
        tags: ['ops'],
        summary: 'Open an account; its API key is shown once',
        security: [{ bearer: [] }],
        body: CreateAccountBody,
        response: { 201: CreatedAccountSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request, reply) => {
      const accountId = (newId ?? randomUUID)();
      const apiKey = newApiKey();
      const operator = operatorOf(request);
      await withTransaction(pool, async (tx) => {
        await accounts.insert({ id: accountId, name: request.body.name }, tx);
        const keyId = randomUUID();
        await apiKeyRepository.insert(tx, { keyId, accountId, keyHash: hashApiKey(apiKey), createdBy: operator });
        await ledger.openAccount(tx, accountId);
        await recordOpsAction(tx, { operator, action: 'account.create', target: accountId, detail: { keyId } });
      });
      return reply.code(201).send({ accountId, apiKey });
    },
  );

  app.post(
    '/v1/ops/accounts/:id/deposits',
    {
      schema: {
        tags: ['ops'],
        summary: 'Deposit USD into an account',
        security: [{ bearer: [] }],
        params: AccountIdParams,
        body: DepositBody,
        response: { 201: DepositResultSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const accountId = request.params.id;
      const cash = await withTransaction(pool, async (tx) => {
        if (!UUID.test(accountId) || !(await accounts.exists(accountId, tx))) {
          throw new DomainError('ACCOUNT_NOT_FOUND', 'no such account', { httpStatus: 404, details: { accountId } });
        }
        const reference = `deposit:${randomUUID()}`;
        const balance = await ledger.deposit(tx, { accountId, amount: dec(request.body.amount), reference });
        await recordOpsAction(tx, {
          operator: operatorOf(request),
          action: 'deposit.create',
          target: accountId,
          detail: { amount: request.body.amount, currency: request.body.currency, reference },
        });
        return balance;
      });
      return reply.code(201).send({ accountId, cash: cashView(cash) });
    },
  );
};
