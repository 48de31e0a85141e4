import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { isDependencyUnavailable } from '../../platform/database.ts';
import { isDomainError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';

/** `{"error": {"code", "message", "details"}}` for every failure; an internal fault never shows its message. */
export function registerErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (isDomainError(error)) {
      return reply
        .status(error.httpStatus)
        .send({ error: { code: error.code, message: error.message, details: error.details } });
    }
    if (isDependencyUnavailable(error)) {
      logger.warn({ err: error, url: request.url }, 'dependency unavailable: answered 503');
      return reply
        .status(503)
        .header('retry-after', '2')
        .send({
          error: { code: 'SERVICE_UNAVAILABLE', message: 'a dependency is unavailable; retry later', details: null },
        });
    }
    if (error instanceof ZodError) {
      return reply.status(400).send({
        error: {
          code: 'VALIDATION_FAILED',
          message: 'the request is not valid',
          details: error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
        },
      });
    }
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send({ error: { code: 'VALIDATION_FAILED', message: error.message, details: null } });
    }
    logger.error({ err: error, url: request.url }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error', details: null } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}`, details: null } }),
  );
}
