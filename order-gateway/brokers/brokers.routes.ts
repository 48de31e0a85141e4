import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DomainError, withTransaction, type Pool, type Queryable } from '../../platform/index.ts';
import { operatorOf, type Auth } from '../http/auth.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import { recordOpsAction } from '../ops/ops-audit.repository.ts';
import { brokerRows, setDrained, type BrokerRow } from './broker.repository.ts';
import { BrokerIdParams, BrokerListSchema, BrokerSchema, type BrokerView } from './broker.schemas.ts';

interface Dependencies {
  requireOps: Auth['requireOps'];
  pool: Pool;
  /** The brokers orders are routed to, in order of preference. */
  brokers: readonly string[];
}

function toView(name: string, preference: number, row: BrokerRow | undefined): BrokerView {
  return {
    id: name,
    preference,
    state: row?.state ?? 'healthy',
    drained: row?.drained ?? false,
    drainedBy: row?.drained_by ?? null,
    drainedAt: row?.drained_at?.toISOString() ?? null,
    calls: row?.calls ?? 0,
    failures: row?.failures ?? 0,
    medianLatencyMs: row?.median_latency_ms ?? null,
    stateSince: row?.state_since.toISOString() ?? null,
    observedAt: row?.observed_at?.toISOString() ?? null,
  };
}

/** Every configured broker's standing, in order of preference. */
export async function listBrokers(db: Queryable, brokers: readonly string[]): Promise<BrokerView[]> {
  const rows = await brokerRows(db, brokers);
  return brokers.map((name, i) => toView(name, i + 1, rows.get(name)));
}

/**
 * `GET /v1/ops/brokers`, and drain or undrain one by hand: a drained broker takes no new orders (they
 * go to the next), while the orders already there stay and are resolved there. The drain is stored,
 * so it survives a restart, and audited with the operator's name.
 */
export const brokerRoutes: FastifyPluginAsyncZod<Dependencies> = async (app, { requireOps, pool, brokers }) => {
  app.get(
    '/v1/ops/brokers',
    {
      preHandler: requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Each broker in order of preference: its health (healthy, degraded, down) and whether it is drained',
        security: [{ bearer: [] }],
        response: { 200: BrokerListSchema, 401: ErrorSchema },
      },
    },
    async () => listBrokers(pool, brokers),
  );

  for (const [action, drained] of [
    ['drain', true],
    ['undrain', false],
  ] as const) {
    app.post(
      `/v1/ops/brokers/:id/${action}`,
      {
        preHandler: requireOps,
        schema: {
          tags: ['ops'],
          summary: drained
            ? 'Drain a broker: no new orders go to it; its orders stay there. Draining it again changes nothing'
            : 'Undrain a broker: it takes new orders again (when it is not down)',
          security: [{ bearer: [] }],
          params: BrokerIdParams,
          response: { 200: BrokerSchema, 401: ErrorSchema, 404: ErrorSchema },
        },
      },
      async (request) => {
        const name = request.params.id;
        const preference = brokers.indexOf(name);
        if (preference < 0) {
          throw new DomainError('BROKER_NOT_FOUND', 'no broker of that name is configured', {
            httpStatus: 404,
            details: { brokers },
          });
        }
        const operator = operatorOf(request);
        const row = await withTransaction(pool, async (tx) => {
          const stored = await setDrained(tx, name, drained, operator);
          await recordOpsAction(tx, { operator, action: `broker.${action}`, target: name, detail: null });
          return stored;
        });
        return toView(name, preference + 1, row);
      },
    );
  }
};
