import { randomUUID } from 'node:crypto';
import { dayOrderExpiry } from '../../broker-adapter/index.ts';
import type { AccountBalances, FillToSettle, Ledger } from '../../ledger/index.ts';
import {
  dec,
  DEFAULT_MAX_OPEN_ORDERS,
  formatCash,
  formatQuantity,
  withTransaction,
  type Logger,
  type Pool,
  type PoolClient,
} from '../../platform/index.ts';
import { lockAccount } from '../accounts/account.repository.ts';
import { accountEventTypeOf, type OrderStateForEvents } from '../events/account-event.rules.ts';
import { appendAccountEvents, type NewAccountEvent } from '../events/account-event.repository.ts';
import type { AccountEventBody } from '../events/account-event.schemas.ts';
import type { MarketData } from '../market/market-data.ts';
import { addToOutbox } from '../outbox/outbox.ts';
import {
  ORDER_REQUESTS_TOPIC,
  submitMessageOf,
  type CancelOrderMessage,
  type SubmitOrderMessage,
} from '../requests/order-request.schemas.ts';
import { advance, newSubmission } from '../requests/submission.machine.ts';
import { submissionRepository } from '../requests/submission.repository.ts';
import { OrderError } from './order.errors.ts';
import {
  decide,
  FINAL_STATUSES,
  newOrderSnapshot,
  ORDER_MACHINE_VERSION,
  orderStatus,
  persistOrderSnapshot,
  restoreOrderSnapshot,
  type OrderEvent,
  type OrderSnapshot,
} from './order.machine.ts';
import { orderRepository, type FillRow, type OrderRow } from './order.repository.ts';
import { checkOrderRules, requestFingerprint, worstPrice } from './order.rules.ts';
import { describeBreaches, fillTermsBreaches, type ReportedFill } from './fill-terms.rules.ts';
import type { OrderView, PlaceOrderRequest } from './order.schemas.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A version that moved under a held row lock: retried by withTransaction like a serialization failure. */
class ConcurrentUpdate extends Error {
  readonly code = '40001';
}

export interface OrderServiceDependencies {
  pool: Pool;
  ledger: Ledger;
  marketData: MarketData;
  logger: Logger;
  /** Told after a commit that wrote to the outbox. */
  onOutboxWritten?: () => void;
  onAlarm?: (kind: string) => void;
  /** Order ids; random UUIDs unless a simulation needs them reproducible. */
  newId?: () => string;
  /** Open orders per account (MAX_OPEN_ORDERS); a placement beyond it is refused. */
  maxOpenOrders?: number | undefined;
}

export interface ApplyOutcome {
  orderId: string;
  status: string;
  applied: boolean;
}

export interface AppliedEvent extends ApplyOutcome {
  wroteOutbox: boolean;
}

/** An event for an order; a broker's fill also says whose fill the broker thinks it is. */
export interface OrderEventFor {
  orderId: string;
  event: OrderEvent;
  /** The report's account, symbol and side: a fill is checked against the order's terms first. */
  reportedAs?: Omit<ReportedFill, 'price'>;
}

/** The anomaly kind (and alarm) of a fill that breaks its order's terms; the reconciler counts these. */
export const FILL_OUTSIDE_TERMS = 'FILL_OUTSIDE_TERMS';

/** One change of one order that a client may need to see, in the order the batch applied them. */
interface OrderStep {
  row: OrderRow;
  before: OrderSnapshot;
  after: OrderSnapshot;
  /** The fill that made this change, if one did. */
  execId: string | null;
}

/** One order's part of a batch: its locked row, its state before and after, and what the ledger must do. */
interface OrderChange {
  row: OrderRow;
  first: OrderSnapshot;
  snapshot: OrderSnapshot;
  releaseHold: boolean;
  execIds: string[];
  /** The earliest acknowledgement's time, on the broker's clock. */
  brokerAcceptedAt: string | null;
}

export function createOrderService(deps: OrderServiceDependencies) {
  const { pool, ledger } = deps;
  const maxOpenOrders = deps.maxOpenOrders ?? DEFAULT_MAX_OPEN_ORDERS;

  async function placeOrder(
    accountId: string,
    request: PlaceOrderRequest,
  ): Promise<{ created: boolean; order: OrderView }> {
    checkOrderRules(request);
    const instruments = await deps.marketData.instruments();
    const instrument = instruments.find((candidate) => candidate.symbol === request.symbol);
    if (!instrument)
      throw new OrderError('UNKNOWN_SYMBOL', `unknown symbol ${request.symbol}`, { symbol: request.symbol });
    if (!instrument.tradable)
      throw new OrderError('SYMBOL_NOT_TRADABLE', `${request.symbol} is not tradable`, { symbol: request.symbol });

    const worst = worstPrice(request, dec(instrument.lastPrice));
    const expiresAt = request.timeInForce === 'day' ? await dayOrderEnd(request.extendedHours) : null;
    const requestHash = requestFingerprint(request);
    const orderId = (deps.newId ?? randomUUID)();
    const quantity = formatQuantity(dec(request.quantity));
    const limitPrice = request.limitPrice === undefined ? null : dec(request.limitPrice).toFixed();
    const snapshot = newOrderSnapshot(quantity);

    const result = await withTransaction(pool, async (tx) => {
      const inserted = await orderRepository.insertIfNew(tx, {
        id: orderId,
        accountId,
        clientOrderId: request.clientOrderId,
        requestHash,
        symbol: request.symbol,
        side: request.side,
        type: request.type,
        quantity,
        limitPrice,
        worstPrice: worst.toFixed(),
        timeInForce: request.timeInForce,
        extendedHours: request.extendedHours,
        status: orderStatus(snapshot),
        machineVersion: ORDER_MACHINE_VERSION,
        snapshot: persistOrderSnapshot(snapshot),
      });
      if (!inserted) {
        const existing = await orderRepository.byClientOrderId(tx, accountId, request.clientOrderId);
        if (!existing) throw new ConcurrentUpdate('the order with this clientOrderId vanished');
        if (existing.request_hash !== requestHash) {
          throw new OrderError('IDEMPOTENCY_CONFLICT', 'clientOrderId was already used for a different order', {
            clientOrderId: request.clientOrderId,
            orderId: existing.id,
          });
        }
        return { created: false, row: existing, fills: existing.fills };
      }
      // Counted under the account's lock, after this order's insert: placements of one account
      // queue here, each sees every one committed before it, so the last place is taken only once.
      await lockAccount(tx, accountId);
      const open = await orderRepository.countOpen(tx, accountId, maxOpenOrders + 1);
      if (open > maxOpenOrders) {
        throw new OrderError('TOO_MANY_OPEN_ORDERS', `the account already has ${maxOpenOrders} open orders`, {
          maxOpenOrders,
        });
      }
      await ledger.placeHold(tx, {
        holdId: orderId,
        accountId,
        side: request.side,
        symbol: request.symbol,
        quantity: dec(quantity),
        worstPrice: worst,
      });
      const message: SubmitOrderMessage = {
        type: 'SubmitOrder',
        orderId,
        accountId,
        symbol: request.symbol,
        side: request.side,
        orderType: request.type,
        quantity,
        limitPrice,
        collarPrice: request.type === 'market' ? worst.toFixed() : null,
        timeInForce: request.timeInForce,
        extendedHours: request.extendedHours,
        expiresAt,
      };
      await addToOutbox(tx, { topic: ORDER_REQUESTS_TOPIC, key: accountId, payload: message });
      const balances = await ledger.getAccount(tx, accountId);
      await appendAccountEvents(tx, [
        { accountId, type: 'accepted', body: eventBody('accepted', toView(inserted, []), balances) },
      ]);
      return { created: true, row: inserted, fills: [] as FillRow[] };
    });
    if (result.created) deps.onOutboxWritten?.();
    // A new order has no fills yet; a replay answers with the order as it is now, fills included.
    return { created: result.created, order: toView(result.row, result.fills) };
  }

  /**
   * When a day order placed now ends on the market's clock: its session's close. Unknown (null) when
   * the clock cannot be read; the broker then expires it if it goes out too late.
   */
  async function dayOrderEnd(extendedHours: boolean): Promise<string | null> {
    const clock = await deps.marketData.clock().catch(() => null);
    return clock ? dayOrderExpiry(new Date(clock.now), extendedHours).toISOString() : null;
  }

  async function getOrder(accountId: string, orderId: string): Promise<OrderView> {
    if (!UUID.test(orderId)) throw notFound(orderId);
    const row = await orderRepository.ofAccount(pool, accountId, orderId);
    if (!row) throw notFound(orderId);
    return toView(row, row.fills);
  }

  async function listOrders(
    accountId: string,
    query: { status: 'open' | 'closed' | 'all'; limit: number; after?: string | undefined },
  ) {
    const rows = await orderRepository.list(pool, accountId, query.status, query.after ?? null, query.limit + 1);
    const page = rows.slice(0, query.limit);
    return {
      orders: page.map((row) => toView(row, row.fills)),
      next: rows.length > query.limit ? page[page.length - 1]!.seq : null,
    };
  }

  async function cancelOrder(accountId: string, orderId: string): Promise<OrderView> {
    if (!UUID.test(orderId)) throw notFound(orderId);
    const outcome = await withTransaction(pool, async (tx) => {
      // The submit's row first, then the order's: the order the request server locks them in.
      const submit = await submissionRepository.lockSubmitOf(tx, orderId);
      const row = await orderRepository.lockOfAccount(tx, accountId, orderId);
      if (!row) throw notFound(orderId);
      // Fills are written only under the order's lock, which this transaction holds: read here, they
      // are exactly the fills of the row it answers with.
      if (row.status === 'canceled')
        return { row, fills: await orderRepository.fillsOf(tx, [orderId]), wroteOutbox: false };
      if (FINAL_STATUSES.includes(row.status)) {
        throw new OrderError('ORDER_NOT_CANCELABLE', `the order is ${row.status}`, { orderId, status: row.status });
      }
      const at = new Date().toISOString();
      if (row.status === 'pending_new' && (await abandonUnsentSubmit(tx, row, submit))) {
        // It never left: canceled here, and it never will leave.
        const { row: updated } = await applyToLockedOrder(tx, row, {
          type: 'OrderCanceled',
          cumulativeQuantity: '0',
          at,
        });
        return { row: updated, fills: await orderRepository.fillsOf(tx, [orderId]), wroteOutbox: false };
      }
      // It may be at the broker (sent, or its outcome unknown): the broker's answer ends the cancel.
      const { row: updated, wroteOutbox } = await applyToLockedOrder(tx, row, { type: 'CancelRequested', at });
      return { row: updated, fills: await orderRepository.fillsOf(tx, [orderId]), wroteOutbox };
    });
    if (outcome.wroteOutbox) deps.onOutboxWritten?.();
    return toView(outcome.row, outcome.fills);
  }

  /**
   * Abandons the order's submit if it never went to the broker (not stored yet, or `queued`), under
   * the submit's row lock, which the dispatcher's claim also takes: either the dispatcher sent it
   * first, or it is never sent. True when abandoned.
   */
  async function abandonUnsentSubmit(
    tx: PoolClient,
    row: OrderRow,
    locked: Awaited<ReturnType<typeof submissionRepository.lockSubmitOf>>,
  ): Promise<boolean> {
    const reason = 'canceled before it reached the broker';
    let submit = locked;
    if (!submit) {
      // Its request is still on its way to the request server: store it abandoned, so it arrives to
      // nothing. If the request server stored it meanwhile, the insert does nothing and it is read below.
      const abandoned = advance(newSubmission(), { type: 'Abandon', reason });
      await submissionRepository.insertAbandonedSubmit(tx, submitMessageOf(row), abandoned);
      submit = await submissionRepository.lockSubmitOf(tx, row.id);
    }
    if (submit?.state === 'abandoned') return true;
    if (submit?.state !== 'queued') return false;
    const abandoned = advance(submit.snapshot, { type: 'Abandon', reason });
    const saved = await submissionRepository.save(
      tx,
      { order_id: row.id, kind: 'submit' },
      submit.version,
      abandoned,
      0,
    );
    return saved !== null;
  }

  /**
   * Applies one event to one order inside the caller's transaction: the machine decides, and its
   * effects (ledger, fills, outbox, anomalies) are written with the new state, or not at all.
   * Returns null when the order does not exist.
   */
  async function applyEvent(
    tx: PoolClient,
    orderId: string,
    event: OrderEvent,
    reportedAs?: OrderEventFor['reportedAs'],
  ): Promise<AppliedEvent | null> {
    return (await applyEvents(tx, [{ orderId, event, ...(reportedAs ? { reportedAs } : {}) }]))[0]!;
  }

  /**
   * Applies events in order, as applying them one by one would, but with one round of writes for
   * the whole batch: the orders are locked together (in id order, so two batches cannot deadlock),
   * each event is decided in memory on its order's latest state, and then the ledger settles every
   * fill in one call, the fills and anomalies are inserted together, and each order is written once.
   * One result per event, null where the order does not exist. All or nothing: a refusal (the
   * ledger's, say) throws, and the caller decides what to retry one by one.
   */
  async function applyEvents(tx: PoolClient, events: readonly OrderEventFor[]): Promise<Array<AppliedEvent | null>> {
    const ids = [...new Set(events.map((e) => e.orderId).filter((id) => UUID.test(id)))];
    const rows = ids.length === 0 ? [] : await orderRepository.lockMany(tx, ids);
    const locked = new Map(rows.map((row) => [row.id, row]));
    return (await applyToLockedOrders(tx, locked, events)).results;
  }

  async function applyToLockedOrder(tx: PoolClient, row: OrderRow, event: OrderEvent) {
    const { results, updated } = await applyToLockedOrders(tx, new Map([[row.id, row]]), [{ orderId: row.id, event }]);
    return { row: updated.get(row.id) ?? row, wroteOutbox: results[0]!.wroteOutbox };
  }

  async function applyToLockedOrders(
    tx: PoolClient,
    locked: ReadonlyMap<string, OrderRow>,
    events: readonly OrderEventFor[],
  ) {
    const changes = new Map<string, OrderChange>();
    const fills: Array<FillToSettle & { orderId: string }> = [];
    const anomalies: Array<{ orderId: string; kind: string; detail: string; event: unknown; execId?: string }> = [];
    const cancels: CancelOrderMessage[] = [];
    const results: Array<AppliedEvent | null> = [];
    const steps: OrderStep[] = [];
    for (const { orderId, event, reportedAs } of events) {
      const row = locked.get(orderId);
      if (!row) {
        results.push(null);
        continue;
      }
      const outsideTerms = fillOutsideTerms(row, event, reportedAs);
      if (outsideTerms) {
        // Neither the order nor the ledger moves: an operator decides (the reconciler shows it as a break).
        anomalies.push(outsideTerms);
        deps.logger.error({ orderId: row.id, execId: outsideTerms.execId }, outsideTerms.detail);
        deps.onAlarm?.(FILL_OUTSIDE_TERMS);
        const current = changes.get(orderId)?.snapshot ?? restoreOrderSnapshot(row.snapshot);
        results.push({ orderId, status: orderStatus(current), applied: false, wroteOutbox: false });
        continue;
      }
      let change = changes.get(orderId);
      if (!change) {
        const snapshot = restoreOrderSnapshot(row.snapshot);
        change = { row, first: snapshot, snapshot, releaseHold: false, execIds: [], brokerAcceptedAt: null };
        changes.set(orderId, change);
      }
      if (
        event.type === 'OrderAcknowledged' &&
        (change.brokerAcceptedAt === null || new Date(event.at) < new Date(change.brokerAcceptedAt))
      ) {
        change.brokerAcceptedAt = event.at;
      }
      const { next, effects } = decide(change.snapshot, event);
      let wroteOutbox = false;
      for (const effect of effects) {
        switch (effect.type) {
          case 'applyFill':
            fills.push({
              orderId,
              holdId: row.id,
              execId: effect.execId,
              quantity: dec(effect.quantity),
              price: dec(effect.price),
              at: new Date(effect.at),
            });
            change.execIds.push(effect.execId);
            break;
          case 'releaseHold':
            change.releaseHold = true;
            break;
          case 'requestCancelAtBroker':
            cancels.push({
              type: 'CancelOrder',
              orderId: row.id,
              accountId: row.account_id,
              requestNo: effect.requestNo,
            });
            wroteOutbox = true;
            break;
          case 'raiseAlarm':
            anomalies.push({ orderId: row.id, kind: effect.kind, detail: effect.detail, event });
            deps.logger.warn({ orderId: row.id, kind: effect.kind, detail: effect.detail }, 'order alarm');
            deps.onAlarm?.(effect.kind);
            break;
          case 'ignoreEvent':
            anomalies.push({ orderId: row.id, kind: 'IGNORED', detail: effect.reason, event });
            break;
          default:
            assertNever(effect);
        }
      }
      results.push({ orderId, status: orderStatus(next), applied: next !== change.snapshot, wroteOutbox });
      if (next !== change.snapshot) {
        steps.push({
          row,
          before: change.snapshot,
          after: next,
          execId: event.type === 'FillReported' ? event.execId : null,
        });
      }
      change.snapshot = next;
    }

    const releases = [...changes.values()].filter((change) => change.releaseHold).map((change) => change.row.id);
    const settlements = await ledger.settleFills(tx, fills, { thenRelease: releases });
    const commissionOf = new Map(settlements.map((settlement) => [settlement.execId, settlement.commission]));
    await orderRepository.insertFills(
      tx,
      fills.map((fill) => ({
        execId: fill.execId,
        orderId: fill.orderId,
        quantity: fill.quantity.toFixed(),
        price: fill.price.toFixed(),
        commission: formatCash(commissionOf.get(fill.execId)!),
        at: fill.at.toISOString(),
      })),
    );
    for (const message of cancels)
      await addToOutbox(tx, { topic: ORDER_REQUESTS_TOPIC, key: message.accountId, payload: message });
    await orderRepository.recordAnomalies(tx, anomalies);

    const updated = new Map<string, OrderRow>();
    for (const change of changes.values()) {
      const { row, snapshot: next } = change;
      const earlierAcceptance =
        change.brokerAcceptedAt !== null &&
        (row.broker_accepted_at === null || new Date(change.brokerAcceptedAt) < row.broker_accepted_at);
      if (change.snapshot === change.first && !earlierAcceptance) continue;
      // A duplicate execution in the batch settles once; its commission counts once.
      const commissionAdded = [...new Set(change.execIds)].reduce(
        (total, execId) => total.plus(commissionOf.get(execId)!),
        dec('0'),
      );
      const status = orderStatus(next);
      const update = {
        status,
        filledQuantity: next.context.filledQuantity,
        filledNotional: next.context.filledNotional,
        commissionAdded: commissionAdded.toFixed(),
        rejectReason: next.context.rejectReason,
        brokerOrderId: next.context.brokerOrderId,
        brokerAcceptedAt: change.brokerAcceptedAt,
        snapshot: persistOrderSnapshot(next),
      };
      if (!(await orderRepository.updateState(tx, row.id, row.version, update))) {
        throw new ConcurrentUpdate(`order ${row.id} changed under its lock`);
      }
      updated.set(row.id, {
        ...row,
        status,
        filled_quantity: update.filledQuantity,
        filled_notional: update.filledNotional,
        commission: dec(row.commission).plus(commissionAdded).toFixed(),
        reject_reason: update.rejectReason,
        broker_order_id: update.brokerOrderId,
        broker_accepted_at: earlierAcceptance ? new Date(change.brokerAcceptedAt!) : row.broker_accepted_at,
        snapshot: update.snapshot,
        version: row.version + 1,
        updated_at: new Date(),
      });
    }
    await appendAccountEvents(tx, await clientEventsOf(tx, steps));
    return { results, updated };
  }

  /**
   * The clients' events of a batch's changes, each with the order as that change left it: its fills
   * are those its machine had applied by then. Cash and position are the account's as the
   * transaction leaves them.
   */
  async function clientEventsOf(tx: PoolClient, steps: readonly OrderStep[]): Promise<NewAccountEvent[]> {
    const typed = steps.flatMap((step) => {
      const type = accountEventTypeOf(stateForEvents(step.before), stateForEvents(step.after), {
        fill: step.execId !== null,
      });
      return type === null ? [] : [{ ...step, type }];
    });
    if (typed.length === 0) return [];
    const fills = await orderRepository.fillsOf(tx, [...new Set(typed.map((step) => step.row.id))]);
    const balances = new Map<string, AccountBalances>();
    for (const accountId of new Set(typed.map((step) => step.row.account_id)))
      balances.set(accountId, await ledger.getAccount(tx, accountId));
    const now = new Date();
    return typed.map(({ row, after, execId, type }) => {
      const applied = new Set(after.context.execIds);
      const fillsThen = fills.filter((fill) => fill.order_id === row.id && applied.has(fill.exec_id));
      const rowThen: OrderRow = {
        ...row,
        status: orderStatus(after),
        filled_quantity: after.context.filledQuantity,
        filled_notional: after.context.filledNotional,
        commission: fillsThen.reduce((total, fill) => total.plus(fill.commission), dec('0')).toFixed(),
        reject_reason: after.context.rejectReason,
        broker_order_id: after.context.brokerOrderId,
        snapshot: persistOrderSnapshot(after),
        updated_at: now,
      };
      const order = toView(rowThen, fillsThen);
      const fill = execId === null ? undefined : order.fills.find((candidate) => candidate.execId === execId);
      return {
        accountId: row.account_id,
        type,
        body: { ...eventBody(type, order, balances.get(row.account_id)!), ...(fill ? { fill } : {}) },
      };
    });
  }

  return { placeOrder, getOrder, listOrders, cancelOrder, applyEvent, applyEvents };
}

export type OrderService = ReturnType<typeof createOrderService>;

/** The anomaly to record instead of a reported fill that breaks its order's terms, or null when it keeps them. */
function fillOutsideTerms(row: OrderRow, event: OrderEvent, reportedAs: OrderEventFor['reportedAs']) {
  if (event.type !== 'FillReported' || !reportedAs) return null;
  const breaches = fillTermsBreaches(
    { accountId: row.account_id, symbol: row.symbol, side: row.side, worstPrice: row.worst_price },
    { ...reportedAs, price: event.price },
  );
  if (breaches.length === 0) return null;
  return {
    orderId: row.id,
    kind: FILL_OUTSIDE_TERMS,
    detail: `fill ${event.execId} of ${event.quantity} @ ${event.price} breaks the order's terms: ${describeBreaches(breaches)}`,
    event: { ...event, ...reportedAs },
    execId: event.execId,
  };
}

function stateForEvents(snapshot: OrderSnapshot): OrderStateForEvents {
  return {
    status: orderStatus(snapshot),
    filledQuantity: snapshot.context.filledQuantity,
    filledNotional: snapshot.context.filledNotional,
    lastRejection: snapshot.context.lastRejection ?? null,
  };
}

/** An event of the order's account, without its number; cash and position as `balances` has them. */
function eventBody(
  type: NewAccountEvent['type'],
  order: OrderView,
  balances: AccountBalances,
): Omit<AccountEventBody, 'seq'> {
  const position = balances.positions.find((candidate) => candidate.symbol === order.symbol);
  return {
    type,
    at: order.updatedAt,
    order,
    cash: {
      currency: 'USD',
      total: formatCash(balances.cash.total),
      available: formatCash(balances.cash.available),
      held: formatCash(balances.cash.held),
    },
    position: position
      ? {
          symbol: position.symbol,
          quantity: formatQuantity(position.quantity),
          available: formatQuantity(position.available),
          held: formatQuantity(position.held),
          averageCost: position.averageCost.toFixed(4),
        }
      : null,
  };
}

function assertNever(value: never): never {
  throw new Error(`unexpected effect ${JSON.stringify(value)}`);
}

function notFound(orderId: string): OrderError {
  return new OrderError('ORDER_NOT_FOUND', 'no such order', { orderId });
}

function toView(row: OrderRow, fills: readonly FillRow[]): OrderView {
  const filled = dec(row.filled_quantity);
  return {
    id: row.id,
    clientOrderId: row.client_order_id,
    accountId: row.account_id,
    symbol: row.symbol,
    side: row.side,
    type: row.type,
    quantity: formatQuantity(dec(row.quantity)),
    limitPrice: row.limit_price === null ? null : formatPrice(row.limit_price),
    timeInForce: row.time_in_force,
    extendedHours: row.extended_hours,
    status: row.status,
    filledQuantity: formatQuantity(filled),
    averageFillPrice: filled.isZero() ? null : dec(row.filled_notional).dividedBy(filled).toFixed(4),
    commission: formatCash(dec(row.commission)),
    rejectReason: row.reject_reason,
    lastRejection: row.snapshot.context.lastRejection ?? null,
    fills: fills.map((fill) => ({
      execId: fill.exec_id,
      quantity: formatQuantity(dec(fill.quantity)),
      price: formatPrice(fill.price),
      commission: formatCash(dec(fill.commission)),
      at: fill.executed_at.toISOString(),
    })),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Prices as quoted: two decimals at or above $1, up to four below ("187.20", "0.4125"). */
function formatPrice(value: string): string {
  const price = dec(value);
  return price.gte(1)
    ? price.toFixed(Math.max(2, Math.min(4, price.decimalPlaces())))
    : price.toFixed(Math.max(2, price.decimalPlaces()));
}
