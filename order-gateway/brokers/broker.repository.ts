import type { Queryable } from '../../platform/index.ts';
import type { BrokerHealth, BrokerState } from './broker-health.rules.ts';
import * as sql from './broker.sql.ts';

export interface BrokerRow {
  name: string;
  drained: boolean;
  drained_by: string | null;
  drained_at: Date | null;
  state: BrokerState;
  calls: number;
  failures: number;
  median_latency_ms: number | null;
  state_since: Date;
  observed_at: Date | null;
}

/** The stored standing of each named broker; a broker never stored yet has no row. */
export async function brokerRows(db: Queryable, names: readonly string[]): Promise<Map<string, BrokerRow>> {
  const { rows } = await db.query<BrokerRow>(sql.SELECT_BROKERS, [names]);
  return new Map(rows.map((row) => [row.name, row]));
}

export async function drainedBrokers(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(sql.SELECT_DRAINED);
  return rows.map((row) => row.name);
}

export async function recordHealth(
  db: Queryable,
  health: readonly ({ name: string } & Pick<BrokerHealth, 'state' | 'calls' | 'failures' | 'medianLatencyMs'>)[],
): Promise<void> {
  if (health.length === 0) return;
  await db.query(sql.UPSERT_HEALTH, [
    health.map((h) => h.name),
    health.map((h) => h.state),
    health.map((h) => h.calls),
    health.map((h) => h.failures),
    health.map((h) => (h.medianLatencyMs === null ? null : Math.round(h.medianLatencyMs))),
  ]);
}

export async function setDrained(db: Queryable, name: string, drained: boolean, operator: string): Promise<BrokerRow> {
  const { rows } = await db.query<BrokerRow>(sql.SET_DRAINED, [name, drained, operator]);
  return rows[0]!;
}

/** The broker the order is bound to after this: `broker`, or the one it was bound to before (null: no such order). */
export async function bindOrder(db: Queryable, orderId: string, broker: string): Promise<string | null> {
  const { rows } = await db.query<{ broker_id: string | null }>(sql.BIND_ORDER, [orderId, broker]);
  return rows[0]?.broker_id ?? null;
}

export async function unbindOrder(db: Queryable, orderId: string, broker: string): Promise<void> {
  await db.query(sql.UNBIND_ORDER, [orderId, broker]);
}
