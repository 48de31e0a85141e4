import type { Queryable } from '../../platform/index.ts';
import { listAnomalies } from '../anomalies/anomaly.repository.ts';
import type { AnomalyView } from '../anomalies/anomaly.schemas.ts';
import { TRADE_CORRECTION_FOR_OPS } from '../executions/execution-report.rules.ts';
import { REPORT_FROM_OTHER_BROKER } from '../executions/report-broker.ts';
import { withFills, type OrderRow } from '../orders/order.repository.ts';
import type { OrderStatus } from '../orders/order.machine.ts';
import type { OrderView } from '../orders/order.schemas.ts';
import { toView } from '../orders/order.view.ts';
import { SHORT_AFTER_BUST } from '../orders/trade-correction.service.ts';
import * as sql from './ops-read.sql.ts';

/** The alarm kinds among the anomalies (docs/operations.md): each wants a person, not just a record. */
export const ALARM_KINDS = [
  'FILL_EXCEEDS_QUANTITY',
  'FILL_ON_FINAL_ORDER',
  'REJECTED_AFTER_FILL',
  'FILL_OUTSIDE_TERMS',
  TRADE_CORRECTION_FOR_OPS,
  SHORT_AFTER_BUST,
  REPORT_FROM_OTHER_BROKER,
];

/** A submission is stuck once it has been due this long and no request server has moved it. */
export const STUCK_AFTER_SECONDS = 60;

export interface OrderSearch {
  accountId?: string | undefined;
  clientOrderId?: string | undefined;
  symbol?: string | undefined;
  status?: OrderStatus | undefined;
  /** New York trade date, YYYY-MM-DD. */
  date?: string | undefined;
  limit: number;
  after?: string | undefined;
}

export interface TimelineEntry {
  at: string;
  /** Who wrote it. */
  source: 'order' | 'request-server' | 'broker' | 'ledger' | 'events' | 'ops';
  kind: string;
  detail: string;
}

type OrderRowWithFills = OrderRow & {
  fills: {
    exec_id: string;
    order_id: string;
    quantity: string;
    price: string;
    commission: string;
    executed_at: string;
    state: 'active' | 'busted' | 'corrected';
    corrects: string | null;
    ended_by: string | null;
  }[];
};

export async function searchOrders(
  db: Queryable,
  search: OrderSearch,
): Promise<{ orders: OrderView[]; next: string | null }> {
  const { rows } = await db.query<OrderRowWithFills>(sql.SEARCH_ORDERS, [
    search.accountId ?? null,
    search.clientOrderId ?? null,
    search.symbol ?? null,
    search.status ?? null,
    search.date ?? null,
    search.after ?? null,
    search.limit + 1,
  ]);
  const page = rows.slice(0, search.limit).map(withFills);
  return {
    orders: page.map((row) => toView(row, row.fills)),
    next: rows.length > search.limit ? page[page.length - 1]!.seq : null,
  };
}

export async function orderById(db: Queryable, orderId: string): Promise<OrderView | null> {
  if (!isUuid(orderId)) return null;
  const { rows } = await db.query<OrderRowWithFills>(sql.ORDER_BY_ID, [orderId]);
  const row = rows[0] ? withFills(rows[0]) : null;
  return row ? toView(row, row.fills) : null;
}

/**
 * What the order gateway knows of an order's life: placement, each request to the broker, each fill
 * applied, each report refused or ignored, the open-order check, ops actions (not yet sorted).
 */
export async function orderTimeline(db: Queryable, order: OrderView): Promise<TimelineEntry[]> {
  const [submissions, fills, anomalies, checks, events, audit] = await Promise.all([
    db.query<{
      kind: string;
      state: string;
      attempts: number;
      request_no: number;
      last_error: string | null;
      broker_order_id: string | null;
      created_at: Date;
      updated_at: Date;
    }>(sql.SUBMISSIONS_OF_ORDER, [order.id]),
    db.query<{
      exec_id: string;
      quantity: string;
      price: string;
      commission: string;
      executed_at: Date;
      recorded_at: Date;
    }>(sql.FILLS_OF_ORDER, [order.id]),
    db.query<{ id: string; kind: string; exec_id: string | null; detail: string; recorded_at: Date }>(
      sql.ANOMALIES_OF_ORDER,
      [order.id],
    ),
    db.query<{ checked_at: Date; checks: number }>(sql.OPEN_ORDER_CHECK_OF_ORDER, [order.id]),
    db.query<{ seq: string; type: string; at: Date }>(sql.EVENTS_OF_ORDER, [order.id]),
    db.query<{ at: Date; operator: string; action: string; detail: unknown }>(sql.AUDIT_OF_TARGET, [order.id]),
  ]);
  const price = order.limitPrice ? ` at ${order.limitPrice}` : ' at the market';
  const entries: TimelineEntry[] = [
    {
      at: order.createdAt,
      source: 'order',
      kind: 'placed',
      detail: `${order.side} ${order.quantity} ${order.symbol} ${order.type}${price}, ${order.timeInForce} (client order id ${order.clientOrderId})`,
    },
  ];
  for (const s of submissions.rows) {
    entries.push({
      at: s.created_at.toISOString(),
      source: 'request-server',
      kind: `${s.kind}.queued`,
      detail: s.request_no > 1 ? `request ${s.request_no}` : 'request received from the outbox',
    });
    entries.push({
      at: s.updated_at.toISOString(),
      source: 'request-server',
      kind: `${s.kind}.${s.state}`,
      detail: [
        `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`,
        s.broker_order_id ? `broker order ${s.broker_order_id}` : null,
        s.last_error ? `last error: ${s.last_error}` : null,
      ]
        .filter(Boolean)
        .join('; '),
    });
  }
  for (const f of fills.rows) {
    entries.push({
      at: f.executed_at.toISOString(),
      source: 'broker',
      kind: 'fill',
      detail: `${f.exec_id}: ${f.quantity} at ${f.price}, commission ${f.commission} (applied ${f.recorded_at.toISOString()})`,
    });
  }
  for (const a of anomalies.rows) {
    entries.push({
      at: a.recorded_at.toISOString(),
      source: 'broker',
      kind: ALARM_KINDS.includes(a.kind) ? `alarm ${a.kind}` : `report ${a.kind}`,
      detail: a.detail,
    });
  }
  for (const c of checks.rows) {
    entries.push({
      at: c.checked_at.toISOString(),
      source: 'request-server',
      kind: 'open_order_check',
      detail: `asked the broker ${c.checks} time${c.checks === 1 ? '' : 's'}; last at this time`,
    });
  }
  // What the client was told, and in which order: a support question starts from there.
  for (const e of events.rows) {
    entries.push({
      at: e.at.toISOString(),
      source: 'events',
      kind: `event ${e.type}`,
      detail: `number ${e.seq} of the account's event stream (GET /v1/events)`,
    });
  }
  for (const a of audit.rows) {
    entries.push({
      at: a.at.toISOString(),
      source: 'ops',
      kind: a.action,
      detail: `by ${a.operator} ${JSON.stringify(a.detail ?? {})}`,
    });
  }
  return entries;
}

/** Where the order stands now: the last line of its timeline. */
export function currentStatusEntry(order: OrderView): TimelineEntry {
  return { at: order.updatedAt, source: 'order', kind: `status ${order.status}`, detail: statusDetail(order) };
}

function statusDetail(order: OrderView): string {
  const parts = [`filled ${order.filledQuantity} of ${order.quantity}`];
  if (order.averageFillPrice) parts.push(`average ${order.averageFillPrice}`);
  if (order.rejectReason) parts.push(`reason: ${order.rejectReason}`);
  if (order.lastRejection) parts.push(`last ${order.lastRejection.action} refused: ${order.lastRejection.code}`);
  return parts.join(', ');
}

export interface OpsOverview {
  outboxBacklog: number;
  outboxOldestSeconds: number | null;
  parkedReports: number;
  parkedMessages: number;
  submissionsDue: { state: string; count: number; stuck: number }[];
  stuckSubmissions: {
    orderId: string;
    kind: string;
    state: string;
    attempts: number;
    lastError: string | null;
    dueSince: string;
  }[];
  /** Anomalies of the last 24 hours by kind, with whether the kind is an alarm. */
  anomaliesByKind: { kind: string; count: number; alarm: boolean }[];
}

/** What waits today, in one read of cheap counts. */
export async function opsOverview(db: Queryable): Promise<OpsOverview> {
  const [counts, due, stuck, anomalies] = await Promise.all([
    db.query<{
      outbox_backlog: number;
      outbox_oldest_seconds: number | null;
      parked_reports: number;
      parked_messages: number;
    }>(sql.OVERVIEW),
    submissionsDueByState(db),
    db.query<{
      order_id: string;
      kind: string;
      state: string;
      attempts: number;
      last_error: string | null;
      next_attempt_at: Date;
    }>(sql.STUCK_SUBMISSIONS, [STUCK_AFTER_SECONDS, 50]),
    db.query<{ kind: string; n: number }>(sql.ANOMALIES_SINCE_BY_KIND, [24 * 3600]),
  ]);
  const c = counts.rows[0]!;
  return {
    outboxBacklog: c.outbox_backlog,
    outboxOldestSeconds: c.outbox_oldest_seconds,
    parkedReports: c.parked_reports,
    parkedMessages: c.parked_messages,
    submissionsDue: due,
    stuckSubmissions: stuck.rows.map((r) => ({
      orderId: r.order_id,
      kind: r.kind,
      state: r.state,
      attempts: r.attempts,
      lastError: r.last_error,
      dueSince: r.next_attempt_at.toISOString(),
    })),
    anomaliesByKind: anomalies.rows.map((r) => ({ kind: r.kind, count: r.n, alarm: ALARM_KINDS.includes(r.kind) })),
  };
}

export async function submissionsDueByState(db: Queryable): Promise<{ state: string; count: number; stuck: number }[]> {
  const { rows } = await db.query<{ state: string; n: number; stuck: number }>(sql.SUBMISSIONS_DUE_BY_STATE, [
    STUCK_AFTER_SECONDS,
  ]);
  return rows.map((r) => ({ state: r.state, count: r.n, stuck: r.stuck }));
}

/** Live orders by status: the partial index on live orders answers it at any size of history. */
export async function liveOrdersByStatus(db: Queryable): Promise<{ status: string; count: number }[]> {
  const { rows } = await db.query<{ status: string; n: number }>(sql.LIVE_ORDERS_BY_STATUS);
  return rows.map((r) => ({ status: r.status, count: r.n }));
}

export async function listAlarms(
  db: Queryable,
  query: { limit: number; after?: string | undefined },
): Promise<{ alarms: AnomalyView[]; next: string | null }> {
  const { anomalies, next } = await listAnomalies(db, { ...query, kinds: ALARM_KINDS });
  return { alarms: anomalies, next };
}

export interface OpsAccountView {
  accountId: string;
  name: string;
  createdAt: string;
  openOrders: number;
}

/** Accounts newest first; `q` matches a part of the name or the whole id. The cursor is opaque. */
export async function listAccounts(
  db: Queryable,
  query: { q?: string | undefined; limit: number; after?: string | undefined },
): Promise<{ accounts: OpsAccountView[]; next: string | null }> {
  const cursor = query.after ? decodeAccountCursor(query.after) : null;
  const { rows } = await db.query<{ id: string; name: string; created_at: Date; open_orders: number }>(
    sql.ACCOUNTS_PAGE,
    [query.q ?? null, cursor?.createdAt ?? null, cursor?.id ?? null, query.limit + 1],
  );
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    accounts: page.map((r) => ({
      accountId: r.id,
      name: r.name,
      createdAt: r.created_at.toISOString(),
      openOrders: r.open_orders,
    })),
    next: rows.length > query.limit && last ? encodeAccountCursor(last.created_at, last.id) : null,
  };
}

export function encodeAccountCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

/** A cursor this server did not make is refused by the caller's schema before it gets here. */
export function decodeAccountCursor(cursor: string): { createdAt: string; id: string } | null {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !isUuid(id)) return null;
  return { createdAt, id };
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
