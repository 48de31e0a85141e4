import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { z } from 'zod';
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
/** Reports per pushed batch, at most; the body limit leaves room for that many. */
export const MAX_BATCH = 1_000;

export interface BatchResult {
  execId: string | null;
  status: 'accepted' | 'refused';
  details?: { path: string; message: string }[];
}

/**
 * 체결 수신: takes the broker's execution reports and puts each on the bus, keyed by our account.
 * It answers 200 only after the bus has acknowledged the report (Kafka: all in-sync replicas), so a
 * report the broker saw acknowledged is never lost; anything else is a 5xx and the broker retries.
 * It does nothing more, so it stays fast while the rest of the system is slow or down.
 */
export function createFillReceiverApp(deps: FillReceiverDeps): FastifyInstance {
  const { bus, pool, logger } = deps;
  const topic = deps.topic ?? EXECUTIONS_TOPIC;
  const app = Fastify({ logger: false, bodyLimit: MAX_BATCH * 4 * 1024 });
  registerErrorHandler(app, logger);

  app.get('/healthz', async (_request, reply) => {
    const healthy = await bus.isHealthy();
    return reply.status(healthy ? 200 : 503).send({ ok: healthy });
  });

  /**
   * One report (an object), or a batch (an array, in the broker's order). A batch goes to the bus in
   * one produce request and is acknowledged as a whole: 200 with one result per report, where a
   * malformed report is `refused` (it will never be accepted, so the broker sets it aside) and the
   * others are on the bus. If the bus fails, nothing in the batch is acknowledged.
   */
  app.post(REPORTS_PATH, async (request, reply) => {
    if (Array.isArray(request.body)) {
      if (request.body.length > MAX_BATCH) {
        return reply.status(400).send({
          error: {
            code: 'VALIDATION_FAILED',
            message: `at most ${MAX_BATCH} reports per batch`,
            details: [{ path: '', message: `got ${request.body.length}` }],
          },
        });
      }
      const results: BatchResult[] = [];
      const accepted: ExecutionReport[] = [];
      for (const item of request.body as unknown[]) {
        const parsed = ExecutionReport.safeParse(item);
        if (parsed.success) {
          accepted.push(parsed.data);
          results.push({ execId: parsed.data.execId, status: 'accepted' });
        } else {
          const details = issuesOf(parsed.error);
          logger.warn({ details, body: item }, 'malformed execution report refused');
          results.push({ execId: execIdOf(item), status: 'refused', details });
        }
      }
      if (!(await publish(accepted))) return busUnavailable(reply);
      return reply.status(200).send({ results });
    }
    const parsed = ExecutionReport.safeParse(request.body);
    if (!parsed.success) {
      const details = issuesOf(parsed.error);
      logger.warn({ details, body: request.body }, 'malformed execution report refused');
      return reply
        .status(400)
        .send({ error: { code: 'VALIDATION_FAILED', message: 'malformed execution report', details } });
    }
    if (!(await publish([parsed.data]))) return busUnavailable(reply);
    return reply.status(200).send({ ok: true, execId: parsed.data.execId });
  });

  /** True once the bus holds every report (then they are recorded as received); false if it failed. */
  async function publish(reports: readonly ExecutionReport[]): Promise<boolean> {
    if (reports.length === 0) return true;
    try {
      await bus.publish(
        topic,
        reports.map((report) => ({ key: report.account, value: JSON.stringify(report) })),
      );
    } catch (error) {
      logger.warn(
        { err: error, execIds: reports.map((r) => r.execId) },
        'execution reports not published; the broker will retry',
      );
      return false;
    }
    // After the bus: a failure here only costs a redelivery, which consumers dedupe by execId.
    await recordReceived(pool, reports);
    return true;
  }

  return app;
}

function busUnavailable(reply: FastifyReply) {
  return reply
    .status(503)
    .header('retry-after', '2')
    .send({ error: { code: 'BUS_UNAVAILABLE', message: 'the reports could not be stored; retry', details: null } });
}

function issuesOf(error: z.ZodError) {
  return error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

function execIdOf(item: unknown): string | null {
  const execId = (item as { execId?: unknown } | null)?.execId;
  return typeof execId === 'string' ? execId : null;
}
