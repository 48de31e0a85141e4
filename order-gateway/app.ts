import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { healthRoutes, type HealthChecks } from './health/health.routes.ts';

export interface AppDependencies {
  /** A pino logger (platform's createLogger); typed as fastify sees it. */
  logger: FastifyBaseLogger;
  checks: HealthChecks;
  metrics?: Registry;
}

/** Builds the trading API; `server.ts`-style callers listen, tests drive it with `app.inject`. */
export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? new Registry();
  if (!deps.metrics) collectDefaultMetrics({ register: metrics });
  const app = Fastify({ loggerInstance: deps.logger, disableRequestLogging: true, bodyLimit: 64 * 1024 });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${request.url}`, details: null } }),
  );
  // Nothing below a route may reach the client as a 5xx body with internals in it.
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'unhandled error');
    return reply.code(status).send({
      error: {
        code: status === 500 ? 'INTERNAL' : (error.code ?? 'BAD_REQUEST'),
        message: status === 500 ? 'internal error' : error.message,
        details: null,
      },
    });
  });

  await app.register(healthRoutes, { checks: deps.checks, metrics });
  return app;
}
