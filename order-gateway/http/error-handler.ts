import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isDependencyUnavailable, isDomainError } from '../../platform/index.ts';

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

export function errorBody(code: string, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details } };
}

/** SQLSTATEs of text PostgreSQL cannot store: 22021 (invalid byte sequence), 22P05 (untranslatable, e.g. \u0000). */
const UNSTORABLE_TEXT: ReadonlySet<string> = new Set(['22021', '22P05']);

/** What a 503 asks the client to wait: PostgreSQL or the bus coming back takes seconds. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * One place where every failure becomes docs/api.md's error body. Domain errors carry their code
 * and status; malformed or invalid input is 400 VALIDATION_FAILED with the offending fields; anything
 * else is an internal fault, logged, and never shown.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isDomainError(error)) {
      return reply.code(error.httpStatus).send(errorBody(error.code, error.message, error.details));
    }
    if (isDependencyUnavailable(error)) {
      request.log.warn({ err: error }, 'dependency unavailable: answered 503');
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send(errorBody('SERVICE_UNAVAILABLE', 'a dependency of the service is unavailable; retry later'));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = error.validationContext ?? 'body';
      const details = error.validation.map((issue) => {
        const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
        // An unknown key is reported on the object; name the key itself.
        const keys = (issue.params as { keys?: string[] }).keys;
        return { field: path || keys?.join(',') || where, in: where, message: issue.message ?? 'invalid' };
      });
      return reply.code(400).send(errorBody('VALIDATION_FAILED', 'the request is not valid', details));
    }
    if (UNSTORABLE_TEXT.has((error as { code?: unknown }).code as string)) {
      // PostgreSQL refuses a NUL character in text (or bytes invalid in its encoding): the client's input,
      // and its transaction rolled back, so nothing changed.
      return reply
        .code(400)
        .send(
          errorBody('VALIDATION_FAILED', 'the request is not valid', [
            { field: 'body', in: 'body', message: 'text may not contain the NUL character or invalid bytes' },
          ]),
        );
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error }, 'response did not match its schema');
      return reply.code(500).send(errorBody('INTERNAL', 'internal error'));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own 4xx: malformed JSON, an empty or oversized body, a wrong content type.
      const code =
        status === 400
          ? 'VALIDATION_FAILED'
          : status === 413
            ? 'PAYLOAD_TOO_LARGE'
            : status === 415
              ? 'UNSUPPORTED_MEDIA_TYPE'
              : 'BAD_REQUEST';
      return reply
        .code(status)
        .send(
          errorBody(
            code,
            error.message,
            status === 400 ? [{ field: 'body', in: 'body', message: error.message }] : null,
          ),
        );
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(status >= 500 && status < 600 ? status : 500).send(errorBody('INTERNAL', 'internal error'));
  });
}
