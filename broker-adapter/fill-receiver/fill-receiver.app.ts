import Fastify, { type FastifyInstance } from 'fastify';
import type { Bus } from '../../platform/bus/bus.ts';
import type { Pool } from '../../platform/database.ts';
import type { Logger } from '../../platform/logger.ts';
import { EXECUTIONS_TOPIC, ExecutionReport } from '../executions/execution-report.schemas.ts';
import { registerErrorHandler } from '../http/error-handler.ts';
import { recordReceived } from './fill-receiver.repository.ts';

export interface FillReceiverDeps {
  bus: Bus;
  pool: Pool;
  logger: Logger;
  /** Defaults to `executions`; tests use their own topic. */
  topic?: string;
}

export const REPORTS_PATH = '/v1/execution-reports';

/**
 * 체결 수신: takes the broker's execution reports and puts each on the bus, keyed by our account.
 * It answers 200 only after the bus has acknowledged the report (Kafka: all in-sync replicas), so a
 * report the broker saw acknowledged is never lost; anything else is a 5xx and the broker retries.
 * It does nothing more, so it stays fast while the rest of the system is slow or down.
 */
export function createFillReceiverApp(deps: FillReceiverDeps): FastifyInstance {
  const { bus, pool, logger } = deps;
  const topic = deps.topic ?? EXECUTIONS_TOPIC;
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  registerErrorHandler(app, logger);

  app.get('/healthz', async (_request, reply) => {
    const healthy = await bus.isHealthy();
    return reply.status(healthy ? 200 : 503).send({ ok: healthy });
  });

  app.post(REPORTS_PATH, async (request, reply) => {
    const parsed = ExecutionReport.safeParse(request.body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      logger.warn({ details, body: request.body }, 'malformed execution report refused');
      return reply.status(400).send({ error: { code: 'VALIDATION_FAILED', message: 'malformed execution report', details } });
    }
    const report = parsed.data;
    try {
      await bus.publish(topic, [{ key: report.account, value: JSON.stringify(report) }]);
    } catch (error) {
      logger.warn({ err: error, execId: report.execId }, 'execution report not published; the broker will retry');
      return reply
        .status(503)
        .send({ error: { code: 'BUS_UNAVAILABLE', message: 'the report could not be stored; retry', details: null } });
    }
    // After the bus: a failure here only costs a redelivery, which consumers dedupe by execId.
    await recordReceived(pool, report.sequence, report.execId);
    return reply.status(200).send({ ok: true, execId: report.execId });
  });

  return app;
}
