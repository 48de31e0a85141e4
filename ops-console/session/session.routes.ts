import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { operatorWithKey, opsSessions, recordOpsAction } from '../../order-gateway/index.ts';
import { DEFAULT_AUTH_FAILURES_PER_MINUTE } from '../../platform/index.ts';
import { CsrfOnlyBody, SignInBody } from '../console.schemas.ts';
import type { OpsConsoleOptions } from '../console.types.ts';
import { consoleOperator, CONSOLE_PATH, SESSION_COOKIE, sessionCookieOptions } from './console-session.ts';

/** Sign-in with an operator's ops key, and sign-out; both recorded in the ops audit log. */
export async function sessionRoutes(
  parent: FastifyInstance,
  options: OpsConsoleOptions & { sessionTtlSeconds: number },
): Promise<void> {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  // Forms are checked after their body is parsed (the token travels in it), before validation.
  const csrfCheck = parent.csrfProtection.bind(parent);
  const { pool, operators, sessionTtlSeconds } = options;
  // Guessing keys through the form costs as much as guessing them on the API: the same limit per address.
  const failures = app.createRateLimit({
    max: options.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `console-sign-in:${request.ip}`,
  });

  app.get(`${CONSOLE_PATH}/login`, { schema: { hide: true } }, async (request, reply) => {
    return reply.view('login', { title: 'Sign in', operator: null, csrf: reply.generateCsrf(), error: null });
  });

  app.post(
    `${CONSOLE_PATH}/login`,
    { schema: { hide: true, body: SignInBody }, preValidation: csrfCheck },
    async (request, reply) => {
      const seen = await failures(request, { increment: false });
      if (!seen.isAllowed && seen.remaining <= 0) {
        return reply
          .code(429)
          .header('retry-after', String(seen.ttlInSeconds))
          .view('login', {
            title: 'Sign in',
            operator: null,
            csrf: reply.generateCsrf(),
            error: `Too many failed sign-ins from this address; try again in ${seen.ttlInSeconds} s.`,
          });
      }
      const operator = operatorWithKey(operators, request.body.key);
      if (!operator) {
        await failures(request);
        return reply.code(401).view('login', {
          title: 'Sign in',
          operator: null,
          csrf: reply.generateCsrf(),
          error: 'That is not an operator’s ops key.',
        });
      }
      const token = await opsSessions.open(pool, operator, sessionTtlSeconds);
      await recordOpsAction(pool, { operator, action: 'console.sign_in' });
      return reply
        .setCookie(SESSION_COOKIE, token, sessionCookieOptions(request, sessionTtlSeconds))
        .code(303)
        .header('location', CONSOLE_PATH)
        .send();
    },
  );

  app.post(
    `${CONSOLE_PATH}/logout`,
    { schema: { hide: true, body: CsrfOnlyBody }, preValidation: csrfCheck },
    async (request, reply) => {
      const operator = consoleOperator(request);
      const token = request.cookies[SESSION_COOKIE];
      if (token) await opsSessions.close(pool, token);
      await recordOpsAction(pool, { operator, action: 'console.sign_out' });
      return reply
        .clearCookie(SESSION_COOKIE, { path: CONSOLE_PATH })
        .code(303)
        .header('location', `${CONSOLE_PATH}/login`)
        .send();
    },
  );
}
