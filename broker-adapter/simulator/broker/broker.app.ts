import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sleep } from '../../../platform/database.ts';
import { bearerToken, sameSecret } from '../../http/api-key.ts';
import { registerErrorHandler } from '../../http/error-handler.ts';
import {
  BrokerOrderRequest,
  BrokerReplaceRequest,
  TradeCorrectionRequest,
  STATEMENT_KINDS,
  StatementDate,
} from '../../client/broker-order.schemas.ts';
import type { BrokerService } from './broker.service.ts';
import { registerStatementStreams } from './statement-stream.routes.ts';

export interface BrokerAppDeps {
  service: BrokerService;
  /** Every route but /healthz wants `Authorization: Bearer <apiKey>` (BROKER_API_KEY); else 401. */
  apiKey: string;
  /**
   * The `ack_timeout` fault: how long the answer to a new order is held back (real ms); null holds
   * it until the broker shuts down, i.e. never within any caller's patience.
   */
  ackTimeoutDelayMs?: number | null;
  realNow?: () => number;
}

/**
 * The broker's HTTP API, shaped like a real broker's (prefix /v1). Outage windows answer 503 on every
 * route but /healthz; every call pays the configured latency first.
 */
export function createBrokerApp(deps: BrokerAppDeps): FastifyInstance {
  const { service } = deps;
  const { faults, logger } = service.deps;
  const realNow = deps.realNow ?? Date.now;
  // A broker that shuts down drops its connections: a held-back answer whose caller has given up
  // would otherwise keep its keep-alive socket, and close() waiting, for fastify's 72 s idle timeout.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  registerErrorHandler(app, logger);
  const shuttingDown = new AbortController();
  let calls = 0;

  app.addHook('preClose', async () => shuttingDown.abort());
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz') return;
    // Before latency and outages: a stranger learns nothing of the broker's state, and draws no
    // number from the seeded latency sequence.
    const token = bearerToken(request.headers.authorization);
    if (!token || !sameSecret(token, deps.apiKey)) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: { code: 'UNAUTHORIZED', message: 'a valid broker API key is required', details: null } });
    }
    const latency = faults.latencyMs(calls++);
    if (latency > 0) await sleep(latency);
    if (faults.isOutage(realNow(), service.deps.clock.now())) {
      return reply
        .status(503)
        .header('retry-after', '1')
        .send({ error: { code: 'BROKER_UNAVAILABLE', message: 'the broker is unavailable', details: null } });
    }
  });

  app.get('/healthz', async () => ({ ok: true }));

  app.post('/v1/orders', async (request, reply) => {
    const order = BrokerOrderRequest.parse(request.body);
    const result = await service.submit(order);
    if (result.created && faults.losesAcknowledgement(order.clientOrderId)) {
      // The order is taken and committed; only the answer is late. The caller must ask by client order id.
      await waitOrAbort(deps.ackTimeoutDelayMs === undefined ? 30_000 : deps.ackTimeoutDelayMs, shuttingDown.signal);
      if (shuttingDown.signal.aborted) {
        return reply
          .status(503)
          .send({ error: { code: 'BROKER_UNAVAILABLE', message: 'shutting down', details: null } });
      }
    }
    return reply.status(result.created ? 201 : 200).send(result.order);
  });

  app.get('/v1/orders', async (request) => {
    const { clientOrderId } = z.object({ clientOrderId: z.string().min(1).max(128) }).parse(request.query);
    return service.getOrderByClientOrderId(clientOrderId);
  });

  app.get('/v1/orders/:brokerOrderId', async (request) => {
    const { brokerOrderId } = z.object({ brokerOrderId: z.string().min(1).max(128) }).parse(request.params);
    return service.getOrder(brokerOrderId);
  });

  app.get('/v1/orders/:brokerOrderId/reports', async (request) => {
    const { brokerOrderId } = z.object({ brokerOrderId: z.string().min(1).max(128) }).parse(request.params);
    return { reports: await service.getOrderReports(brokerOrderId) };
  });

  app.patch('/v1/orders/:brokerOrderId', async (request, reply) => {
    const { brokerOrderId } = z.object({ brokerOrderId: z.string().min(1).max(128) }).parse(request.params);
    const body = BrokerReplaceRequest.parse(request.body);
    const result = await service.replace(brokerOrderId, body);
    // The `ack_timeout` fault holds back a replace's answer as it does a new order's, keyed by the new id.
    if (result.created && faults.losesAcknowledgement(body.clientOrderId)) {
      await waitOrAbort(deps.ackTimeoutDelayMs === undefined ? 30_000 : deps.ackTimeoutDelayMs, shuttingDown.signal);
      if (shuttingDown.signal.aborted) {
        return reply
          .status(503)
          .send({ error: { code: 'BROKER_UNAVAILABLE', message: 'shutting down', details: null } });
      }
    }
    return reply.status(result.created ? 201 : 200).send(result.order);
  });

  app.delete('/v1/orders/:brokerOrderId', async (request, reply) => {
    const { brokerOrderId } = z.object({ brokerOrderId: z.string().min(1).max(128) }).parse(request.params);
    return reply.status(202).send(await service.cancel(brokerOrderId));
  });

  // The broker's operations desk, for tests and sessions: bust a trade after the fact (FIX 150=H).
  app.post('/v1/trades/:execId/bust', async (request, reply) => {
    const { execId } = z.object({ execId: z.string().min(1).max(128) }).parse(request.params);
    const result = await service.bustTrade(execId);
    return reply.status(result.created ? 201 : 200).send(result.report);
  });

  // ... or correct its price and/or quantity (FIX 150=G).
  app.post('/v1/trades/:execId/correct', async (request, reply) => {
    const { execId } = z.object({ execId: z.string().min(1).max(128) }).parse(request.params);
    const terms = TradeCorrectionRequest.parse(request.body ?? {});
    const result = await service.correctTrade(execId, terms);
    return reply.status(result.created ? 201 : 200).send(result.report);
  });

  app.get('/v1/statements/:kind', async (request) => {
    const { kind } = z.object({ kind: z.enum(STATEMENT_KINDS) }).parse(request.params);
    const { date } = z.object({ date: StatementDate }).parse(request.query);
    return service.statement(kind, date);
  });

  registerStatementStreams(app, service.deps.pool);
  app.get('/v1/instruments', async () => service.instruments());
  app.get('/v1/clock', async () => service.clockView());

  return app;
}

function waitOrAbort(ms: number | null, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = ms === null ? undefined : setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
