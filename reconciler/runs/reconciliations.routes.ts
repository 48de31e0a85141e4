import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Reconciler } from './reconciler.ts';
import {
  BreakDetailSchema,
  BreakIdParams,
  BreakListSchema,
  BreakSchema,
  ListBreaksQuery,
  ListRunsQuery,
  RunListSchema,
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
  /** Records the run with the request's operator (the trading API's ops audit log). */
  audit?: (
    request: FastifyRequest,
    action: { action: string; target?: string | null; detail?: Record<string, unknown> | null },
  ) => Promise<void>;
}

/**
 * `POST /v1/ops/reconciliations`, `GET /v1/ops/reconciliations/{id}` and
 * `POST /v1/ops/breaks/{id}/resolve` (ops key only).
 */
export const reconciliationRoutes: FastifyPluginAsyncZod<ReconciliationRoutesOptions> = async (
  app,
  { requireOps, reconciler, operatorOf, audit },
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
      const { date, repair } = request.body;
      const action = repair ? 'reconciliation.repair' : 'reconciliation.run';
      let run;
      try {
        run = await reconciler.run(date, { repair });
      } catch (error) {
        // A run that fails part way may already have republished executions: recorded all the same.
        const code = (error as { code?: unknown }).code;
        await audit?.(request, {
          action,
          detail: { date, repair, status: 'failed', error: typeof code === 'string' ? code : 'INTERNAL' },
        });
        throw error;
      }
      await audit?.(request, { action, target: run.id, detail: { date, repair, status: run.status } });
      return reply.status(201).send(run);
    },
  );

  app.get(
    '/v1/ops/reconciliations',
    {
      preHandler: requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Reconciliation runs newest first, without their breaks (running and failed runs too)',
        security: [{ bearer: [] }],
        querystring: ListRunsQuery,
        response: { 200: RunListSchema, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (request) => reconciler.listRuns(request.query),
  );

  app.get(
    '/v1/ops/breaks',
    {
      preHandler: requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Reconciliation breaks newest first, by run, status and kind',
        security: [{ bearer: [] }],
        querystring: ListBreaksQuery,
        response: { 200: BreakListSchema, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (request) => reconciler.listBreaks(request.query),
  );

  app.get(
    '/v1/ops/breaks/:id',
    {
      preHandler: requireOps,
      schema: {
        tags: ['ops'],
        summary: 'One reconciliation break, with its run and the decision on it',
        security: [{ bearer: [] }],
        params: BreakIdParams,
        response: { 200: BreakDetailSchema, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const found = await reconciler.getBreak(request.params.id);
      if (!found) {
        return reply.status(404).send({
          error: { code: 'BREAK_NOT_FOUND', message: 'no reconciliation break with this id', details: null },
        });
      }
      return found;
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
    async (request) => {
      const resolved = await reconciler.resolveBreak(request.params.id, {
        note: request.body.note,
        operator: operatorOf?.(request) ?? 'ops',
      });
      await audit?.(request, { action: 'break.resolve', target: resolved.id, detail: { note: request.body.note } });
      return resolved;
    },
  );
};
