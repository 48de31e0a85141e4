import type { BrokerClient, ExecutionsStatement, OrdersStatement } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { dec, roundCash, ZERO, type Decimal, type Pool } from '../../platform/index.ts';
import {
  CANCELS_NOT_ENDED,
  FILLED_NOT_SUM_OF_FILLS,
  FILLS_ON_REJECTED,
  OPEN_WITHOUT_REASON,
  OUR_FILLS,
  OUR_ORDERS,
  OVERFILLED,
  REACHED_BROKER_AT,
  STATUSES,
} from './session.invariants.sql.ts';

export interface Violation {
  check: string;
  message: string;
}

const FINAL = new Set(['filled', 'canceled', 'rejected', 'expired', 'replaced']);

/**
 * Remembers every order's status each time the system is quiet, so that an order seen final and
 * later seen otherwise is caught: final statuses are absorbing.
 */
export class FinalStatusWatch {
  private readonly seenFinal = new Map<string, string>();
  readonly violations: Violation[] = [];

  async observe(pool: Pool): Promise<void> {
    const { rows } = await pool.query<{ id: string; status: string }>(STATUSES);
    for (const row of rows) {
      const before = this.seenFinal.get(row.id);
      if (before !== undefined && before !== row.status) {
        this.violations.push({ check: 'final-absorbing', message: `order ${row.id} was ${before}, now ${row.status}` });
      }
      if (FINAL.has(row.status)) this.seenFinal.set(row.id, row.status);
    }
  }
}

/** Order invariants of docs/api.md on our own tables. */
export async function checkOrderInvariants(pool: Pool): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const row of (await pool.query<{ id: string; filled: string; fills: string }>(FILLED_NOT_SUM_OF_FILLS)).rows) {
    violations.push({
      check: 'filled-is-sum-of-fills',
      message: `order ${row.id}: filledQuantity ${row.filled}, fills sum to ${row.fills}`,
    });
  }
  for (const row of (await pool.query<{ id: string; filled: string; quantity: string }>(OVERFILLED)).rows) {
    violations.push({ check: 'not-overfilled', message: `order ${row.id}: filled ${row.filled} of ${row.quantity}` });
  }
  for (const row of (await pool.query<{ id: string; fills: number }>(FILLS_ON_REJECTED)).rows) {
    violations.push({ check: 'no-fill-on-rejected', message: `rejected order ${row.id} has ${row.fills} fills` });
  }
  return violations;
}

/**
 * Our books against the broker's statements of the trading dates played (several brokers: their
 * statements merged, `mergedStatements`): every day's orders and
 * executions, and the positions and cash as of the last day (the broker's are cumulative).
 */
export async function checkAgainstStatements(
  pool: Pool,
  broker: Pick<BrokerClient, 'getStatement'>,
  dates: readonly string[],
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const last = dates.at(-1)!;
  const orders: Pick<OrdersStatement, 'orders'> = { orders: [] };
  const executions: Pick<ExecutionsStatement, 'executions'> = { executions: [] };
  for (const date of dates) {
    const daily = await broker.getStatement('orders', date);
    // An order traded over several days is listed on each; its status is the same today on every one.
    const listed = new Set(orders.orders.map((o) => o.clientOrderId));
    orders.orders.push(...daily.orders.filter((o) => !listed.has(o.clientOrderId)));
    executions.executions.push(...(await broker.getStatement('executions', date)).executions);
  }
  const [positions, cash] = [await broker.getStatement('positions', last), await broker.getStatement('cash', last)];
  const ourOrders = new Map(
    (await pool.query<{ order_id: string; status: string; filled_quantity: string }>(OUR_ORDERS)).rows.map((row) => [
      row.order_id,
      row,
    ]),
  );
  const ourFills = (
    await pool.query<{
      exec_id: string;
      order_id: string;
      symbol: string;
      side: 'buy' | 'sell';
      quantity: string;
      price: string;
    }>(OUR_FILLS)
  ).rows;

  for (const theirs of orders.orders) {
    const ours = ourOrders.get(theirs.clientOrderId);
    if (!ours) {
      violations.push({
        check: 'statement-orders',
        message: `broker order ${theirs.brokerOrderId} (${theirs.clientOrderId}) is not in our books`,
      });
      continue;
    }
    if (ours.status !== theirs.status || !dec(ours.filled_quantity).eq(theirs.cumulativeQuantity)) {
      violations.push({
        check: 'statement-orders',
        message: `order ${theirs.clientOrderId}: ours ${ours.status} ${ours.filled_quantity} filled, broker ${theirs.status} ${theirs.cumulativeQuantity}`,
      });
    }
  }

  const theirTrades = new Set(
    executions.executions
      // What stands at the broker: its trades and its corrections of trades (a busted trade is not listed).
      .filter((report) => report.execType === 'trade' || report.execType === 'trade_correct')
      .map((report) => report.execId),
  );
  const ourExecIds = new Set(ourFills.map((fill) => fill.exec_id));
  for (const execId of theirTrades) {
    if (!ourExecIds.has(execId))
      violations.push({ check: 'statement-executions', message: `broker trade ${execId} is not among our fills` });
  }
  for (const execId of ourExecIds) {
    if (!theirTrades.has(execId))
      violations.push({
        check: 'statement-executions',
        message: `our fill ${execId} is not in the broker's executions`,
      });
  }

  const ourPositions = new Map<string, Decimal>();
  const perOrder = new Map<string, { side: 'buy' | 'sell'; notional: Decimal }>();
  for (const fill of ourFills) {
    const signed = fill.side === 'buy' ? dec(fill.quantity) : dec(fill.quantity).neg();
    ourPositions.set(fill.symbol, (ourPositions.get(fill.symbol) ?? ZERO).plus(signed));
    const order = perOrder.get(fill.order_id) ?? { side: fill.side, notional: ZERO };
    order.notional = order.notional.plus(dec(fill.quantity).mul(fill.price));
    perOrder.set(fill.order_id, order);
  }
  const theirPositions = new Map(positions.positions.map((p) => [p.symbol, dec(p.quantity)]));
  for (const symbol of new Set([...ourPositions.keys(), ...theirPositions.keys()])) {
    const ours = ourPositions.get(symbol) ?? ZERO;
    const theirs = theirPositions.get(symbol) ?? ZERO;
    if (!ours.eq(theirs))
      violations.push({
        check: 'statement-positions',
        message: `${symbol}: ours ${ours.toString()}, broker ${theirs.toString()}`,
      });
  }

  let ourCash = ZERO;
  for (const order of perOrder.values()) {
    const amount = roundCash(order.notional);
    ourCash = order.side === 'sell' ? ourCash.plus(amount) : ourCash.minus(amount);
  }
  if (!ourCash.eq(cash.balance))
    violations.push({
      check: 'statement-cash',
      message: `net trade cash: ours ${ourCash.toFixed(2)}, broker ${cash.balance}`,
    });
  return violations;
}

export async function checkLedger(pool: Pool): Promise<Violation[]> {
  return (await checkLedgerInvariants(pool)).map((violation) => ({
    check: `ledger:${violation.code}`,
    message: violation.message,
  }));
}

/**
 * Every cancel the API accepted: the order never reached the broker after it (a cancel asked before
 * the open must stop the order going out at the open), and every cancel has ended (accepted, refused
 * as too late, or the order final).
 */
export async function checkCancels(
  pool: Pool,
  accepted: readonly { orderId: string; at: Date }[],
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const askedAt = new Map<string, Date>();
  for (const cancel of accepted) {
    const earlier = askedAt.get(cancel.orderId);
    if (!earlier || cancel.at < earlier) askedAt.set(cancel.orderId, cancel.at);
  }
  const { rows } = await pool.query<{ id: string; at: Date }>(REACHED_BROKER_AT, [[...askedAt.keys()]]);
  for (const row of rows) {
    const asked = askedAt.get(row.id)!;
    if (row.at > asked) {
      violations.push({
        check: 'no-send-after-cancel',
        message: `order ${row.id} reached the broker at ${row.at.toISOString()}, after its cancel was accepted at ${asked.toISOString()}`,
      });
    }
  }
  for (const row of (await pool.query<{ id: string; status: string; cancel_state: string | null }>(CANCELS_NOT_ENDED))
    .rows) {
    violations.push({
      check: 'cancel-ended',
      message: `order ${row.id} is ${row.status}, its cancel call ${row.cancel_state ?? 'not made'}`,
    });
  }
  return violations;
}

/** After the last close, an order still open must be a gtc order resting at the broker. */
export async function checkNothingLeftWithoutReason(pool: Pool): Promise<Violation[]> {
  const { rows } = await pool.query<{
    id: string;
    status: string;
    time_in_force: string;
    broker_status: string | null;
  }>(OPEN_WITHOUT_REASON);
  return rows.map((row) => ({
    check: 'open-with-reason',
    message: `order ${row.id} (${row.time_in_force}) is still ${row.status}; the broker: ${row.broker_status ?? 'no such order'}`,
  }));
}
