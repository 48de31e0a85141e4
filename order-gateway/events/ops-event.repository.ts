import type { Queryable } from '../../platform/index.ts';
import type { OpsEventBody } from './event.schemas.ts';

/** The channel migration 0011's triggers notify on at commit (payload: the ops event's seq). */
export const OPS_EVENTS_CHANNEL = 'ops_events';

const OPS_EVENTS_AFTER = `
  SELECT body FROM ops_events WHERE seq > $1 ORDER BY seq LIMIT $2`;

/** The operations side's events after `since` (alarms and parked messages, migration 0011). */
export async function opsEventsAfter(q: Queryable, since: number, limit: number): Promise<OpsEventBody[]> {
  const { rows } = await q.query<{ body: OpsEventBody }>(OPS_EVENTS_AFTER, [since, limit]);
  return rows.map((row) => row.body);
}
