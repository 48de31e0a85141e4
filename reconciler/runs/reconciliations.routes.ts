import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Reconciler } from './reconciler.ts';
import {
  BreakIdParams,
  BreakSchema,
  ErrorBody,
  ResolveBreakBody,
  RunIdParams,
  RunSchema,
  StartRunBody,
} from './reconciliation.schemas.ts';

export interface ReconciliationRoutesOptions {
  /** The ops-key check of the trading API. */
  requireOps: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  reconciler: Reconciler;
  /** The operator's name as the ops check established it; "ops" when it names none. */
  operatorOf?: (request: FastifyRequest) => string;
}

/**
 * `POST /v1/ops/reconciliations`, `GET /v1/ops/reconciliations/{id}` and
 * `POST /v1/ops/breaks/{id}/resolve` (ops key only).
 */
export const reconciliationRoutes: FastifyPluginAsyncZod<ReconciliationRoutesOptions> = async (
  app,
  { requireOps, reconciler, operatorOf },
) => {
  app.post(
    '/v1/ops/reconciliations',
    {
      preHandler: requireOps,
      schema: {
        tags: ['ops'],
        summary:
          'Reconcile a New York trading date with the broker; with repair, feed missing executions back and check again',
        security: [{ bearer: [] }],
        body: StartRunBody,
        response: { 201: RunSchema, 400: ErrorBody, 401: ErrorBody, 422: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const run = await reconciler.run(request.body.date, { repair: request.body.repair });
      return reply.status(201).send(run);
    },
  );

  app.get(
    '/v1/ops/reconciliations/:id',
    {
      preHandler: requireOps,
      schema: {
        tags: ['ops'],
        summary: 'A reconciliation run',
        security: [{ bearer: [] }],
        params: RunIdParams,
        response: { 200: RunSchema, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const run = await reconciler.get(request.params.id);
      if (!run) {
        return reply.status(404).send({
          error: { code: 'RECONCILIATION_NOT_FOUND', message: 'no reconciliation run with this id', details: null },
        });
      }
      return run;
    },
  );

  app.post(
    '/v1/ops/breaks/:id/resolve',
    {
      preHandler: requireOps,
      schema: {
        tags: ['ops'],
        summary: "Record an operator's decision on an open break: it is closed with the note",
        security: [{ bearer: [] }],
        params: BreakIdParams,
        body: ResolveBreakBody,
        response: { 200: BreakSchema, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request) =>
      reconciler.resolveBreak(request.params.id, {
        note: request.body.note,
        operator: operatorOf?.(request) ?? 'ops',
      }),
  );
};
