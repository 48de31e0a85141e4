import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { z } from 'zod';
import type { Bus } from '../../platform/bus/bus.ts';
import type { Pool } from '../../platform/database.ts';
import type { Logger } from '../../platform/logger.ts';
import { EXECUTIONS_TOPIC, ExecutionReport } from '../executions/execution-report.schemas.ts';
import { registerErrorHandler } from '../http/error-handler.ts';
import { recordReceived } from './fill-receiver.repository.ts';
import {
  brokerPushSecret,
  checkSignatureHeaders,
  REFUSAL_REASONS,
  SIGNATURE_HEADER,
  signatureMatches,
  TIMESTAMP_HEADER,
  type PushRefusal,
} from './push-signature.ts';

export interface FillReceiverDeps {
  bus: Bus;
  pool: Pool;
  logger: Logger;
  /** The HMAC key shared with the broker (FILL_RECEIVER_SECRET): only pushes signed with it are taken. */
  secret: string;
  /** Where the refusal counter goes (and what GET /metrics serves); a registry of its own by default. */
  metrics?: Registry;
  /** Wall-clock ms, for the signature's freshness. */
  now?: () => number;
  /** Defaults to `executions`; tests use their own topic. */
  topic?: string;
  /**
   * The brokers whose pushes it takes at `/v1/brokers/{name}/execution-reports`, each signed with its
   * own key (brokerPushSecret). REPORTS_PATH is the first one's, signed with the secret itself, as
   * before there were several brokers. Default: one broker, `primary`.
   */
  brokers?: readonly string[];
}

export const REPORTS_PATH = '/v1/execution-reports';

/** Where the named broker pushes its reports. */
export function brokerReportsPath(broker: string): string {
  return `/v1/brokers/${broker}/execution-reports`;
}
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
  const { bus, pool, logger, secret } = deps;
  const brokers = deps.brokers ?? ['primary'];
  const topic = deps.topic ?? EXECUTIONS_TOPIC;
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? new Registry();
  if (!deps.metrics) collectDefaultMetrics({ register: metrics });
  const refusals = refusalCounter(metrics);
  const app = Fastify({ logger: false, bodyLimit: MAX_BATCH * 4 * 1024 });
  registerErrorHandler(app, logger);

  app.get('/healthz', async (_request, reply) => {
    const healthy = await bus.isHealthy();
    return reply.status(healthy ? 200 : 503).send({ ok: healthy });
  });

  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', metrics.contentType).send(await metrics.metrics()),
  );

  const refuse = (request: FastifyRequest, reply: FastifyReply, reason: PushRefusal) => {
    refusals.inc({ reason });
    logger.warn({ reason, from: request.ip }, 'execution report push refused: not signed by the broker');
    return reply
      .status(401)
      .send({ error: { code: 'UNAUTHORIZED', message: 'the push is not signed by the broker', details: null } });
  };

  // The body stays raw bytes until the signature over exactly those bytes is checked: nothing a
  // stranger sends is parsed. Content-type parsers are scoped to this plugin, so /healthz is unaffected.
  void app.register(async (reports) => {
    reports.removeAllContentTypeParsers();
    reports.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    // Each broker has its path and its key: a report is marked with the broker whose key signed it.
    // REPORTS_PATH is the first broker's, signed with the secret itself, as before there were several.
    const keys = new Map(brokers.map((broker) => [broker, brokerPushSecret(secret, broker)]));
    const brokerOf = (request: FastifyRequest): string => (request.params as { broker?: string }).broker ?? brokers[0]!;
    for (const path of [REPORTS_PATH, brokerReportsPath(':broker')]) {
      reports.post(path, {
        // Headers alone settle an unsigned, malformed or stale push, before its body is read.
        onRequest: async (request, reply) => {
          const refusal = checkSignatureHeaders(request.headers, now());
          if (refusal) return refuse(request, reply, refusal);
        },
        preHandler: async (request, reply) => {
          const { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature } = request.headers;
          const named = (request.params as { broker?: string }).broker;
          // An unknown broker has no key: nothing it signs can match.
          const key = named === undefined ? secret : keys.get(named);
          if (!key || !signatureMatches(key, timestamp as string, signature as string, rawBody(request))) {
            return refuse(request, reply, 'mismatch');
          }
        },
        handler: (request, reply) => takeReports(request, reply, brokerOf(request)),
      });
    }
  });

  /**
   * One report (an object), or a batch (an array, in the broker's order). A batch goes to the bus in
   * one produce request and is acknowledged as a whole: 200 with one result per report, where a
   * malformed report is `refused` (it will never be accepted, so the broker sets it aside) and the
   * others are on the bus. If the bus fails, nothing in the batch is acknowledged.
   */
  async function takeReports(request: FastifyRequest, reply: FastifyReply, broker: string) {
    let body: unknown;
    try {
      body = JSON.parse(rawBody(request).toString('utf8'));
    } catch {
      return reply.status(400).send({
        error: {
          code: 'VALIDATION_FAILED',
          message: 'the body is not JSON',
          details: [{ path: '', message: 'not JSON' }],
        },
      });
    }
    if (Array.isArray(body)) {
      if (body.length > MAX_BATCH) {
        return reply.status(400).send({
          error: {
            code: 'VALIDATION_FAILED',
            message: `at most ${MAX_BATCH} reports per batch`,
            details: [{ path: '', message: `got ${body.length}` }],
          },
        });
      }
      const results: BatchResult[] = [];
      const accepted: ExecutionReport[] = [];
      for (const item of body as unknown[]) {
        const parsed = ExecutionReport.safeParse(item);
        if (parsed.success) {
          // Our mark, whatever the body says: only the signature tells which broker sent it.
          accepted.push({ ...parsed.data, broker });
          results.push({ execId: parsed.data.execId, status: 'accepted' });
        } else {
          const details = issuesOf(parsed.error);
          logger.warn({ details, body: item }, 'malformed execution report refused');
          results.push({ execId: execIdOf(item), status: 'refused', details });
        }
      }
      if (!(await publish(accepted, broker))) return busUnavailable(reply);
      return reply.status(200).send({ results });
    }
    const parsed = ExecutionReport.safeParse(body);
    if (!parsed.success) {
      const details = issuesOf(parsed.error);
      logger.warn({ details, body }, 'malformed execution report refused');
      return reply
        .status(400)
        .send({ error: { code: 'VALIDATION_FAILED', message: 'malformed execution report', details } });
    }
    if (!(await publish([{ ...parsed.data, broker }], broker))) return busUnavailable(reply);
    return reply.status(200).send({ ok: true, execId: parsed.data.execId });
  }

  /** True once the bus holds every report (then they are recorded as received); false if it failed. */
  async function publish(reports: readonly ExecutionReport[], broker: string): Promise<boolean> {
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
    await recordReceived(pool, reports, broker);
    return true;
  }

  return app;
}

/** The bytes as received (the parser keeps them raw); no body at all is no bytes. */
function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

const REFUSED_PUSHES = 'fill_receiver_refused_pushes_total';

/** One counter per registry, so a second receiver on a shared registry counts into the same one. */
function refusalCounter(registry: Registry): Counter<'reason'> {
  const existing = registry.getSingleMetric(REFUSED_PUSHES) as Counter<'reason'> | undefined;
  if (existing) return existing;
  const counter = new Counter({
    name: REFUSED_PUSHES,
    help: 'Pushes to the fill receiver refused with 401 before parsing, by reason (unsigned, malformed, stale, future, mismatch)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of REFUSAL_REASONS) counter.inc({ reason }, 0);
  return counter;
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
