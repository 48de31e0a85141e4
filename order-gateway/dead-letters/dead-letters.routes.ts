import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Bus, Pool } from '../../platform/index.ts';
import { operatorOf, type Auth } from '../http/auth.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import type { OpsAudit } from '../ops/ops-audit.routes.ts';
import { listDeadLetters, replayDeadLetter, type DeadLetter } from './dead-letter.repository.ts';
import { ParkedIdParams, ParkedListSchema, ParkedMessageSchema, ParkedQuery } from './dead-letter.schemas.ts';

interface Dependencies {
  auth: Auth;
  pool: Pool;
  bus: Bus;
  audit: OpsAudit;
}

/** `GET /v1/ops/parked` and `POST /v1/ops/parked/{id}/replay` (ops key only). */
export const deadLetterRoutes: FastifyPluginAsyncZod<Dependencies> = async (app, { auth, pool, bus, audit }) => {
  app.addHook('preHandler', auth.requireOps);

  app.get(
    '/v1/ops/parked',
    {
      schema: {
        tags: ['ops'],
        summary: 'Messages set aside after failing for a non-domain reason (newest first)',
        security: [{ bearer: [] }],
        querystring: ParkedQuery,
        response: { 200: ParkedListSchema, 400: ErrorSchema, 401: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (request) => ({ messages: (await listDeadLetters(pool, request.query)).map(view) }),
  );

  app.post(
    '/v1/ops/parked/:id/replay',
    {
      schema: {
        tags: ['ops'],
        summary: 'Publish a parked message again on its topic, once; its consumer applies it idempotently',
        security: [{ bearer: [] }],
        params: ParkedIdParams,
        response: { 202: ParkedMessageSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (request, reply) => {
      const operator = operatorOf(request);
      const letter = await replayDeadLetter(pool, bus, request.params.id, operator);
      request.log.info({ deadLetter: letter.id, topic: letter.topic, operator }, 'parked message replayed');
      await audit(request, { action: 'parked.replay', target: letter.id, detail: { topic: letter.topic } });
      return reply.code(202).send(view(letter));
    },
  );
};

function view(letter: DeadLetter) {
  return {
    ...letter,
    status: letter.replayedAt ? ('replayed' as const) : ('parked' as const),
    parkedAt: letter.parkedAt.toISOString(),
    replayedAt: letter.replayedAt?.toISOString() ?? null,
  };
}
