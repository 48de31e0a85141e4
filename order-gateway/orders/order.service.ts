import { randomUUID } from 'node:crypto';
import { dayOrderExpiry } from '../../broker-adapter/index.ts';
import type { FillToSettle, Ledger } from '../../ledger/index.ts';
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
import type { MarketData } from '../market/market-data.ts';
import { addToOutbox } from '../outbox/outbox.ts';
import {
  ORDER_REQUESTS_TOPIC,
  submitMessageOf,
  type CancelOrderMessage,
  type ReplaceOrderMessage,
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
  type OrderEffect,
  type OrderEvent,
  type OrderSnapshot,
  type Replacement,
} from './order.machine.ts';
import { orderRepository, type FillRow, type OrderRow } from './order.repository.ts';
import { checkOrderRules, requestFingerprint, worstPrice } from './order.rules.ts';
import { replaceFingerprint, replaceRefusal, replacementTerms } from './order-replace.rules.ts';
import { describeBreaches, fillTermsBreaches, type ReportedFill } from './fill-terms.rules.ts';
import type { OrderView, PlaceOrderRequest, ReplaceOrderRequest } from './order.schemas.ts';

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

/** One order's part of a batch: its locked row, its state before and after, and what the ledger must do. */
interface OrderChange {
  row: OrderRow;
  first: OrderSnapshot;
  snapshot: OrderSnapshot;
  releaseHold: boolean;
  execIds: string[];
  /** The earliest acknowledgement's time, on the broker's clock. */
  brokerAcceptedAt: string | null;
  replacedBy: string | null;
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
      if (row.status === 'pending_replace') {
        throw new OrderError('ORDER_NOT_CANCELABLE', 'a replace of the order is pending: cancel after its answer', {
          orderId,
          status: row.status,
        });
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
    reason = 'canceled before it reached the broker',
  ): Promise<boolean> {
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
    const requests: Array<CancelOrderMessage | ReplaceOrderMessage> = [];
    const replacements: Array<{ row: OrderRow; effect: Extract<OrderEffect, { type: 'createReplacement' }> }> = [];
    const replaceHolds: string[] = [];
    const results: Array<AppliedEvent | null> = [];
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
        change = {
          row,
          first: snapshot,
          snapshot,
          releaseHold: false,
          execIds: [],
          brokerAcceptedAt: null,
          replacedBy: null,
        };
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
            requests.push({
              type: 'CancelOrder',
              orderId: row.id,
              accountId: row.account_id,
              requestNo: effect.requestNo,
            });
            wroteOutbox = true;
            break;
          case 'requestReplaceAtBroker':
            requests.push({
              type: 'ReplaceOrder',
              orderId: row.id,
              accountId: row.account_id,
              requestNo: effect.requestNo,
              newOrderId: effect.replacement.orderId,
              quantity: effect.replacement.quantity,
              limitPrice: effect.replacement.limitPrice,
              timeInForce: effect.replacement.timeInForce,
            });
            wroteOutbox = true;
            break;
          case 'createReplacement':
            replacements.push({ row, effect });
            change.replacedBy = effect.replacement.orderId;
            // Sent from here only when it replaced the old order before that left: else it is at the broker.
            wroteOutbox ||= effect.brokerOrderId === null;
            break;
          case 'releaseReplaceHold':
            replaceHolds.push(effect.holdId);
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
    for (const message of requests)
      await addToOutbox(tx, { topic: ORDER_REQUESTS_TOPIC, key: message.accountId, payload: message });
    for (const holdId of replaceHolds) await ledger.releaseHold(tx, { holdId });
    // After the old orders' holds are released: the new order's hold takes from what they freed.
    for (const { row, effect } of replacements) await createReplacement(tx, row, effect);
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
        replacedBy: change.replacedBy,
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
        replaced_by: change.replacedBy ?? row.replaced_by,
        version: row.version + 1,
        updated_at: new Date(),
      });
    }
    return { results, updated };
  }

  /**
   * The order that carries on after a replace, its hold and (when the old order never left) its
   * request to the broker. The new order inherits the old one's symbol, side, type and session; the
   * broker's answer gives its quantity (what the new total left after the old order's fills).
   */
  async function createReplacement(
    tx: PoolClient,
    old: OrderRow,
    effect: Extract<OrderEffect, { type: 'createReplacement' }>,
  ): Promise<void> {
    const { replacement, brokerOrderId } = effect;
    const quantity = formatQuantity(dec(effect.quantity));
    const acknowledged = brokerOrderId !== null;
    let snapshot = newOrderSnapshot(quantity);
    if (acknowledged) {
      snapshot = decide(snapshot, { type: 'OrderAcknowledged', brokerOrderId, at: effect.at }).next;
    }
    const terms = {
      id: replacement.orderId,
      accountId: old.account_id,
      requestHash: replacement.fingerprint,
      symbol: old.symbol,
      side: old.side,
      type: old.type,
      quantity,
      limitPrice: replacement.limitPrice,
      worstPrice: replacement.limitPrice,
      timeInForce: replacement.timeInForce,
      extendedHours: old.extended_hours,
      status: orderStatus(snapshot),
      machineVersion: ORDER_MACHINE_VERSION,
      snapshot: persistOrderSnapshot(snapshot),
      replaces: old.id,
      brokerOrderId,
      brokerAcceptedAt: acknowledged ? effect.at : null,
    };
    const inserted =
      (await orderRepository.insertReplacement(tx, { ...terms, clientOrderId: replacement.clientOrderId })) ??
      (await orderRepository.insertReplacement(tx, { ...terms, clientOrderId: replacement.orderId }));
    if (!inserted) throw new ConcurrentUpdate(`replacement ${replacement.orderId} could not be stored`);
    await ledger.placeHold(tx, {
      holdId: inserted.id,
      accountId: old.account_id,
      side: old.side,
      symbol: old.symbol,
      quantity: dec(quantity),
      worstPrice: dec(replacement.limitPrice),
      // What the broker made cannot be refused here; a replacement made here still can.
      clampToAvailable: acknowledged,
    });
    if (!acknowledged) {
      const message = submitMessageOf(inserted);
      const expiresAt = replacement.timeInForce === 'day' ? await dayOrderEnd(old.extended_hours) : null;
      await addToOutbox(tx, {
        topic: ORDER_REQUESTS_TOPIC,
        key: old.account_id,
        payload: { ...message, expiresAt } satisfies SubmitOrderMessage,
      });
    }
  }

  /**
   * PATCH /v1/orders/{id}: FIX cancel/replace. Decided under the order's lock (and its submit's, taken
   * first as a cancel does): a repeat with the same clientOrderId answers as the first did; an order
   * that never left is replaced here; one at the broker goes `pending_replace`, holding the larger of
   * its old and new needs, until the broker's answer.
   */
  async function replaceOrder(accountId: string, orderId: string, request: ReplaceOrderRequest): Promise<OrderView> {
    if (!UUID.test(orderId)) throw notFound(orderId);
    const outcome = await withTransaction(pool, async (tx) => {
      const submit = await submissionRepository.lockSubmitOf(tx, orderId);
      const row = await orderRepository.lockOfAccount(tx, accountId, orderId);
      if (!row) throw notFound(orderId);
      const context = row.snapshot.context;
      const terms = replacementTerms(row, request);
      const fingerprint = replaceFingerprint(terms);
      const repeated = request.clientOrderId ? sameReplace(context, request.clientOrderId, fingerprint) : null;
      if (repeated === 'same') return { row, wroteOutbox: false };
      if (repeated === 'different') {
        throw new OrderError('IDEMPOTENCY_CONFLICT', 'clientOrderId was already used for a different replace', {
          clientOrderId: request.clientOrderId,
          orderId,
        });
      }
      const refusal = replaceRefusal(row, terms);
      if (refusal) throw new OrderError(refusal.code, refusal.message, { orderId, status: row.status });
      checkOrderRules({
        clientOrderId: row.client_order_id,
        symbol: row.symbol,
        side: row.side,
        type: row.type,
        quantity: terms.quantity,
        limitPrice: terms.limitPrice,
        timeInForce: terms.timeInForce,
        extendedHours: row.extended_hours,
      });
      if (request.clientOrderId && (await orderRepository.byClientOrderId(tx, accountId, request.clientOrderId))) {
        throw new OrderError('IDEMPOTENCY_CONFLICT', 'clientOrderId is already used by another order', {
          clientOrderId: request.clientOrderId,
        });
      }
      const newOrderId = (deps.newId ?? randomUUID)();
      const replacement: Replacement = {
        orderId: newOrderId,
        clientOrderId: request.clientOrderId ?? newOrderId,
        quantity: terms.quantity,
        limitPrice: terms.limitPrice,
        timeInForce: terms.timeInForce,
        topUpHoldId: null,
        fingerprint,
      };
      const at = new Date().toISOString();
      if (row.status === 'pending_new') {
        // Only an order that never left may be replaced before its acknowledgement (replaceRefusal).
        if (!(await abandonUnsentSubmit(tx, row, submit, 'replaced before it reached the broker'))) {
          throw new OrderError('ORDER_NOT_REPLACEABLE', 'the order is at its broker and not yet acknowledged', {
            orderId,
            status: row.status,
          });
        }
        return applyToLockedOrder(tx, row, { type: 'ReplacedLocally', replacement, at });
      }
      const topUp = await ledger.reserveForReplace(tx, {
        holdId: `replace-${newOrderId}`,
        baseHoldId: row.id,
        quantity: dec(terms.quantity).minus(row.filled_quantity),
        worstPrice: dec(terms.limitPrice),
      });
      return applyToLockedOrder(tx, row, {
        type: 'ReplaceRequested',
        replacement: { ...replacement, topUpHoldId: topUp?.holdId ?? null },
        at,
      });
    });
    if (outcome.wroteOutbox) deps.onOutboxWritten?.();
    return getOrder(accountId, orderId);
  }

  return { placeOrder, getOrder, listOrders, cancelOrder, replaceOrder, applyEvent, applyEvents };
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

function assertNever(value: never): never {
  throw new Error(`unexpected effect ${JSON.stringify(value)}`);
}

/** Whether a replace with this clientOrderId was asked of the order before, and with the same terms. */
function sameReplace(
  context: OrderRow['snapshot']['context'],
  clientOrderId: string,
  fingerprint: string,
): 'same' | 'different' | null {
  const last = context.lastReplace;
  if (!last || last.clientOrderId !== clientOrderId) return null;
  return last.fingerprint === fingerprint ? 'same' : 'different';
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
    replaces: row.replaces,
    replacedBy: row.replaced_by,
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
