import type { Queryable } from '../../platform/index.ts';
import type { OrderContext, OrderStateValue, OrderStatus } from './order.machine.ts';
import {
  COUNT_OPEN_ORDERS,
  COUNT_OPEN_ORDERS_OF_ACCOUNTS,
  DELETE_REFUSED_ORDERS,
  INSERT_ORDERS_IF_NEW,
  ORDERS_BY_CLIENT_ORDER_IDS,
  FILLS_OF_ORDERS,
  INSERT_ANOMALIES,
  INSERT_FILLS,
  INSERT_ORDER_IF_NEW,
  INSERT_REPLACEMENT,
  listOrdersSql,
  LOCK_ORDERS,
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
  /** When the broker took the order, on the broker's clock: the order's trade date is its New York date. */
  broker_accepted_at: Date | null;
  machine_version: string;
  snapshot: { value: OrderStateValue; context: OrderContext };
  version: number;
  created_at: Date;
  updated_at: Date;
  /** The order this one replaced, and the one that replaced it (PATCH /v1/orders/{id}). */
  replaces: string | null;
  replaced_by: string | null;
  /** The broker it was routed to, for life; null before the request server sent it. */
  broker_id: string | null;
}

export interface FillRow {
  exec_id: string;
  order_id: string;
  quantity: string;
  price: string;
  commission: string;
  executed_at: Date;
}

/** An order read in one statement with its fills (`fills` as the database aggregated them). */
export type OrderWithFills = OrderRow & { fills: FillRow[] };

type FillJson = Omit<FillRow, 'executed_at'> & { executed_at: string };

export function withFills(row: OrderRow & { fills: FillJson[] }): OrderWithFills {
  return { ...row, fills: row.fills.map((fill) => ({ ...fill, executed_at: new Date(fill.executed_at) })) };
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

export interface NewReplacement extends NewOrder {
  replaces: string;
  brokerOrderId: string | null;
  brokerAcceptedAt: string | null;
}

export interface OrderStateUpdate {
  status: OrderStatus;
  filledQuantity: string;
  filledNotional: string;
  commissionAdded: string;
  rejectReason: string | null;
  brokerOrderId: string | null;
  /** An acknowledgement's time on the broker's clock; the earliest one is kept. */
  brokerAcceptedAt: string | null;
  snapshot: unknown;
  /** Set once, when the order is replaced. */
  replacedBy?: string | null;
}

/** The columns a new order and a replacement share, in the order both INSERTs list them. */
function newOrderParams(order: NewOrder): unknown[] {
  return [
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
  ];
}

/** SQL of the orders feature; every function runs on the caller's transaction or the pool. */
export const orderRepository = {
  async insertIfNew(q: Queryable, order: NewOrder): Promise<OrderRow | null> {
    const { rows } = await q.query<OrderRow>(INSERT_ORDER_IF_NEW, newOrderParams(order));
    return rows[0] ?? null;
  },

  /** New orders in one statement; returns the rows inserted (a duplicate clientOrderId inserts nothing). */
  async insertManyIfNew(q: Queryable, orders: readonly NewOrder[]): Promise<OrderRow[]> {
    const params = orders.map(newOrderParams);
    const { rows } = await q.query<OrderRow>({
      name: 'orders_insert_many_if_new',
      text: INSERT_ORDERS_IF_NEW,
      values: params[0]!.map((_, column) => params.map((row) => row[column])),
    });
    return rows;
  },

  async deleteRefused(q: Queryable, orderIds: readonly string[]): Promise<void> {
    if (orderIds.length > 0) await q.query(DELETE_REFUSED_ORDERS, [orderIds]);
  },

  /** Open orders of each account, each counted up to its `upTo`. */
  async countOpenOfAccounts(q: Queryable, accounts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const { rows } = await q.query<{ account_id: string; open: number }>({
      name: 'orders_count_open_of_accounts',
      text: COUNT_OPEN_ORDERS_OF_ACCOUNTS,
      values: [[...accounts.keys()], [...accounts.values()]],
    });
    return new Map(rows.map((row) => [row.account_id, row.open]));
  },

  async byClientOrderIds(
    q: Queryable,
    keys: readonly { accountId: string; clientOrderId: string }[],
  ): Promise<OrderWithFills[]> {
    const { rows } = await q.query<OrderRow & { fills: FillJson[] }>(ORDERS_BY_CLIENT_ORDER_IDS, [
      keys.map((key) => key.accountId),
      keys.map((key) => key.clientOrderId),
    ]);
    return rows.map(withFills);
  },

  /** Open orders of the account, counted up to `upTo`. */
  async countOpen(q: Queryable, accountId: string, upTo: number): Promise<number> {
    const { rows } = await q.query<{ open: number }>(COUNT_OPEN_ORDERS, [accountId, upTo]);
    return rows[0]!.open;
  },

  async byClientOrderId(q: Queryable, accountId: string, clientOrderId: string): Promise<OrderWithFills | null> {
    const { rows } = await q.query<OrderRow & { fills: FillJson[] }>(ORDER_BY_CLIENT_ORDER_ID, [
      accountId,
      clientOrderId,
    ]);
    return rows[0] ? withFills(rows[0]) : null;
  },

  /** The order with its fills, in one statement. */
  async ofAccount(q: Queryable, accountId: string, orderId: string): Promise<OrderWithFills | null> {
    const { rows } = await q.query<OrderRow & { fills: FillJson[] }>(ORDER_OF_ACCOUNT, [orderId, accountId]);
    return rows[0] ? withFills(rows[0]) : null;
  },

  /** Locks the order; its fills can change only under this lock, so the caller may read them after. */
  async lockOfAccount(q: Queryable, accountId: string, orderId: string): Promise<OrderRow | null> {
    const { rows } = await q.query<OrderRow>(LOCK_ORDER_OF_ACCOUNT, [orderId, accountId]);
    return rows[0] ?? null;
  },

  /** Locks the orders that exist among `orderIds`, in id order (two batches never wait on each other in a cycle). */
  async lockMany(q: Queryable, orderIds: readonly string[]): Promise<OrderRow[]> {
    const { rows } = await q.query<OrderRow>(LOCK_ORDERS, [orderIds]);
    return rows;
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
      update.brokerAcceptedAt,
      update.replacedBy ?? null,
    ]);
    return rowCount === 1;
  },

  /** Null when the clientOrderId is taken in the account. */
  async insertReplacement(q: Queryable, order: NewReplacement): Promise<OrderRow | null> {
    const { rows } = await q.query<OrderRow>(INSERT_REPLACEMENT, [
      ...newOrderParams(order),
      order.brokerOrderId,
      order.brokerAcceptedAt,
      order.replaces,
    ]);
    return rows[0] ?? null;
  },

  async list(
    q: Queryable,
    accountId: string,
    status: 'open' | 'closed' | 'all',
    afterSeq: string | null,
    limit: number,
  ): Promise<OrderWithFills[]> {
    const { rows } = await q.query<OrderRow & { fills: FillJson[] }>(listOrdersSql(status), [
      accountId,
      afterSeq,
      limit,
    ]);
    return rows.map(withFills);
  },

  async fillsOf(q: Queryable, orderIds: readonly string[]): Promise<FillRow[]> {
    if (orderIds.length === 0) return [];
    const { rows } = await q.query<FillRow>(FILLS_OF_ORDERS, [orderIds]);
    return rows;
  },

  /** Inserts the fills; one already recorded (same execId) is left as it is. */
  async insertFills(
    q: Queryable,
    fills: readonly {
      execId: string;
      orderId: string;
      quantity: string;
      price: string;
      commission: string;
      at: string;
    }[],
  ): Promise<void> {
    if (fills.length === 0) return;
    await q.query(INSERT_FILLS, [
      fills.map((f) => f.execId),
      fills.map((f) => f.orderId),
      fills.map((f) => f.quantity),
      fills.map((f) => f.price),
      fills.map((f) => f.commission),
      fills.map((f) => f.at),
    ]);
  },

  async recordAnomalies(
    q: Queryable,
    anomalies: readonly { orderId: string | null; kind: string; detail: string; event: unknown; execId?: string }[],
  ): Promise<void> {
    if (anomalies.length === 0) return;
    await q.query(INSERT_ANOMALIES, [
      anomalies.map((a) => a.orderId),
      anomalies.map((a) => a.kind),
      anomalies.map((a) => a.detail),
      anomalies.map((a) => JSON.stringify(a.event)),
      anomalies.map((a) => a.execId ?? null),
    ]);
  },
};
