import type { Queryable } from '../../../platform/database.ts';
import { dec, formatCash, formatQuantity } from '../../../platform/decimal.ts';
import type { BrokerOrderStatus, ExecutionReport } from '../../executions/execution-report.schemas.ts';
import { leaves, type MatchableOrder, type Side, type TimeInForce } from '../matching/order.matching.ts';
import type {
  BrokerOrder,
  CashStatement,
  ParsedOrderRequest,
  PositionsStatement,
} from '../../client/broker-order.schemas.ts';
import * as sql from './broker.sql.ts';

export interface OrderRow {
  broker_order_id: string;
  client_order_id: string;
  account: string;
  symbol: string;
  side: Side;
  type: 'market' | 'limit';
  quantity: string;
  limit_price: string | null;
  collar_price: string | null;
  time_in_force: TimeInForce;
  extended_hours: boolean;
  status: BrokerOrderStatus;
  cumulative_quantity: string;
  cumulative_notional: string;
  cancel_requested: boolean;
  fills_in_parts: boolean;
  reject_reason: string | null;
  expires_at: Date | null;
  report_count: number;
  request: ParsedOrderRequest;
  trade_date: string;
  created_at: Date;
  updated_at: Date;
  matched_at: Date | null;
  /** A replacement: the broker id of the order it replaced. */
  replaces: string | null;
}

export interface NewOrder {
  brokerOrderId: string;
  request: ParsedOrderRequest;
  fillsInParts: boolean;
  expiresAt: Date | null;
  tradeDate: string;
  at: Date;
  replaces?: string | null;
}

/** Inserts the order unless its client order id is known; null when it was. */
export async function insertOrder(db: Queryable, order: NewOrder): Promise<OrderRow | null> {
  const r = order.request;
  const { rows } = await db.query<OrderRow>(sql.INSERT_ORDER, [
    order.brokerOrderId,
    r.clientOrderId,
    r.account,
    r.symbol,
    r.side,
    r.type,
    r.quantity,
    r.limitPrice ?? null,
    r.collarPrice ?? null,
    r.timeInForce,
    r.extendedHours,
    order.fillsInParts,
    order.expiresAt,
    JSON.stringify(r),
    order.tradeDate,
    order.at,
    order.replaces ?? null,
  ]);
  return rows[0] ?? null;
}

export async function findOrderByClientOrderId(db: Queryable, clientOrderId: string): Promise<OrderRow | null> {
  const { rows } = await db.query<OrderRow>(sql.SELECT_ORDER_BY_CLIENT_ID, [clientOrderId]);
  return rows[0] ?? null;
}

export async function findOrder(db: Queryable, brokerOrderId: string): Promise<OrderRow | null> {
  const { rows } = await db.query<OrderRow>(sql.SELECT_ORDER, [brokerOrderId]);
  return rows[0] ?? null;
}

export async function reportsOfOrder(db: Queryable, brokerOrderId: string): Promise<unknown[]> {
  const { rows } = await db.query<{ report: unknown }>(sql.REPORTS_OF_ORDER, [brokerOrderId]);
  return rows.map((row) => row.report);
}

export async function lockOrder(db: Queryable, brokerOrderId: string): Promise<OrderRow | null> {
  const { rows } = await db.query<OrderRow>(sql.LOCK_ORDER, [brokerOrderId]);
  return rows[0] ?? null;
}

export async function openOrders(db: Queryable): Promise<OrderRow[]> {
  const { rows } = await db.query<OrderRow>(sql.SELECT_OPEN_ORDERS);
  return rows;
}

export function toMatchable(row: OrderRow): MatchableOrder {
  return {
    side: row.side,
    type: row.type,
    quantity: dec(row.quantity),
    limitPrice: row.limit_price === null ? null : dec(row.limit_price),
    collarPrice: row.collar_price === null ? null : dec(row.collar_price),
    timeInForce: row.time_in_force,
    extendedHours: row.extended_hours,
    status: row.status,
    cumulativeQuantity: dec(row.cumulative_quantity),
    cumulativeNotional: dec(row.cumulative_notional),
    cancelRequested: row.cancel_requested,
    expiresAt: row.expires_at,
    fillsInParts: row.fills_in_parts,
  };
}

export async function updateOrder(
  db: Queryable,
  brokerOrderId: string,
  order: MatchableOrder,
  rejectReason: string | null,
  reportCount: number,
  at: Date,
  matchedAt: Date | null,
): Promise<OrderRow> {
  const { rows } = await db.query<OrderRow>(sql.UPDATE_ORDER, [
    brokerOrderId,
    order.status,
    order.cumulativeQuantity.toFixed(),
    order.cumulativeNotional.toFixed(),
    order.cancelRequested,
    rejectReason,
    reportCount,
    at,
    matchedAt,
  ]);
  return rows[0]!;
}

export interface PlannedReport {
  /** The report without its sequence number, which the database assigns. */
  report: Omit<ExecutionReport, 'sequence'>;
  dropped: boolean;
  /** Real times at which the report is due at the fill receiver; two for a duplicate, none when dropped. */
  deliveries: Date[];
}

/** Numbers the reports consecutively and stores them with their deliveries; the last statement of a transaction. */
export async function insertReports(
  db: Queryable,
  reports: readonly PlannedReport[],
  tradeDate: string,
  at: Date,
): Promise<void> {
  await db.query(sql.INSERT_REPORTS, [JSON.stringify(reports), tradeDate, at]);
}

export interface DueDelivery {
  id: string;
  attempts: number;
  report: ExecutionReport;
}

export async function dueDeliveries(db: Queryable, now: Date, limit: number): Promise<DueDelivery[]> {
  const { rows } = await db.query<DueDelivery>(sql.SELECT_DUE_DELIVERIES, [now, limit]);
  return rows;
}

/** Records one answered push: the accepted reports are delivered, the refused ones set aside for good. */
export async function markPushed(
  db: Queryable,
  delivered: readonly string[],
  refused: readonly string[],
  reason: string,
): Promise<void> {
  if (delivered.length > 0) await db.query(sql.MARK_DELIVERED, [delivered]);
  if (refused.length > 0) await db.query(sql.MARK_REFUSED, [refused, reason.slice(0, 500)]);
}

export async function markFailed(db: Queryable, ids: readonly string[], error: string): Promise<void> {
  await db.query(sql.MARK_FAILED, [ids, error.slice(0, 500)]);
}

export async function pendingDeliveries(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ pending: number }>(sql.COUNT_PENDING_DELIVERIES);
  return rows[0]!.pending;
}

export function toBrokerOrder(row: OrderRow): BrokerOrder {
  const order = toMatchable(row);
  return {
    brokerOrderId: row.broker_order_id,
    clientOrderId: row.client_order_id,
    account: row.account,
    symbol: row.symbol,
    side: row.side,
    type: row.type,
    quantity: formatQuantity(order.quantity),
    limitPrice: row.limit_price === null ? null : dec(row.limit_price).toFixed(),
    collarPrice: row.collar_price === null ? null : dec(row.collar_price).toFixed(),
    timeInForce: row.time_in_force,
    extendedHours: row.extended_hours,
    status: row.status,
    cumulativeQuantity: formatQuantity(order.cumulativeQuantity),
    leavesQuantity: formatQuantity(leaves(order)),
    averagePrice: order.cumulativeQuantity.gt(0)
      ? order.cumulativeNotional.div(order.cumulativeQuantity).toDecimalPlaces(4).toFixed(4)
      : '0',
    rejectReason: row.reject_reason,
    replaces: row.replaces,
    expiresAt: row.expires_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function executionsOfDate(db: Queryable, date: string): Promise<ExecutionReport[]> {
  const { rows } = await db.query<{ report: ExecutionReport }>(sql.STATEMENT_EXECUTIONS, [date]);
  return rows.map((row) => row.report);
}

export async function ordersOfDate(db: Queryable, date: string): Promise<BrokerOrder[]> {
  const { rows } = await db.query<OrderRow>(sql.STATEMENT_ORDERS, [date]);
  return rows.map(toBrokerOrder);
}

export async function positionsAt(db: Queryable, date: string): Promise<PositionsStatement> {
  const { rows } = await db.query<{ symbol: string; quantity: string }>(sql.STATEMENT_POSITIONS, [date]);
  return { date, positions: rows.map((row) => ({ symbol: row.symbol, quantity: formatQuantity(dec(row.quantity)) })) };
}

export async function cashAt(db: Queryable, date: string): Promise<CashStatement> {
  const { rows } = await db.query<{ balance: string; bought: string; sold: string }>(sql.STATEMENT_CASH, [date]);
  const row = rows[0]!;
  const cash = (value: string): string => formatCash(dec(value));
  return { date, currency: 'USD', balance: cash(row.balance), bought: cash(row.bought), sold: cash(row.sold) };
}

/** One stored report by its execId, with its kind and trade date; null when the broker never made it. */
export async function findExecution(db: Queryable, execId: string): Promise<StoredExecution | null> {
  const { rows } = await db.query<StoredExecution>(sql.SELECT_EXECUTION, [execId]);
  return rows[0] ?? null;
}

export interface StoredExecution {
  exec_type: string;
  report: ExecutionReport;
  trade_date: string;
}

/** The bust or correct that amended an execution; null while it stands. */
export async function findAmendment(db: Queryable, execId: string): Promise<StoredExecution | null> {
  const { rows } = await db.query<StoredExecution>(sql.SELECT_AMENDMENT, [execId]);
  return rows[0] ?? null;
}

export async function amendOrder(
  db: Queryable,
  brokerOrderId: string,
  amended: { cumulativeQuantity: string; cumulativeNotional: string; status: string; at: Date },
): Promise<OrderRow> {
  const { rows } = await db.query<OrderRow>(sql.AMEND_ORDER, [
    brokerOrderId,
    amended.cumulativeQuantity,
    amended.cumulativeNotional,
    amended.status,
    amended.at,
  ]);
  return rows[0]!;
}

/** `bust_after`: trades due to be busted now (a page of them). */
export async function tradesToBust(db: Queryable, after: string, madeBy: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ exec_id: string }>(sql.TRADES_TO_BUST, [after, madeBy, limit]);
  return rows.map((row) => row.exec_id);
}
