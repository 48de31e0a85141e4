import type { Queryable } from '../../platform/index.ts';
import type { AccountEventBody, AccountEventType } from './account-event.schemas.ts';
import { APPEND_EVENTS, EVENTS_AFTER } from './account-event.sql.ts';

/** The PostgreSQL channel the writers notify on at commit (payload `accountId:lastSeq`). */
export const ACCOUNT_EVENTS_CHANNEL = 'account_events';

export interface NewAccountEvent {
  accountId: string;
  type: AccountEventType;
  /** The event as the API shows it, without its number. */
  body: Omit<AccountEventBody, 'seq'>;
}

/**
 * THE way an event reaches a client: call it in the transaction of the change the events describe,
 * in the order they happened. Each account's events get the account's next numbers, without gaps,
 * in commit order; listeners are woken when the transaction commits, never before.
 */
export async function appendAccountEvents(
  tx: Queryable,
  events: readonly NewAccountEvent[],
): Promise<AccountEventBody[]> {
  if (events.length === 0) return [];
  const { rows } = await tx.query<{ n: number; seq: string }>({
    name: 'append_account_events',
    text: APPEND_EVENTS,
    values: [
      events.map((event) => event.accountId),
      events.map((event) => event.type),
      events.map((event) => event.body.order.id),
      events.map((event) => event.body.at),
      events.map((event) => JSON.stringify(event.body)),
    ],
  });
  return rows.map((row) => ({ ...events[row.n - 1]!.body, seq: Number(row.seq) }));
}

/** The account's events after `since`, oldest first. */
export async function accountEventsAfter(
  q: Queryable,
  accountId: string,
  since: number,
  limit: number,
): Promise<AccountEventBody[]> {
  const { rows } = await q.query<{ body: AccountEventBody }>(EVENTS_AFTER, [accountId, since, limit]);
  return rows.map((row) => row.body);
}
