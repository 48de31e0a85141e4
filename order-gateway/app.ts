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
import {
  DEFAULT_AUTH_FAILURES_PER_MINUTE,
  DEFAULT_OPERATOR,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  type Bus,
  type OpsOperator,
  type Pool,
} from '../platform/index.ts';
import { createAccountRepository } from './accounts/account.repository.ts';
import { opsAnomalyRoutes } from './anomalies/anomalies.routes.ts';
import { accountRoutes, opsAccountRoutes } from './accounts/accounts.routes.ts';
import { ApiKeyCache } from './accounts/api-key.cache.ts';
import { apiKeyRoutes } from './accounts/api-keys.routes.ts';
import { apiKeyRepository } from './accounts/api-key.repository.ts';
import { deadLetterRoutes } from './dead-letters/dead-letters.routes.ts';
import { EventNotifications } from './events/event-notifications.ts';
import {
  DEFAULT_EVENTS_CLIENT_BUFFER_BYTES,
  DEFAULT_EVENTS_HEARTBEAT_SECONDS,
  eventRoutes,
  type EventRoutesDependencies,
} from './events/events.routes.ts';
import { healthRoutes, type HealthChecks } from './health/health.routes.ts';
import { operatorOf, registerAuth, type Auth, type Refusal } from './http/auth.ts';
import { TRADING_API_ERRORS } from './error-codes.ts';
import { registerErrorHandling } from './http/error-handler.ts';
import { tidyOpenApi } from './http/openapi.ts';
import { registerRateLimit } from './http/rate-limit.ts';
import { recordOpsAction } from './ops/ops-audit.repository.ts';
import { opsAuditRoutes, type OpsAudit } from './ops/ops-audit.routes.ts';
import { opsReadRoutes } from './ops-read/ops-read.routes.ts';
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
  /** The key of the operator `ops`. */
  opsApiKey: string;
  /** More operators, each with its own key (OPS_API_KEYS). */
  opsApiKeys?: readonly OpsOperator[];
  /** Requests per API key (per address without one) per minute; RATE_LIMIT_PER_MINUTE. */
  rateLimitPerMinute?: number;
  /** Failed authentications per client address per minute; AUTH_FAILURES_PER_MINUTE. */
  authFailuresPerMinute?: number;
  /** How long a key lookup is trusted (tests shorten or lengthen it). */
  apiKeyCacheTtlMs?: number;
  checks: HealthChecks;
  metrics?: Registry;
  /** Account ids; random UUIDs unless a simulation needs them reproducible. */
  newId?: () => string;
  /**
   * Routes of other components under /v1/ops (the reconciler's), registered by the composition root
   * with the ops key's guard and the audit log, so that this component does not depend on them.
   * Every route under /v1/ops is authenticated before its body is read, whoever registers it.
   */
  registerOpsRoutes?: (app: FastifyInstance, requireOps: Auth['requireOps'], audit: OpsAudit) => Promise<void>;
  /** Codes the routes of other components answer with (the reconciler's), for the OpenAPI enum. */
  extraErrorCodes?: Readonly<Record<string, number>>;
  /** Observes every answered request, by route template and status. */
  httpDuration?: Histogram<'method' | 'route' | 'status'>;
  /** Told of every request refused at the door (401, or 429 from either limit). */
  onRefused?: (reason: Refusal) => void;
  /** Told of every answer with an error body, by its code: the refusals by code. */
  onErrorAnswered?: (code: string, status: number) => void;
  /** Event streams: heartbeat (EVENTS_HEARTBEAT_SECONDS) and a client's unread bytes (EVENTS_CLIENT_BUFFER_BYTES). */
  events?: { heartbeatSeconds?: number; clientBufferBytes?: number; onStream?: EventRoutesDependencies['onStream'] };
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

  if (deps.onErrorAnswered) {
    const told = deps.onErrorAnswered;
    // Before serialisation the body is still an object: its code is read as a field.
    app.addHook('preSerialization', async (_request, reply, payload: unknown) => {
      if (reply.statusCode >= 400) {
        const code = (payload as { error?: { code?: unknown } } | null)?.error?.code;
        if (typeof code === 'string') told(code, reply.statusCode);
      }
      return payload;
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

  // The rate limit first: its onRoute hook must see every route, and authentication builds its
  // failure counter from it. Its per-route hook runs after the app's own onRequest hooks, so each
  // request is counted under the key that authentication has just established.
  await registerRateLimit(app, {
    perMinute: deps.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    onRefused: deps.onRefused,
  });
  const keys = new ApiKeyCache((hash) => apiKeyRepository.ownerOf(deps.pool, hash), {
    ttlMs: deps.apiKeyCacheTtlMs,
  });
  const auth = registerAuth(app, {
    operators: [{ name: DEFAULT_OPERATOR, key: deps.opsApiKey }, ...(deps.opsApiKeys ?? [])],
    keys,
    authFailuresPerMinute: deps.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE,
    onRefused: deps.onRefused,
  });
  const accounts = createAccountRepository(deps.pool);
  const audit: OpsAudit = (request, action) => recordOpsAction(deps.pool, { ...action, operator: operatorOf(request) });

  await app.register(healthRoutes, { checks: deps.checks, metrics });
  await app.register(marketRoutes, { marketData: deps.marketData });
  await app.register(accountRoutes, { auth, pool: deps.pool, ledger: deps.ledger, accounts, newId: deps.newId });
  await app.register(opsAccountRoutes, { auth, pool: deps.pool, ledger: deps.ledger, accounts, newId: deps.newId });
  await app.register(apiKeyRoutes, { auth, pool: deps.pool, accounts, keys });
  await app.register(opsAuditRoutes, { auth, pool: deps.pool });
  await app.register(ordersRoutes, { auth, orders: deps.orders });
  await app.register(deadLetterRoutes, { auth, pool: deps.pool, bus: deps.bus, audit });
  await app.register(opsAnomalyRoutes, { auth, pool: deps.pool });
  await app.register(opsReadRoutes, { auth, pool: deps.pool, ledger: deps.ledger });
  // Each trading server listens for the events any of them writes, on its own PostgreSQL connection.
  const notifications = new EventNotifications({ pool: deps.pool, logger: deps.logger });
  app.addHook('onReady', async () => notifications.start());
  app.addHook('onClose', async () => notifications.stop());
  await app.register(eventRoutes, {
    auth,
    pool: deps.pool,
    notifications,
    logger: deps.logger,
    onStream: deps.events?.onStream,
    stream: {
      heartbeatMs: (deps.events?.heartbeatSeconds ?? DEFAULT_EVENTS_HEARTBEAT_SECONDS) * 1000,
      maxBufferBytes: deps.events?.clientBufferBytes ?? DEFAULT_EVENTS_CLIENT_BUFFER_BYTES,
    },
  });
  if (deps.registerOpsRoutes) await deps.registerOpsRoutes(app, auth.requireOps, audit);

  // docs/api.md: GET /docs is the OpenAPI description itself (the browsable UI is at /docs/ui);
  // /docs/json is where tools that know fastify-swagger look for it.
  app.get('/docs', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
