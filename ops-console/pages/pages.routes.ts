import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import {
  listAccounts,
  ORDER_STATUSES,
  readOrderTimeline,
  recordOpsAction,
  searchOrders,
} from '../../order-gateway/index.ts';
import { DomainError } from '../../platform/index.ts';
import { renderRunReport } from '../../reconciler/index.ts';
import {
  AccountsPageQuery,
  BreakIdParams,
  CsrfOnlyBody,
  OrderIdParams,
  OrdersPageQuery,
  ResolveForm,
  RunIdParams,
  RunsQuery,
  StartRunForm,
} from '../console.schemas.ts';
import type { OpsConsoleOptions } from '../console.types.ts';
import { consoleOperator, CONSOLE_PATH } from '../session/console-session.ts';
import { readBreakSides } from './break-sides.ts';
import { readToday } from './today.ts';

/** Kinds a repair run can close by itself (it feeds missing executions and closes through the live path). */
const REPAIRABLE = new Set(['MISSING_EXECUTION', 'ORDER_STATUS_MISMATCH', 'POSITION_MISMATCH', 'CASH_MISMATCH']);

/** A report page may run its own inline scripts and styles, and load nothing at all. */
const SELF_CONTAINED_REPORT_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

const notFound = (what: string) => new DomainError('NOT_FOUND', `no such ${what}`, { httpStatus: 404 });

/** The console's pages: the day, reconciliation runs and breaks, accounts and orders. */
export async function pageRoutes(parent: FastifyInstance, options: OpsConsoleOptions): Promise<void> {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  // Forms are checked after their body is parsed (the token travels in it), before validation.
  const csrfCheck = parent.csrfProtection.bind(parent);
  const { pool, reconciler } = options;
  const hide = { hide: true } as const;

  app.get(CONSOLE_PATH, { schema: hide }, async (request, reply) => {
    const today = await readToday(options);
    // htmx refreshes the figures in place: only the fragment is rendered for it.
    const partial = request.headers['hx-request'] === 'true';
    return reply.view(partial ? 'today-figures' : 'today', {
      title: 'Today',
      operator: consoleOperator(request),
      csrf: partial ? '' : reply.generateCsrf(),
      ...today,
    });
  });

  app.get(`${CONSOLE_PATH}/runs`, { schema: { ...hide, querystring: RunsQuery } }, async (request, reply) => {
    const page = await reconciler.listRuns({ date: request.query.date, after: request.query.after, limit: 50 });
    return reply.view('runs', {
      title: 'Reconciliation runs',
      operator: consoleOperator(request),
      csrf: reply.generateCsrf(),
      query: request.query,
      today: new Date().toLocaleDateString('en-CA', { timeZone: 'America/New_York' }),
      ...page,
    });
  });

  app.post(
    `${CONSOLE_PATH}/runs`,
    { schema: { ...hide, body: StartRunForm }, preValidation: csrfCheck },
    async (request, reply) => {
      const operator = consoleOperator(request);
      const repair = request.body.repair !== undefined;
      const run = await startRun(operator, request.body.date, repair);
      return reply.code(303).header('location', `${CONSOLE_PATH}/runs/${run.id}`).send();
    },
  );

  async function startRun(operator: string, date: string, repair: boolean) {
    const action = repair ? 'reconciliation.repair' : 'reconciliation.run';
    try {
      const run = await reconciler.run(date, { repair });
      await recordOpsAction(pool, {
        operator,
        action,
        target: run.id,
        detail: { date, repair, status: run.status, via: 'console' },
      });
      return run;
    } catch (error) {
      // A run that fails part way may already have republished executions: recorded all the same.
      const code = (error as { code?: unknown }).code;
      await recordOpsAction(pool, {
        operator,
        action,
        detail: { date, repair, status: 'failed', error: typeof code === 'string' ? code : 'INTERNAL', via: 'console' },
      });
      throw error;
    }
  }

  app.get(`${CONSOLE_PATH}/runs/:id`, { schema: { ...hide, params: RunIdParams } }, async (request, reply) => {
    const run = await reconciler.runSummary(request.params.id);
    if (!run) throw notFound('reconciliation run');
    const { breaks } = await reconciler.listBreaks({ runId: run.id, status: 'all', limit: 500 });
    return reply.view('run', {
      title: `Run of ${run.date}`,
      operator: consoleOperator(request),
      csrf: reply.generateCsrf(),
      run,
      breaks,
      repairable: breaks.some((b) => b.open && REPAIRABLE.has(b.kind)),
    });
  });

  app.post(
    `${CONSOLE_PATH}/runs/:id/repair`,
    { schema: { ...hide, params: RunIdParams, body: CsrfOnlyBody }, preValidation: csrfCheck },
    async (request, reply) => {
      const run = await reconciler.runSummary(request.params.id);
      if (!run) throw notFound('reconciliation run');
      const repaired = await startRun(consoleOperator(request), run.date, true);
      return reply.code(303).header('location', `${CONSOLE_PATH}/runs/${repaired.id}`).send();
    },
  );

  app.get(`${CONSOLE_PATH}/runs/:id/report`, { schema: { ...hide, params: RunIdParams } }, async (request, reply) => {
    const run = await reconciler.get(request.params.id);
    if (!run) throw notFound('finished reconciliation run');
    const html = renderRunReport(run, await reconciler.timeline(run.id));
    // The report is self-contained: its chart library and data are inline scripts, nothing from elsewhere.
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', SELF_CONTAINED_REPORT_POLICY)
      .send(html);
  });

  app.get(`${CONSOLE_PATH}/reports/session`, { schema: hide }, async (request, reply) => {
    const dir = options.sessionReportDir ?? resolve('session-report');
    const html = await readFile(join(dir, 'report.html'), 'utf8').catch(() => null);
    if (html === null) {
      return reply.code(404).view('error', {
        title: 'No session report',
        message: `There is no report.html in ${dir}: run npm run session -- --report ${dir} where this server runs.`,
        operator: consoleOperator(request),
        csrf: reply.generateCsrf(),
      });
    }
    // The session's report is self-contained too: inline charts and data, nothing from elsewhere.
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', SELF_CONTAINED_REPORT_POLICY)
      .send(html);
  });

  app.get(`${CONSOLE_PATH}/breaks/:id`, { schema: { ...hide, params: BreakIdParams } }, async (request, reply) => {
    const found = await reconciler.getBreak(request.params.id);
    if (!found) throw notFound('reconciliation break');
    const sides = await readBreakSides(options, found.orderId);
    return reply.view('break', {
      title: `Break ${found.id}: ${found.kind}`,
      operator: consoleOperator(request),
      csrf: reply.generateCsrf(),
      brk: found,
      ...sides,
      repairable: found.open && REPAIRABLE.has(found.kind),
    });
  });

  app.post(
    `${CONSOLE_PATH}/breaks/:id/resolve`,
    { schema: { ...hide, params: BreakIdParams, body: ResolveForm }, preValidation: csrfCheck },
    async (request, reply) => {
      const operator = consoleOperator(request);
      const resolved = await reconciler.resolveBreak(request.params.id, { note: request.body.note, operator });
      await recordOpsAction(pool, {
        operator,
        action: 'break.resolve',
        target: resolved.id,
        detail: { note: request.body.note, via: 'console' },
      });
      return reply.code(303).header('location', `${CONSOLE_PATH}/breaks/${resolved.id}`).send();
    },
  );

  app.get(`${CONSOLE_PATH}/orders`, { schema: { ...hide, querystring: OrdersPageQuery } }, async (request, reply) => {
    const page = await searchOrders(pool, request.query);
    const partial = request.headers['hx-request'] === 'true';
    return reply.view(partial ? 'order-results' : 'orders', {
      title: 'Orders',
      operator: consoleOperator(request),
      csrf: partial ? '' : reply.generateCsrf(),
      query: request.query,
      statuses: ORDER_STATUSES,
      ...page,
    });
  });

  app.get(`${CONSOLE_PATH}/orders/:id`, { schema: { ...hide, params: OrderIdParams } }, async (request, reply) => {
    const timeline = await readOrderTimeline(pool, options.ledger, request.params.id);
    if (!timeline) throw notFound('order');
    return reply.view('order', {
      title: `Order ${timeline.order.clientOrderId}`,
      operator: consoleOperator(request),
      csrf: reply.generateCsrf(),
      ...timeline,
    });
  });

  app.get(
    `${CONSOLE_PATH}/accounts`,
    { schema: { ...hide, querystring: AccountsPageQuery } },
    async (request, reply) => {
      const page = await listAccounts(pool, { q: request.query.q, after: request.query.after, limit: 50 });
      return reply.view('accounts', {
        title: 'Accounts',
        operator: consoleOperator(request),
        csrf: reply.generateCsrf(),
        query: request.query,
        ...page,
      });
    },
  );
}
