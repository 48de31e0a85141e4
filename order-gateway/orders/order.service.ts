import { randomUUID } from 'node:crypto';
import { dayOrderExpiry } from '../../broker-adapter/index.ts';
import type { AccountBalances, Ledger } from '../../ledger/index.ts';
import {
  dec,
  DEFAULT_MAX_OPEN_ORDERS,
  GroupCommit,
  isDependencyUnavailable,
  type Decimal,
  type ItemOutcome,
  formatCash,
  formatQuantity,
  withTransaction,
  type Logger,
  type Pool,
  type PoolClient,
} from '../../platform/index.ts';
import { lockAccounts } from '../accounts/account.repository.ts';
import type { MarketData } from '../market/market-data.ts';
import { addManyToOutbox, addToOutbox } from '../outbox/outbox.ts';
import { accountEventTypeOf, type OrderStateForEvents } from './account-event.rules.ts';
import { appendAccountEvents, type NewAccountEvent } from './account-event.repository.ts';
import {
  ORDER_REQUESTS_TOPIC,
  submitMessageOf,
  type OrderTerms,
  type SubmitOrderMessage,
} from './order-request.schemas.ts';
import {
  changeToWrite,
  decideBatch,
  FILL_OUTSIDE_TERMS,
  type AppliedEvent,
  type BatchDecision,
  type OrderEventFor,
  type OrderStep,
  type ReplacementToCreate,
} from './order-batch.rules.ts';
import { OrderError } from './order.errors.ts';
import {
  decide,
  FINAL_STATUSES,
  newOrderSnapshot,
  ORDER_MACHINE_VERSION,
  orderStatus,
  persistOrderSnapshot,
  type OrderEvent,
  type OrderSnapshot,
  type Replacement,
} from './order.machine.ts';
import { orderRepository, type FillRow, type NewOrder, type OrderRow } from './order.repository.ts';
import { checkOrderRules, requestFingerprint, worstPrice } from './order.rules.ts';
import type { OrderView, PlaceOrderRequest, ReplaceOrderRequest } from './order.schemas.ts';
import { replaceFingerprint, replaceRefusal, replacementTerms } from './order-replace.rules.ts';
import { applyTradeCorrection, type TradeCorrectionFor } from './trade-correction.service.ts';
import { eventBody, toView } from './order.view.ts';

export { FILL_OUTSIDE_TERMS, type AppliedEvent, type ApplyOutcome, type OrderEventFor } from './order-batch.rules.ts';

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
  /** The request server's hold on submits (requests/unsent-submits.ts), so a cancel can stop one that never left. */
  unsentSubmits: UnsentSubmits;
  /** Open orders per account (MAX_OPEN_ORDERS); a placement beyond it is refused. */
  maxOpenOrders?: number | undefined;
  /** Group commit of placements: the most in one transaction (64), and transactions at once (2). */
  placementBatch?: { maxBatch: number; concurrency: number };
}

/** A placement checked and priced, ready for its batch's transaction. */
interface Placement {
  order: NewOrder;
  worst: Decimal;
  message: SubmitOrderMessage;
}

type Placed = { created: boolean; row: OrderRow; fills: FillRow[] };

function placementKey(accountId: string, clientOrderId: string): string {
  return `${accountId}\u0000${clientOrderId}`;
}

/**
 * A cancel's way to stop a submit that never went to the broker. The request server owns the submits
 * and implements this; the order service, upstream of it, only names what it needs.
 */
export interface UnsentSubmits<Lock = unknown> {
  /** Locks the order's submit (or its absence); the request server takes the submit's lock before the order's. */
  lock(tx: PoolClient, orderId: string): Promise<Lock>;
  /** Abandons the submit if it never went to the broker, under that lock; true when it is abandoned. */
  abandon(tx: PoolClient, order: OrderTerms, locked: Lock): Promise<boolean>;
}

export function createOrderService(deps: OrderServiceDependencies) {
  const { pool, ledger } = deps;
  const maxOpenOrders = deps.maxOpenOrders ?? DEFAULT_MAX_OPEN_ORDERS;

  // Placements that arrive together share one transaction (platform/group-commit.ts); each is still
  // answered, refused and made idempotent on its own.
  const placements = new GroupCommit<Placement, Placed>({
    maxBatch: deps.placementBatch?.maxBatch ?? 64,
    concurrency: deps.placementBatch?.concurrency ?? 2,
    run: placeTogether,
  });
  // A clientOrderId being placed, per account: a repeat waits for it, so that one batch never holds
  // the same key twice, and then answers as a replay.
  const placing = new Map<string, Promise<unknown>>();

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
    const orderId = (deps.newId ?? randomUUID)();
    const quantity = formatQuantity(dec(request.quantity));
    const limitPrice = request.limitPrice === undefined ? null : dec(request.limitPrice).toFixed();
    const snapshot = newOrderSnapshot(quantity);
    const placement: Placement = {
      order: {
        id: orderId,
        accountId,
        clientOrderId: request.clientOrderId,
        requestHash: requestFingerprint(request),
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
      },
      worst,
      message: {
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
      },
    };
    const key = placementKey(accountId, request.clientOrderId);
    for (let earlier = placing.get(key); earlier; earlier = placing.get(key)) await earlier.catch(() => undefined);
    const placed = placements.submit(placement);
    placing.set(key, placed);
    try {
      const result = await placed;
      // A new order has no fills yet; a replay answers with the order as it is now, fills included.
      return { created: result.created, order: toView(result.row, result.fills) };
    } finally {
      if (placing.get(key) === placed) placing.delete(key);
    }
  }

  /**
   * A batch whose transaction fails for a reason of its own (a statement one placement made fail)
   * is placed again one by one, so that only that placement gets the error; PostgreSQL being away is
   * every placement's answer as it is, since each alone would only wait for it again.
   */
  async function placeTogether(batch: readonly Placement[]): Promise<ItemOutcome<Placed>[]> {
    try {
      return await placeBatch(batch);
    } catch (error) {
      if (batch.length === 1 || isDependencyUnavailable(error)) throw error;
      deps.logger.warn(
        { err: error, placements: batch.length },
        'a batch of placements failed; placing them one by one',
      );
      return Promise.all(
        batch.map((placement) =>
          placeBatch([placement]).then(
            ([outcome]) => outcome!,
            (alone: unknown): ItemOutcome<Placed> => ({ ok: false, error: alone }),
          ),
        ),
      );
    }
  }

  /**
   * One transaction for a batch of placements, each decided as if placed alone one after another:
   * the orders are inserted together (the unique key settles repeats and races, as for one), the
   * accounts locked, their open orders counted and the holds placed in batch order, so each sees the
   * ones before it; a refused placement's order is deleted again and the others go on. Then the
   * accepted ones' requests go to the outbox and their events to the log, each in one statement.
   */
  async function placeBatch(batch: readonly Placement[]): Promise<ItemOutcome<Placed>[]> {
    const outcomes = await withTransaction(pool, async (tx) => {
      const results: Array<ItemOutcome<Placed> | undefined> = batch.map(() => undefined);
      const inserted = new Map(
        (
          await orderRepository.insertManyIfNew(
            tx,
            batch.map((p) => p.order),
          )
        ).map((row) => [row.id, row]),
      );
      const replays = batch.flatMap((p, i) => (inserted.has(p.order.id) ? [] : [i]));
      if (replays.length > 0) {
        const existing = await orderRepository.byClientOrderIds(
          tx,
          replays.map((i) => ({ accountId: batch[i]!.order.accountId, clientOrderId: batch[i]!.order.clientOrderId })),
        );
        const byKey = new Map(existing.map((row) => [placementKey(row.account_id, row.client_order_id), row]));
        for (const i of replays) {
          const { order } = batch[i]!;
          const row = byKey.get(placementKey(order.accountId, order.clientOrderId));
          if (!row) throw new ConcurrentUpdate('the order with this clientOrderId vanished');
          results[i] =
            row.request_hash === order.requestHash
              ? { ok: true, value: { created: false, row, fills: row.fills } }
              : {
                  ok: false,
                  error: new OrderError(
                    'IDEMPOTENCY_CONFLICT',
                    'clientOrderId was already used for a different order',
                    {
                      clientOrderId: order.clientOrderId,
                      orderId: row.id,
                    },
                  ),
                };
        }
      }
      const fresh = batch.flatMap((p, i) => (inserted.has(p.order.id) ? [i] : []));
      if (fresh.length === 0) return results.map((result) => result!);

      // Counted under the accounts' locks, after this batch's inserts: placements of one account
      // queue here, each sees every one committed before it, so the last place is taken only once.
      const newOfAccount = new Map<string, number>();
      for (const i of fresh) {
        const accountId = batch[i]!.order.accountId;
        newOfAccount.set(accountId, (newOfAccount.get(accountId) ?? 0) + 1);
      }
      await lockAccounts(tx, [...newOfAccount.keys()]);
      const counted = await orderRepository.countOpenOfAccounts(
        tx,
        new Map([...newOfAccount].map(([accountId, n]) => [accountId, maxOpenOrders + n + 1])),
      );
      // The open orders each account had before this batch; its placements then take places in turn.
      const open = new Map([...newOfAccount].map(([accountId, n]) => [accountId, counted.get(accountId)! - n]));
      const allowed: number[] = [];
      for (const i of fresh) {
        const accountId = batch[i]!.order.accountId;
        const before = open.get(accountId)!;
        if (before + 1 > maxOpenOrders) {
          results[i] = {
            ok: false,
            error: new OrderError('TOO_MANY_OPEN_ORDERS', `the account already has ${maxOpenOrders} open orders`, {
              maxOpenOrders,
            }),
          };
        } else {
          open.set(accountId, before + 1);
          allowed.push(i);
        }
      }
      const holds =
        allowed.length === 0
          ? []
          : await ledger.placeHolds(
              tx,
              allowed.map((i) => {
                const { order, worst } = batch[i]!;
                return {
                  holdId: order.id,
                  accountId: order.accountId,
                  side: order.side,
                  symbol: order.symbol,
                  quantity: dec(order.quantity),
                  worstPrice: worst,
                };
              }),
            );
      const accepted: { i: number; row: OrderRow; balances: AccountBalances }[] = [];
      holds.forEach((hold, k) => {
        const i = allowed[k]!;
        if ('refused' in hold) results[i] = { ok: false, error: hold.refused };
        else accepted.push({ i, row: inserted.get(batch[i]!.order.id)!, balances: hold.balances });
      });
      await orderRepository.deleteRefused(
        tx,
        fresh.filter((i) => results[i] !== undefined).map((i) => batch[i]!.order.id),
      );
      await addManyToOutbox(
        tx,
        accepted.map(({ i }) => ({
          topic: ORDER_REQUESTS_TOPIC,
          key: batch[i]!.order.accountId,
          payload: batch[i]!.message,
        })),
      );
      await appendAccountEvents(
        tx,
        accepted.map(({ row, balances }) => ({
          accountId: row.account_id,
          type: 'accepted' as const,
          body: eventBody('accepted', toView(row, []), balances),
        })),
      );
      for (const { i, row } of accepted) results[i] = { ok: true, value: { created: true, row, fills: [] } };
      return results.map((result) => result!);
    });
    if (outcomes.some((outcome) => outcome.ok && outcome.value.created)) deps.onOutboxWritten?.();
    return outcomes;
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
      const submit = await deps.unsentSubmits.lock(tx, orderId);
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
      if (row.status === 'pending_new' && (await deps.unsentSubmits.abandon(tx, row, submit))) {
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

  /** Decides the batch (order-batch.rules.ts), then writes the decision: ledger, fills, outbox, anomalies, rows. */
  async function applyToLockedOrders(
    tx: PoolClient,
    locked: ReadonlyMap<string, OrderRow>,
    events: readonly OrderEventFor[],
  ) {
    const decision = decideBatch(locked, events);
    return { results: decision.results, updated: await writeBatch(tx, decision) };
  }

  /** Writes a batch's decision in the caller's transaction; returns the orders' rows as they now are. */
  async function writeBatch(tx: PoolClient, decision: BatchDecision): Promise<Map<string, OrderRow>> {
    for (const alarm of decision.alarms) {
      if (alarm.type === 'fillOutsideTerms') {
        deps.logger.error({ orderId: alarm.orderId, execId: alarm.execId }, alarm.detail);
        deps.onAlarm?.(FILL_OUTSIDE_TERMS);
      } else {
        deps.logger.warn({ orderId: alarm.orderId, kind: alarm.kind, detail: alarm.detail }, 'order alarm');
        deps.onAlarm?.(alarm.kind);
      }
    }
    const { fills } = decision;
    const settlements = await ledger.settleFills(tx, fills, { thenRelease: decision.releases });
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
    for (const message of decision.cancels)
      await addToOutbox(tx, { topic: ORDER_REQUESTS_TOPIC, key: message.accountId, payload: message });
    for (const holdId of decision.replaceHolds) await ledger.releaseHold(tx, { holdId });
    // After the old orders' holds are released: the new order's hold takes from what they freed.
    const replacements: OrderRow[] = [];
    for (const replacement of decision.replacements) replacements.push(await createReplacement(tx, replacement));
    await orderRepository.recordAnomalies(tx, decision.anomalies);

    const updated = new Map<string, OrderRow>();
    for (const change of decision.changes) {
      const { row, snapshot: next } = change;
      const { write, earlierAcceptance } = changeToWrite(change);
      if (!write) continue;
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
    // The old order's `replaced` comes before its replacement's first event.
    await appendAccountEvents(tx, [
      ...(await clientEventsOf(tx, decision.steps)),
      ...(await replacementEventsOf(tx, replacements)),
    ]);
    return updated;
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
    const balances = await ledger.getAccounts(
      tx,
      typed.map((step) => step.row.account_id),
    );
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

  /**
   * The order that carries on after a replace, its hold and (when the old order never left) its
   * request to the broker. The new order inherits the old one's symbol, side, type and session; the
   * broker's answer gives its quantity (what the new total left after the old order's fills).
   */
  async function createReplacement(tx: PoolClient, { row: old, effect }: ReplacementToCreate): Promise<OrderRow> {
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
    return inserted;
  }

  /** A replacement's first event: `new` when the broker made it, `accepted` when it goes out from here. */
  async function replacementEventsOf(tx: PoolClient, rows: readonly OrderRow[]): Promise<NewAccountEvent[]> {
    const events: NewAccountEvent[] = [];
    for (const row of rows) {
      const type = row.status === 'pending_new' ? 'accepted' : 'new';
      const balances = await ledger.getAccount(tx, row.account_id);
      events.push({ accountId: row.account_id, type, body: eventBody(type, toView(row, []), balances) });
    }
    return events;
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
      const submit = await deps.unsentSubmits.lock(tx, orderId);
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
        if (!(await deps.unsentSubmits.abandon(tx, row, submit))) {
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

  /** A broker's bust or correct of one of its trades (trade-correction.service.ts), in the caller's transaction. */
  const applyCorrection = (tx: PoolClient, correction: TradeCorrectionFor) =>
    applyTradeCorrection({ ledger, logger: deps.logger, onAlarm: deps.onAlarm }, tx, correction);

  return { placeOrder, getOrder, listOrders, cancelOrder, replaceOrder, applyEvent, applyEvents, applyCorrection };
}

export type OrderService = ReturnType<typeof createOrderService>;

function stateForEvents(snapshot: OrderSnapshot): OrderStateForEvents {
  return {
    status: orderStatus(snapshot),
    filledQuantity: snapshot.context.filledQuantity,
    filledNotional: snapshot.context.filledNotional,
    lastRejection: snapshot.context.lastRejection ?? null,
  };
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
