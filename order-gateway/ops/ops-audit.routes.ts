import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Pool } from '../../platform/index.ts';
import type { Auth } from '../http/auth.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import { listOpsActions, type OpsAction } from './ops-audit.repository.ts';

/** Records an ops action with the request's operator, in its own transaction. */
export type OpsAudit = (request: FastifyRequest, action: Omit<OpsAction, 'operator'>) => Promise<void>;

const AuditQuery = z
  .object({
    operator: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    after: z
      .string()
      .regex(/^\d{1,18}$/, 'must be a cursor from a previous page')
      .optional(),
  })
  .strict();

const AuditPageSchema = z
  .object({
    actions: z.array(
      z.object({
        id: z.string(),
        at: z.string(),
        operator: z.string(),
        action: z.string(),
        target: z.string().nullable(),
        detail: z.unknown(),
      }),
    ),
    next: z.string().nullable(),
  })
  .meta({ id: 'OpsAuditPage' });

/** `GET /v1/ops/audit`: who did what, newest first. */
export const opsAuditRoutes: FastifyPluginAsyncZod<{ auth: Auth; pool: Pool }> = async (app, { auth, pool }) => {
  app.get(
    '/v1/ops/audit',
    {
      preHandler: auth.requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Every ops action with its operator, newest first',
        security: [{ bearer: [] }],
        querystring: AuditQuery,
        response: { 200: AuditPageSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request) => listOpsActions(pool, request.query),
  );
};
