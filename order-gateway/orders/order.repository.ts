import type { Queryable } from '../../platform/index.ts';
import type { OrderContext, OrderStateValue, OrderStatus } from './order.machine.ts';
import {
  FILLS_OF_ORDERS,
  INSERT_ANOMALY,
  INSERT_FILL,
  INSERT_ORDER_IF_NEW,
  listOrdersSql,
  LOCK_ORDER,
  LOCK_ORDER_OF_ACCOUNT,
  ORDER_BY_CLIENT_ORDER_ID,
  ORDER_OF_ACCOUNT,
  UPDATE_ORDER_STATE,
} from './order.sql.ts';

export interface OrderRow {
  id: string;
  seq: string;
  account_id: string;
  client_order_id: string;
  request_hash: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  quantity: string;
  limit_price: string | null;
  worst_price: string;
  time_in_force: 'day' | 'gtc' | 'ioc';
  extended_hours: boolean;
  status: OrderStatus;
  filled_quantity: string;
  filled_notional: string;
  commission: string;
  reject_reason: string | null;
  broker_order_id: string | null;
  machine_version: string;
  snapshot: { value: OrderStateValue; context: OrderContext };
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface FillRow {
  exec_id: string;
  order_id: string;
  quantity: string;
  price: string;
  commission: string;
  executed_at: Date;
}

export interface NewOrder {
  id: string;
  accountId: string;
  clientOrderId: string;
  requestHash: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  quantity: string;
  limitPrice: string | null;
  worstPrice: string;
  timeInForce: 'day' | 'gtc' | 'ioc';
  extendedHours: boolean;
  status: OrderStatus;
  machineVersion: string;
  snapshot: unknown;
}

export interface OrderStateUpdate {
  status: OrderStatus;
  filledQuantity: string;
  filledNotional: string;
  commissionAdded: string;
  rejectReason: string | null;
  brokerOrderId: string | null;
  snapshot: unknown;
}

/** SQL of the orders feature; every function runs on the caller's transaction or the pool. */
export const orderRepository = {
  async insertIfNew(q: Queryable, order: NewOrder): Promise<OrderRow | null> {
    const { rows } = await q.query<OrderRow>(INSERT_ORDER_IF_NEW, [
      order.id,
      order.accountId,
      order.clientOrderId,
      order.requestHash,
      order.symbol,
      order.side,
      order.type,
      order.quantity,
      order.limitPrice,
      order.worstPrice,
      order.timeInForce,
      order.extendedHours,
      order.status,
      order.machineVersion,
      JSON.stringify(order.snapshot),
    ]);
    return rows[0] ?? null;
  },

  async byClientOrderId(q: Queryable, accountId: string, clientOrderId: string): Promise<OrderRow | null> {
    const { rows } = await q.query<OrderRow>(ORDER_BY_CLIENT_ORDER_ID, [accountId, clientOrderId]);
    return rows[0] ?? null;
  },

  async ofAccount(q: Queryable, accountId: string, orderId: string, options: { lock?: boolean } = {}): Promise<OrderRow | null> {
    const { rows } = await q.query<OrderRow>(options.lock ? LOCK_ORDER_OF_ACCOUNT : ORDER_OF_ACCOUNT, [orderId, accountId]);
    return rows[0] ?? null;
  },

  async lock(q: Queryable, orderId: string): Promise<OrderRow | null> {
    const { rows } = await q.query<OrderRow>(LOCK_ORDER, [orderId]);
    return rows[0] ?? null;
  },

  /** Optimistic second guard behind the row lock: false when the version moved. */
  async updateState(q: Queryable, orderId: string, version: number, update: OrderStateUpdate): Promise<boolean> {
    const { rowCount } = await q.query(UPDATE_ORDER_STATE, [
      orderId,
      version,
      update.status,
      update.filledQuantity,
      update.filledNotional,
      update.commissionAdded,
      update.rejectReason,
      update.brokerOrderId,
      JSON.stringify(update.snapshot),
    ]);
    return rowCount === 1;
  },

  async list(q: Queryable, accountId: string, status: 'open' | 'closed' | 'all', afterSeq: string | null, limit: number): Promise<OrderRow[]> {
    const { rows } = await q.query<OrderRow>(listOrdersSql(status), [accountId, afterSeq, limit]);
    return rows;
  },

  async fillsOf(q: Queryable, orderIds: readonly string[]): Promise<FillRow[]> {
    if (orderIds.length === 0) return [];
    const { rows } = await q.query<FillRow>(FILLS_OF_ORDERS, [orderIds]);
    return rows;
  },

  async insertFill(q: Queryable, fill: { execId: string; orderId: string; quantity: string; price: string; commission: string; at: string }): Promise<boolean> {
    const { rowCount } = await q.query(INSERT_FILL, [fill.execId, fill.orderId, fill.quantity, fill.price, fill.commission, fill.at]);
    return rowCount === 1;
  },

  async recordAnomaly(q: Queryable, anomaly: { orderId: string | null; kind: string; detail: string; event: unknown }): Promise<void> {
    await q.query(INSERT_ANOMALY, [anomaly.orderId, anomaly.kind, anomaly.detail, JSON.stringify(anomaly.event)]);
  },
};
