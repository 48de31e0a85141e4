import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Pool } from '../../platform/index.ts';
import { clientAccountId, type Auth } from '../http/auth.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import { accountEventsAfter } from '../orders/account-event.repository.ts';
import { opsEventsAfter } from './ops-event.repository.ts';
import { AccountEventPageSchema, EventsQuery, OpsEventPageSchema } from './event.schemas.ts';
import type { EventNotifications, EventScope } from './event-notifications.ts';
import { EventStream, type EventStreamOptions, type StreamedEvent } from './event-stream.ts';

export const DEFAULT_EVENTS_HEARTBEAT_SECONDS = 15;
export const DEFAULT_EVENTS_CLIENT_BUFFER_BYTES = 1024 * 1024;

export interface EventRoutesDependencies {
  auth: Auth;
  pool: Pool;
  notifications: EventNotifications;
  stream: EventStreamOptions;
  logger: FastifyBaseLogger;
  onStream?: (change: 'opened' | 'closed' | 'cut_off') => void;
}

const EventHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^\d{1,15}$/, 'Last-Event-ID is the id of the last event received')
    .optional(),
});

/**
 * `GET /v1/events` (client key: its account) and `GET /v1/ops/events` (ops key: alarms and parked
 * messages). With `Accept: text/event-stream`, Server-Sent Events from after `Last-Event-ID` (or
 * `?since=`), replayed and then live; otherwise one JSON page of them.
 */
export const eventRoutes: FastifyPluginAsyncZod<EventRoutesDependencies> = async (app, deps) => {
  const open = new Set<EventStream>();
  // Open streams would hold the server's close forever: end them first; clients resume elsewhere.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });

  function serve(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: EventScope,
    since: number,
    read: (since: number, limit: number) => Promise<StreamedEvent[]>,
  ): void {
    reply.hijack();
    let unsubscribe = () => {};
    const stream = new EventStream({
      res: reply.raw,
      since,
      read,
      options: deps.stream,
      logger: deps.logger,
      authorized: () => deps.auth.stillAuthorized(request),
      onEnd: (ended, cutOff) => {
        unsubscribe();
        open.delete(ended);
        deps.onStream?.(cutOff ? 'cut_off' : 'closed');
      },
    });
    open.add(stream);
    deps.onStream?.('opened');
    // Subscribed after the stream's first read was started: a wake-up in between only causes one more read.
    unsubscribe = deps.notifications.subscribe(scope, () => stream.wake());
    request.log.debug({ since }, 'event stream opened');
  }

  // Every stream of an account is usually at the same number when a commit wakes them all: one query
  // serves them all, instead of one per stream (a thousand tabs on one account cost one read).
  const inFlight = new Map<string, Promise<StreamedEvent[]>>();
  function sharedRead(
    scope: EventScope,
    read: (since: number, limit: number) => Promise<StreamedEvent[]>,
  ): (since: number, limit: number) => Promise<StreamedEvent[]> {
    return (since, limit) => {
      const key = `${scope.kind === 'ops' ? 'ops' : scope.accountId}:${deps.notifications.generation(scope)}:${since}:${limit}`;
      let pending = inFlight.get(key);
      if (!pending) {
        pending = read(since, limit).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    };
  }

  const wantsStream = (request: FastifyRequest) => (request.headers.accept ?? '').includes('text/event-stream');

  app.get(
    '/v1/events',
    {
      preHandler: deps.auth.requireClient,
      schema: {
        tags: ['events'],
        summary: "The account's events: Server-Sent Events (Accept: text/event-stream) or JSON pages",
        security: [{ bearer: [] }],
        querystring: EventsQuery,
        headers: EventHeaders,
        response: { 200: AccountEventPageSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request, reply) => {
      const accountId = clientAccountId(request);
      const since = startOf(request.headers['last-event-id'], request.query.since);
      const read = (after: number, limit: number) => accountEventsAfter(deps.pool, accountId, after, limit);
      const scope: EventScope = { kind: 'account', accountId };
      if (wantsStream(request)) return serve(request, reply, scope, since, sharedRead(scope, read));
      return page(await read(since, request.query.limit + 1), request.query.limit);
    },
  );

  app.get(
    '/v1/ops/events',
    {
      preHandler: deps.auth.requireOps,
      schema: {
        tags: ['ops'],
        summary: 'Alarms and parked messages: Server-Sent Events (Accept: text/event-stream) or JSON pages',
        security: [{ bearer: [] }],
        querystring: EventsQuery,
        headers: EventHeaders,
        response: { 200: OpsEventPageSchema, 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (request, reply) => {
      const since = startOf(request.headers['last-event-id'], request.query.since);
      const read = (after: number, limit: number) => opsEventsAfter(deps.pool, after, limit);
      const scope: EventScope = { kind: 'ops' };
      if (wantsStream(request)) return serve(request, reply, scope, since, sharedRead(scope, read));
      return page(await read(since, request.query.limit + 1), request.query.limit);
    },
  );
};

/** Last-Event-ID wins over `since`: an EventSource reconnecting repeats the URL it was opened with. */
function startOf(lastEventId: string | string[] | undefined, since: number | undefined): number {
  if (typeof lastEventId === 'string') return Number(lastEventId);
  return since ?? 0;
}

/** One page; `next` is the number to pass as `since` for more, null when there was no more. */
function page<T extends { seq: number }>(rows: T[], limit: number): { events: T[]; next: number | null } {
  const events = rows.slice(0, limit);
  return { events, next: rows.length > limit ? events[events.length - 1]!.seq : null };
}
