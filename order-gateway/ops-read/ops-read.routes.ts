import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Ledger } from '../../ledger/index.ts';
import { DomainError, type Pool } from '../../platform/index.ts';
import type { Auth } from '../http/auth.ts';
import { errorBody } from '../http/error-handler.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import { OrderIdParams } from '../orders/order.schemas.ts';
import { decodeAccountCursor, listAccounts, listAlarms, searchOrders } from './ops-read.repository.ts';
import {
  AlarmListSchema,
  AlarmsQuery,
  OpsAccountListSchema,
  OpsAccountsQuery,
  OpsOrderListSchema,
  OpsOrdersQuery,
  OrderTimelineSchema,
} from './ops-read.schemas.ts';
import { readOrderTimeline } from './order-timeline.ts';

/**
 * The ops reads across accounts (ops key): orders by any of their terms, one order's whole timeline,
 * the alarms, and the accounts. The ops console reads the same functions.
 */
export const opsReadRoutes: FastifyPluginAsyncZod<{ auth: Auth; pool: Pool; ledger: Ledger }> = async (
  app,
  { auth, pool, ledger },
) => {
  app.get(
    '/v1/ops/orders',
    {
      preHandler: auth.requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Orders across accounts, newest first, by account, client order id, symbol, status, trade date',
        security: [{ bearer: [] }],
        querystring: OpsOrdersQuery,
        response: { 200: OpsOrderListSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request) => searchOrders(pool, request.query),
  );

  app.get(
    '/v1/ops/orders/:id/timeline',
    {
      preHandler: auth.requireOps,
      schema: {
        tags: ['ops'],
        summary: "An order's whole life: placement, requests to the broker, reports, fills, ledger postings",
        security: [{ bearer: [] }],
        params: OrderIdParams,
        response: { 200: OrderTimelineSchema, 401: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const timeline = await readOrderTimeline(pool, ledger, request.params.id);
      if (!timeline) return reply.code(404).send(errorBody('ORDER_NOT_FOUND', 'no such order'));
      return { order: timeline.order, entries: timeline.entries };
    },
  );

  app.get(
    '/v1/ops/alarms',
    {
      preHandler: auth.requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Alarms (the anomalies that want a person), newest first',
        security: [{ bearer: [] }],
        querystring: AlarmsQuery,
        response: { 200: AlarmListSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request) => listAlarms(pool, request.query),
  );

  app.get(
    '/v1/ops/accounts',
    {
      preHandler: auth.requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Accounts newest first, by a part of the name or the id',
        security: [{ bearer: [] }],
        querystring: OpsAccountsQuery,
        response: { 200: OpsAccountListSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request) => {
      if (request.query.after && !decodeAccountCursor(request.query.after)) {
        throw new DomainError('VALIDATION_FAILED', 'after is a cursor returned as "next"', {
          httpStatus: 400,
          details: [{ path: 'after', message: 'not a cursor of this listing' }],
        });
      }
      return listAccounts(pool, request.query);
    },
  );
};
