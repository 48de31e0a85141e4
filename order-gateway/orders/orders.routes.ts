import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { clientAccountId, type Auth } from '../http/auth.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import {
  ListOrdersQuery,
  OrderIdParams,
  OrderListSchema,
  OrderSchema,
  PlaceOrderBody,
  ReplaceOrderBody,
} from './order.schemas.ts';
import type { OrderService } from './order.service.ts';

export const ordersRoutes: FastifyPluginAsyncZod<{ auth: Auth; orders: OrderService }> = async (
  app,
  { auth, orders },
) => {
  app.addHook('preHandler', auth.requireClient);

  app.post(
    '/v1/orders',
    {
      schema: {
        tags: ['orders'],
        summary: 'Place an order (idempotent on clientOrderId)',
        security: [{ bearer: [] }],
        body: PlaceOrderBody,
        response: {
          200: OrderSchema,
          201: OrderSchema,
          400: ErrorSchema,
          401: ErrorSchema,
          409: ErrorSchema,
          422: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const { created, order } = await orders.placeOrder(clientAccountId(request), request.body);
      return reply.code(created ? 201 : 200).send(order);
    },
  );

  app.get(
    '/v1/orders',
    {
      schema: {
        tags: ['orders'],
        summary: 'List orders, newest first',
        security: [{ bearer: [] }],
        querystring: ListOrdersQuery,
        response: { 200: OrderListSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request) => orders.listOrders(clientAccountId(request), request.query),
  );

  app.get(
    '/v1/orders/:id',
    {
      schema: {
        tags: ['orders'],
        summary: 'One order with its fills',
        security: [{ bearer: [] }],
        params: OrderIdParams,
        response: { 200: OrderSchema, 401: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request) => orders.getOrder(clientAccountId(request), request.params.id),
  );

  app.patch(
    '/v1/orders/:id',
    {
      schema: {
        tags: ['orders'],
        summary: 'Replace (modify) an order: FIX cancel/replace; the quantity is the new total, fills included',
        security: [{ bearer: [] }],
        params: OrderIdParams,
        body: ReplaceOrderBody,
        response: {
          200: OrderSchema,
          400: ErrorSchema,
          401: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
          422: ErrorSchema,
        },
      },
    },
    async (request) => orders.replaceOrder(clientAccountId(request), request.params.id, request.body),
  );

  app.delete(
    '/v1/orders/:id',
    {
      schema: {
        tags: ['orders'],
        summary: 'Request cancellation; fills made before the cancel still count',
        security: [{ bearer: [] }],
        params: OrderIdParams,
        response: { 202: OrderSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await orders.cancelOrder(clientAccountId(request), request.params.id)),
  );
};
