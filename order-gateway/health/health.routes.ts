import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthChecks {
  /** Each check answers true when its dependency is reachable. */
  [dependency: string]: () => Promise<boolean>;
}

export async function healthRoutes(app: FastifyInstance, options: { checks: HealthChecks; metrics: Registry }) {
  app.get('/healthz', async (_request, reply) => {
    const entries = await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const),
    );
    const healthy = entries.every(([, ok]) => ok);
    if (!healthy) reply.header('retry-after', '2');
    return reply.code(healthy ? 200 : 503).send({
      status: healthy ? 'ok' : 'unavailable',
      checks: Object.fromEntries(entries.map(([n, ok]) => [n, ok ? 'ok' : 'down'])),
    });
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(options.metrics.contentType).send(await options.metrics.metrics());
  });
}
