import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { collectDefaultMetrics, Registry, type Histogram } from 'prom-client';
import type { Ledger } from '../ledger/index.ts';
import type { Bus, Pool } from '../platform/index.ts';
import { createAccountRepository } from './accounts/account.repository.ts';
import { opsAnomalyRoutes } from './anomalies/anomalies.routes.ts';
import { accountRoutes, opsAccountRoutes } from './accounts/accounts.routes.ts';
import { deadLetterRoutes } from './dead-letters/dead-letters.routes.ts';
import { healthRoutes, type HealthChecks } from './health/health.routes.ts';
import { createAuth, type Auth } from './http/auth.ts';
import { TRADING_API_ERRORS } from './http/error-codes.ts';
import { registerErrorHandling } from './http/error-handler.ts';
import { tidyOpenApi } from './http/openapi.ts';
import type { MarketData } from './market/market-data.ts';
import { marketRoutes } from './market/market.routes.ts';
import type { OrderService } from './orders/order.service.ts';
import { ordersRoutes } from './orders/orders.routes.ts';

export interface AppDependencies {
  /** A pino logger (platform's createLogger); typed as fastify sees it. */
  logger: FastifyBaseLogger;
  pool: Pool;
  /** Where a replayed dead letter is published again. */
  bus: Bus;
  ledger: Ledger;
  orders: OrderService;
  marketData: MarketData;
  opsApiKey: string;
  checks: HealthChecks;
  metrics?: Registry;
  /** Account ids; random UUIDs unless a simulation needs them reproducible. */
  newId?: () => string;
  /**
   * Routes of other components under /v1/ops (the reconciler's), registered by the composition root
   * with the ops key's guard, so that this component does not depend on them.
   */
  registerOpsRoutes?: (app: FastifyInstance, requireOps: Auth['requireOps']) => Promise<void>;
  /** Codes the routes of other components answer with (the reconciler's), for the OpenAPI enum. */
  extraErrorCodes?: Readonly<Record<string, number>>;
  /** Observes every answered request, by route template and status. */
  httpDuration?: Histogram<'method' | 'route' | 'status'>;
}

/** Builds the trading API; `bin/` entry points listen, tests drive it with `app.inject`. */
export async function buildApp(deps: AppDependencies) {
  const metrics = deps.metrics ?? new Registry();
  if (!deps.metrics) collectDefaultMetrics({ register: metrics });
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  if (deps.httpDuration) {
    const histogram = deps.httpDuration;
    app.addHook('onResponse', async (request, reply) => {
      histogram.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  }

  await app.register(swagger, {
    openapi: {
      info: { title: 'Overseas stock order routing: trading API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: (document) =>
      tidyOpenApi(jsonSchemaTransformObject(document), { ...TRADING_API_ERRORS, ...deps.extraErrorCodes }),
  });
  await app.register(swaggerUi, { routePrefix: '/docs/ui' });

  const accounts = createAccountRepository(deps.pool);
  const auth = createAuth({
    opsApiKey: deps.opsApiKey,
    accountIdByKeyHash: (hash) => accounts.accountIdByKeyHash(hash),
  });

  await app.register(healthRoutes, { checks: deps.checks, metrics });
  await app.register(marketRoutes, { marketData: deps.marketData });
  await app.register(accountRoutes, { auth, pool: deps.pool, ledger: deps.ledger, accounts, newId: deps.newId });
  await app.register(opsAccountRoutes, { auth, pool: deps.pool, ledger: deps.ledger, accounts, newId: deps.newId });
  await app.register(ordersRoutes, { auth, orders: deps.orders });
  await app.register(deadLetterRoutes, { auth, pool: deps.pool, bus: deps.bus });
  await app.register(opsAnomalyRoutes, { auth, pool: deps.pool });
  if (deps.registerOpsRoutes) await deps.registerOpsRoutes(app, auth.requireOps);

  // docs/api.md: GET /docs is the OpenAPI description itself (the browsable UI is at /docs/ui);
  // /docs/json is where tools that know fastify-swagger look for it.
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
