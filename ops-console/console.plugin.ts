import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import view from '@fastify/view';
import { Eta } from 'eta';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isDependencyUnavailable, isDomainError } from '../platform/index.ts';
import type { OpsConsoleOptions } from './console.types.ts';
import { pageRoutes } from './pages/pages.routes.ts';
import { sessionRoutes } from './session/session.routes.ts';
import { CONSOLE_PATH, requireSession } from './session/console-session.ts';

const EIGHT_HOURS = 8 * 3600;

/** Routes that answer without a session: the sign-in and the console's own static files. */
const OPEN_ROUTES: ReadonlySet<string> = new Set([
  `${CONSOLE_PATH}/login`,
  `${CONSOLE_PATH}/assets/htmx.min.js`,
  `${CONSOLE_PATH}/assets/console.css`,
]);

/**
 * The ops console under /ops: server-rendered pages (eta through @fastify/view) with small partial
 * updates (htmx, served from this server's node_modules: a page loads nothing from elsewhere). An
 * encapsulated plugin: its cookies, form parsing, CSRF checks and HTML error pages stay under /ops,
 * and the JSON API beside it is untouched.
 */
export async function opsConsole(app: FastifyInstance, options: OpsConsoleOptions): Promise<void> {
  const ttl = options.sessionTtlSeconds ?? EIGHT_HOURS;
  await app.register(cookie);
  await app.register(formbody);
  // The token's secret lives in its own HttpOnly, SameSite=Strict cookie; every form posts the token.
  await app.register(csrf, {
    cookieKey: 'ops_csrf',
    cookieOpts: { path: CONSOLE_PATH, httpOnly: true, sameSite: 'strict' },
  });
  await app.register(view, {
    engine: { eta: new Eta({ autoEscape: true, autoTrim: false }) },
    templates: fileURLToPath(new URL('./views', import.meta.url)),
    production: true,
  });

  const htmx = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'), 'utf8');
  const css = readFileSync(new URL('./assets/console.css', import.meta.url), 'utf8');
  const asset = (type: string, body: string) => (_: unknown, reply: FastifyReply) =>
    reply.type(type).header('cache-control', 'public, max-age=3600').send(body);
  app.get(
    `${CONSOLE_PATH}/assets/htmx.min.js`,
    { schema: { hide: true } },
    asset('text/javascript; charset=utf-8', htmx),
  );
  app.get(`${CONSOLE_PATH}/assets/console.css`, { schema: { hide: true } }, asset('text/css; charset=utf-8', css));

  app.addHook('onRequest', requireSession(options.pool, OPEN_ROUTES));
  app.addHook('onSend', async (_request, reply, payload) => {
    // Pages are the operator's own: never cached by a shared cache, never framed by another site.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    // Nothing from elsewhere, ever; htmx sets inline styles for its indicators.
    if (!reply.hasHeader('content-security-policy')) {
      reply.header(
        'content-security-policy',
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
      );
    }
    return payload;
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const signedIn = request.consoleOperator ?? null;
    const page = (status: number, title: string, message: string) =>
      reply
        .code(status)
        .view('error', { title, message, operator: signedIn, csrf: signedIn ? reply.generateCsrf() : '' });
    if (error.code?.startsWith('FST_CSRF')) {
      request.log.warn({ url: request.url }, 'ops console: form refused without a valid CSRF token');
      return page(
        403,
        'Form refused',
        'The form did not carry a valid token (it may be stale). Reload the page and try again; nothing was changed.',
      );
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map(
        (issue) => `${issue.instancePath.replace(/^\//, '') || 'input'}: ${issue.message}`,
      );
      return page(400, 'Not valid', `Nothing was changed. ${issues.join('; ')}`);
    }
    if (isDomainError(error)) return page(error.httpStatus, 'Not done', `${error.code}: ${error.message}`);
    if (isDependencyUnavailable(error)) {
      reply.header('retry-after', '2');
      return page(
        503,
        'Try again shortly',
        'A dependency (PostgreSQL or the bus) is unavailable; nothing was changed.',
      );
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return page(error.statusCode, 'Not valid', 'The request could not be read; nothing was changed.');
    }
    request.log.error({ err: error }, 'ops console: internal error');
    return page(500, 'Internal error', 'Something went wrong on our side; it has been logged.');
  });

  await app.register(sessionRoutes, { ...options, sessionTtlSeconds: ttl });
  await app.register(pageRoutes, options);
}
