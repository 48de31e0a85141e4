import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Pool } from '../../platform/index.ts';
import type { Auth } from '../http/auth.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import { listAnomalies } from './anomaly.repository.ts';
import { AnomalyListSchema, ListAnomaliesQuery } from './anomaly.schemas.ts';

/**
 * `GET /v1/ops/anomalies` (ops key): every report an order refused or ignored, and every alarm, newest
 * first. A fill outside its order's terms is `FILL_OUTSIDE_TERMS`; the reconciler also counts those
 * as EXECUTION_ANOMALY breaks until an operator resolves them.
 */
export const opsAnomalyRoutes: FastifyPluginAsyncZod<{ auth: Auth; pool: Pool }> = async (app, { auth, pool }) => {
  app.get(
    '/v1/ops/anomalies',
    {
      preHandler: auth.requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Anomalies of orders and reports, newest first (filter by kind)',
        security: [{ bearer: [] }],
        querystring: ListAnomaliesQuery,
        response: { 200: AnomalyListSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async ({ query: { kind, ...page } }) => listAnomalies(pool, { ...page, kinds: kind ? [kind] : undefined }),
  );
};
