import type { Queryable } from '../../platform/index.ts';
import type { AccountEventBody, AccountEventType } from './account-event.schemas.ts';
import { EVENTS_AFTER, INSERT_EVENTS, NOTIFY_ACCOUNTS, TAKE_EVENT_NUMBERS } from './account-event.sql.ts';

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
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.accountId, (counts.get(event.accountId) ?? 0) + 1);
  const { rows } = await tx.query<{ account_id: string; last_seq: string }>(TAKE_EVENT_NUMBERS, [
    [...counts.keys()],
    [...counts.values()],
  ]);
  const nextSeq = new Map(rows.map((row) => [row.account_id, Number(row.last_seq) - counts.get(row.account_id)! + 1]));
  const written = events.map((event) => {
    const seq = nextSeq.get(event.accountId)!;
    nextSeq.set(event.accountId, seq + 1);
    return { ...event.body, seq };
  });
  await tx.query(INSERT_EVENTS, [
    events.map((event) => event.accountId),
    written.map((body) => body.seq),
    written.map((body) => body.type),
    written.map((body) => body.order.id),
    written.map((body) => body.at),
    written.map((body) => JSON.stringify(body)),
  ]);
  await tx.query(NOTIFY_ACCOUNTS, [rows.map((row) => `${row.account_id}:${row.last_seq}`)]);
  return written;
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
