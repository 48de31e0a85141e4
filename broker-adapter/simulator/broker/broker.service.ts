import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool, type PoolClient } from '../../../platform/database.ts';
import { dec, Decimal, formatQuantity } from '../../../platform/decimal.ts';
import { DomainError } from '../../../platform/errors.ts';
import type { Logger } from '../../../platform/logger.ts';
import type { FaultPlan } from '../faults/fault.rules.ts';
import { canTrade, dayOrderExpiry, tradingDateOf, type Session } from '../../market-calendar/calendar.rules.ts';
import { describeClock, type SimClock } from '../market/clock.ts';
import type { PricePath } from '../market/market.domain.ts';
import {
  applyEvent,
  isFinal,
  matchOrder,
  rejectReason,
  type MatchableOrder,
  type OrderEvent,
} from '../matching/order.matching.ts';
import type {
  BrokerOrder,
  BrokerReplaceRequest,
  ClockView,
  InstrumentView,
  ParsedOrderRequest,
  StatementKind,
  Statements,
} from '../../client/broker-order.schemas.ts';
import * as repo from './broker.repository.ts';

export interface BrokerServiceDeps {
  pool: Pool;
  clock: SimClock;
  prices: PricePath;
  faults: FaultPlan;
  logger: Logger;
  /** Real time, for delivery schedules and outage windows (the simulated clock may run faster). */
  realNow?: () => number;
  /** How long a reordered report is held back, in real ms, so that later reports overtake it. */
  reorderHoldMs?: number;
}

export interface SubmitResult {
  order: BrokerOrder;
  /** False when the client order id was known: the first order is returned, nothing is created. */
  created: boolean;
}

/** The broker's business: orders, matching passes, cancels, statements. HTTP lives in broker.app.ts. */
export class BrokerService {
  readonly deps: BrokerServiceDeps;
  private readonly realNow: () => number;
  /** Simulated time of the previous matching pass, in this process. */
  private previousPassAt: number | undefined;
  private readonly sessions = new Map<number, Session>();

  constructor(deps: BrokerServiceDeps) {
    this.deps = deps;
    this.realNow = deps.realNow ?? Date.now;
  }

  async submit(request: ParsedOrderRequest): Promise<SubmitResult> {
    const { clock, prices, faults } = this.deps;
    return withTransaction(this.deps.pool, async (tx) => {
      const now = clock.now();
      const instrument = prices.instrument(request.symbol);
      const check = {
        type: request.type,
        quantity: dec(request.quantity),
        limitPrice: request.limitPrice ? dec(request.limitPrice) : null,
        collarPrice: request.collarPrice ? dec(request.collarPrice) : null,
        timeInForce: request.timeInForce,
        extendedHours: request.extendedHours,
      };
      const row = await repo.insertOrder(tx, {
        brokerOrderId: randomUUID(),
        request,
        fillsInParts: faults.fillsInParts(request.clientOrderId),
        expiresAt:
          request.timeInForce === 'day' && clock.kind !== 'always-open'
            ? dayOrderExpiry(now, request.extendedHours)
            : null,
        tradeDate: tradingDateOf(now),
        at: now,
      });
      if (!row) {
        const existing = (await repo.findOrderByClientOrderId(tx, request.clientOrderId))!;
        if (!sameRequest(existing.request, request)) {
          throw new DomainError('IDEMPOTENCY_CONFLICT', 'this clientOrderId was used for a different order', {
            httpStatus: 409,
            details: { brokerOrderId: existing.broker_order_id },
          });
        }
        return { order: repo.toBrokerOrder(existing), created: false };
      }
      const reason = rejectReason(check, instrument, faults.rejects(request.clientOrderId));
      const events: OrderEvent[] = reason ? [{ type: 'rejected', reason }] : [{ type: 'accepted' }];
      const updated = await this.apply(tx, row, events, now, true);
      return { order: updated.order, created: true };
    });
  }

  /**
   * Accepts a cancel request; the cancel itself is settled by the next matching pass, so a fill can
   * still land in between. An order already final cannot be canceled: too late.
   */
  async cancel(brokerOrderId: string): Promise<BrokerOrder> {
    return withTransaction(this.deps.pool, async (tx) => {
      const row = await repo.lockOrder(tx, brokerOrderId);
      if (!row) throw orderNotFound(brokerOrderId);
      if (isFinal(row.status)) {
        throw new DomainError('TOO_LATE_TO_CANCEL', `the order is already ${row.status}`, {
          httpStatus: 422,
          details: { status: row.status },
        });
      }
      if (row.cancel_requested) return repo.toBrokerOrder(row);
      return (await this.apply(tx, row, [{ type: 'cancel_requested' }], this.deps.clock.now(), false)).order;
    });
  }

  /**
   * A cancel/replace, settled at once: the old order ends `replaced` and a new one (the request's
   * client order id, what the new total leaves after the old order's fills) carries on, or the broker
   * refuses with a 422 code. Idempotent on the new client order id, so a caller that lost the answer
   * may send it again. The market may fill the old order first, as on a real venue: that fill counts
   * and shrinks the new order, or makes the replace too late.
   */
  async replace(brokerOrderId: string, request: BrokerReplaceRequest): Promise<SubmitResult> {
    const { clock, prices, faults } = this.deps;
    // The pass first, in its own transaction: what it fills stands even when the replace is then refused.
    await withTransaction(this.deps.pool, async (tx) => {
      const row = await repo.lockOrder(tx, brokerOrderId);
      if (row && !isFinal(row.status)) {
        await this.apply(tx, row, [], clock.now(), true);
      }
    });
    return withTransaction(this.deps.pool, async (tx) => {
      const now = clock.now();
      const row = await repo.lockOrder(tx, brokerOrderId);
      if (!row) throw orderNotFound(brokerOrderId);
      const existing = await repo.findOrderByClientOrderId(tx, request.clientOrderId);
      if (existing) {
        if (existing.replaces === brokerOrderId) return { order: repo.toBrokerOrder(existing), created: false };
        // 422, not 409: a 409 reads as "try later" to a client, and this will never succeed.
        throw new DomainError('IDEMPOTENCY_CONFLICT', 'this clientOrderId belongs to another order', UNPROCESSABLE);
      }
      if (isFinal(row.status)) {
        throw new DomainError('TOO_LATE_TO_REPLACE', `the order is already ${row.status}`, UNPROCESSABLE);
      }
      if (row.cancel_requested) {
        throw new DomainError('ORDER_NOT_REPLACEABLE', 'a cancel of the order is pending', UNPROCESSABLE);
      }
      if (row.type === 'market') {
        throw new DomainError('ORDER_NOT_REPLACEABLE', 'a market order cannot be replaced', UNPROCESSABLE);
      }
      const left = dec(request.quantity).minus(row.cumulative_quantity);
      if (left.lte(0)) {
        throw new DomainError(
          'QUANTITY_BELOW_FILLED',
          `the new quantity ${request.quantity} leaves nothing after ${formatQuantity(dec(row.cumulative_quantity))} filled`,
          UNPROCESSABLE,
        );
      }
      const terms = {
        ...row.request,
        clientOrderId: request.clientOrderId,
        quantity: formatQuantity(left),
        limitPrice: request.limitPrice ?? row.request.limitPrice,
        timeInForce: request.timeInForce ?? row.time_in_force,
      };
      const reason = rejectReason(
        {
          type: terms.type,
          quantity: left,
          limitPrice: terms.limitPrice ? dec(terms.limitPrice) : null,
          collarPrice: null,
          timeInForce: terms.timeInForce,
          extendedHours: terms.extendedHours,
        },
        prices.instrument(row.symbol),
        false,
      );
      if (reason) throw new DomainError(reason.split(':')[0]!, reason, UNPROCESSABLE);
      const created = await repo.insertOrder(tx, {
        brokerOrderId: randomUUID(),
        request: terms,
        fillsInParts: faults.fillsInParts(request.clientOrderId),
        expiresAt:
          terms.timeInForce === 'day' && clock.kind !== 'always-open'
            ? (row.expires_at ?? dayOrderExpiry(now, terms.extendedHours))
            : null,
        tradeDate: tradingDateOf(now),
        at: now,
        replaces: brokerOrderId,
      });
      if (!created) throw new Error(`client order id ${request.clientOrderId} taken concurrently`);
      const by = {
        brokerOrderId: created.broker_order_id,
        clientOrderId: created.client_order_id,
        quantity: formatQuantity(left),
      };
      await this.apply(tx, row, [{ type: 'replaced', by }], now, false);
      const next = await this.apply(tx, created, [{ type: 'accepted' }], now, true);
      return { order: next.order, created: true };
    });
  }

  /**
   * Busts one of the broker's trades (FIX 150=H), as a broker's operations desk does after the fact:
   * a `trade_cancel` report naming it is pushed, the trade leaves every statement, and the order's
   * cumulative figures lose it. A live order may fill those shares again; a final one stays final (a
   * filled order is not worked again). Idempotent: a second bust answers the first's report.
   */
  async bustTrade(execId: string): Promise<{ report: unknown; created: boolean }> {
    return this.amendTrade(execId, { kind: 'bust' });
  }

  /**
   * Corrects one of the broker's trades (FIX 150=G): its new price and/or quantity, in a `trade_correct`
   * report that names it and carries the trade as it now is. The correction replaces the trade on
   * every statement, under the trade's own date. Idempotent on the same terms.
   */
  async correctTrade(
    execId: string,
    terms: { quantity?: string | undefined; price?: string | undefined },
  ): Promise<{ report: unknown; created: boolean }> {
    return this.amendTrade(execId, { kind: 'correct', ...terms });
  }

  private async amendTrade(
    execId: string,
    amendment: { kind: 'bust' } | { kind: 'correct'; quantity?: string | undefined; price?: string | undefined },
  ): Promise<{ report: unknown; created: boolean }> {
    return withTransaction(this.deps.pool, async (tx) => {
      const trade = await repo.findExecution(tx, execId);
      if (!trade || (trade.exec_type !== 'trade' && trade.exec_type !== 'trade_correct')) {
        throw new DomainError('EXECUTION_NOT_FOUND', `no trade ${execId}`, { httpStatus: 404 });
      }
      const row = (await repo.lockOrder(tx, trade.report.brokerOrderId))!;
      const oldQuantity = dec(trade.report.lastQuantity);
      const oldPrice = dec(trade.report.lastPrice);
      const correct = amendment.kind === 'correct';
      const quantity = correct ? dec(amendment.quantity ?? oldQuantity) : dec('0');
      const price = correct ? dec(amendment.price ?? oldPrice) : dec('0');
      const amendId = `${execId}.${amendment.kind}`;
      const existing = await repo.findExecution(tx, amendId);
      if (existing) {
        const same =
          !correct || (dec(existing.report.lastQuantity).eq(quantity) && dec(existing.report.lastPrice).eq(price));
        if (same) return { report: existing.report, created: false };
      }
      const amended = existing ?? (await repo.findAmendment(tx, execId));
      if (amended) {
        throw new DomainError('TRADE_ALREADY_AMENDED', `trade ${execId} was amended by ${amended.report.execId}`, {
          httpStatus: 409,
          details: { amendedBy: amended.report.execId },
        });
      }
      if (correct && quantity.eq(oldQuantity) && price.eq(oldPrice)) {
        throw new DomainError('VALIDATION_FAILED', 'a correct must change the price or the quantity', {
          httpStatus: 400,
        });
      }
      const now = this.deps.clock.now();
      const filled = dec(row.cumulative_quantity).minus(oldQuantity).plus(quantity);
      const notional = dec(row.cumulative_notional).minus(oldQuantity.times(oldPrice)).plus(quantity.times(price));
      const final = isFinal(row.status);
      // A live order filled to its quantity by a correct would be filled without a fill: refused.
      if (filled.gt(row.quantity) || (!final && filled.gte(row.quantity) && correct)) {
        throw new DomainError('CORRECTION_EXCEEDS_ORDER', `the correct takes the order to ${filled.toFixed()}`, {
          httpStatus: 422,
          details: { orderQuantity: formatQuantity(dec(row.quantity)) },
        });
      }
      const status =
        row.status === 'new' || row.status === 'partially_filled'
          ? filled.isZero()
            ? 'new'
            : 'partially_filled'
          : row.status;
      await repo.amendOrder(tx, row.broker_order_id, {
        cumulativeQuantity: filled.toFixed(),
        cumulativeNotional: notional.toFixed(),
        status,
        at: now,
      });
      const report: repo.PlannedReport['report'] = {
        ...trade.report,
        execId: amendId,
        execType: correct ? 'trade_correct' : 'trade_cancel',
        refExecId: execId,
        orderStatus: status,
        lastQuantity: correct ? formatQuantity(quantity) : '0',
        lastPrice: correct ? price.toFixed() : '0',
        cumulativeQuantity: formatQuantity(filled),
        leavesQuantity: final ? '0' : formatQuantity(dec(row.quantity).minus(filled)),
        averagePrice: filled.isZero()
          ? '0'
          : notional.dividedBy(filled).toDecimalPlaces(4, Decimal.ROUND_HALF_UP).toFixed(),
        rejectReason: null,
        replacedBy: null,
        transactTime: now.toISOString(),
      };
      // Dated as the trade it amends: a correction stands on the statement of the trade's own day. Its
      // delivery meets the faults any report meets (dropped, duplicated, held back).
      await repo.insertReports(tx, [this.deliveryPlan(report, row.report_count + 1)], trade.trade_date, now);
      return { report: (await repo.findExecution(tx, amendId))!.report, created: true };
    });
  }

  async getOrder(brokerOrderId: string): Promise<BrokerOrder> {
    const row = await repo.findOrder(this.deps.pool, brokerOrderId);
    if (!row) throw orderNotFound(brokerOrderId);
    return repo.toBrokerOrder(row);
  }

  /**
   * Every execution report of an order, in sequence, whether it was delivered or not: what a broker
   * answers to a request to replay an order's reports (FIX ResendRequest, a REST "activities" call).
   */
  async getOrderReports(brokerOrderId: string): Promise<unknown[]> {
    const row = await repo.findOrder(this.deps.pool, brokerOrderId);
    if (!row) throw orderNotFound(brokerOrderId);
    return repo.reportsOfOrder(this.deps.pool, brokerOrderId);
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder> {
    const row = await repo.findOrderByClientOrderId(this.deps.pool, clientOrderId);
    if (!row) throw orderNotFound(clientOrderId);
    return repo.toBrokerOrder(row);
  }

  /** One matching pass over every open order at the clock's now; returns how many reports it made. */
  async tick(): Promise<number> {
    const passAt = this.deps.clock.now();
    let reports = 0;
    // Read without locks and lock only the orders that this pass changes: most resting orders do not.
    // Under the lock the pass is computed again from the row as it is then.
    for (const open of await repo.openOrders(this.deps.pool)) {
      if (this.matchEvents(open, repo.toMatchable(open), passAt).length === 0) continue;
      reports += await withTransaction(this.deps.pool, async (tx) => {
        const row = await repo.lockOrder(tx, open.broker_order_id);
        if (!row || isFinal(row.status)) return 0;
        return (await this.apply(tx, row, [], passAt, true)).reports;
      });
    }
    this.previousPassAt = passAt.getTime();
    return reports + (await this.bustDueTrades(passAt));
  }

  /** The `bust_after` fault: the desk busts each trade made after the cutoff, some time after it. */
  private async bustDueTrades(now: Date): Promise<number> {
    const due = this.deps.faults.bustsDue(now);
    if (!due) return 0;
    let busted = 0;
    for (;;) {
      const execIds = await repo.tradesToBust(this.deps.pool, due.after, due.madeBy, 200);
      for (const execId of execIds) {
        if ((await this.bustTrade(execId)).created) busted++;
      }
      if (execIds.length < 200) return busted;
    }
  }

  /** Sessions by the minute, memoised: a pass may look back over many minutes for many orders. */
  private sessionAt(at: Date): Session {
    const minute = Math.floor(at.getTime() / 60_000);
    let session = this.sessions.get(minute);
    if (!session) {
      if (this.sessions.size > 100_000) this.sessions.clear();
      session = this.deps.clock.session(at);
      this.sessions.set(minute, session);
    }
    return session;
  }

  /**
   * Applies the given events, then (when `match`) one matching pass, and stores the order with one
   * execution report per event, all in the caller's transaction.
   */
  private async apply(
    tx: PoolClient,
    row: repo.OrderRow,
    initial: readonly OrderEvent[],
    now: Date,
    match: boolean,
  ): Promise<{ order: BrokerOrder; row: repo.OrderRow; reports: number }> {
    const { prices } = this.deps;
    let order: MatchableOrder = repo.toMatchable(row);
    const reports: ReturnType<typeof applyEvent>['report'][] = [];
    let rejectReasonText: string | null = null;
    const run = (events: readonly OrderEvent[]) => {
      for (const event of events) {
        const result = applyEvent(order, event);
        order = result.order;
        reports.push(result.report);
        if (event.type === 'rejected') rejectReasonText = event.reason;
      }
    };
    run(initial);
    const matched = match && !isFinal(order.status) && prices.instrument(row.symbol) !== undefined;
    if (matched) run(this.matchEvents(row, order, now));
    if (reports.length === 0) return { order: repo.toBrokerOrder(row), row, reports: 0 };
    const stored = await repo.updateOrder(
      tx,
      row.broker_order_id,
      order,
      rejectReasonText,
      row.report_count + reports.length,
      now,
      matched ? now : null,
    );
    const planned = reports.map((fields, i) => {
      const index = row.report_count + i + 1;
      return this.deliveryPlan(
        {
          execId: `${row.broker_order_id}.${index}`,
          brokerOrderId: row.broker_order_id,
          clientOrderId: row.client_order_id,
          account: row.account,
          symbol: row.symbol,
          side: row.side,
          ...fields,
          orderQuantity: formatQuantity(dec(row.quantity)),
          transactTime: now.toISOString(),
        },
        index,
      );
    });
    await repo.insertReports(tx, planned, tradingDateOf(now), now);
    return { order: repo.toBrokerOrder(stored), row: stored, reports: reports.length };
  }

  /** One matching pass of `order` (the state of `row`, maybe advanced) at `now`. */
  private matchEvents(row: repo.OrderRow, order: MatchableOrder, now: Date): OrderEvent[] {
    const { prices, clock } = this.deps;
    if (isFinal(order.status) || !prices.instrument(row.symbol)) return [];
    // Prices since the previous pass; never before the order's own last change, whose pass saw them.
    const seen = Math.max(this.previousPassAt ?? now.getTime(), (row.matched_at ?? row.created_at).getTime());
    const range =
      seen < now.getTime()
        ? prices.rangeBetween(row.symbol, new Date(seen), now, (at) => canTrade(this.sessionAt(at), row.extended_hours))
        : null;
    return matchOrder(order, { price: prices.priceAt(row.symbol, now), session: clock.session(now), range }, now);
  }

  /** Which faults touch this report on its way out: dropped, held back, or pushed twice. */
  private deliveryPlan(report: repo.PlannedReport['report'], index: number): repo.PlannedReport {
    const { faults } = this.deps;
    const key = report.clientOrderId;
    if (faults.dropsReport(key, index)) return { report, dropped: true, deliveries: [] };
    const now = this.realNow();
    const due = new Date(faults.reordersReport(key, index) ? now + (this.deps.reorderHoldMs ?? 300) : now);
    const deliveries = [due];
    if (faults.duplicatesReport(key, index)) deliveries.push(new Date(due.getTime() + 1));
    return { report, dropped: false, deliveries };
  }

  async statement<K extends StatementKind>(kind: K, date: string): Promise<Statements[K]> {
    const pool = this.deps.pool;
    switch (kind) {
      case 'executions':
        return { date, executions: await repo.executionsOfDate(pool, date) } as Statements[K];
      case 'orders':
        return { date, orders: await repo.ordersOfDate(pool, date) } as Statements[K];
      case 'positions':
        return (await repo.positionsAt(pool, date)) as Statements[K];
      case 'cash':
        return (await repo.cashAt(pool, date)) as Statements[K];
      default: {
        const unknown: never = kind;
        throw new Error(`unknown statement ${String(unknown)}`);
      }
    }
  }

  instruments(): InstrumentView[] {
    const now = this.deps.clock.now();
    return this.deps.prices.instruments().map((instrument) => ({
      symbol: instrument.symbol,
      name: instrument.name,
      lastPrice: this.deps.prices.priceAt(instrument.symbol, now).toFixed(),
      tradable: instrument.tradable,
    }));
  }

  clockView(): ClockView {
    return describeClock(this.deps.clock);
  }
}

/** A replace is refused with 422: a 409 reads as "try later" to a client, and these never succeed. */
const UNPROCESSABLE = { httpStatus: 422 };

function orderNotFound(id: string): DomainError {
  return new DomainError('ORDER_NOT_FOUND', `no order ${id}`, { httpStatus: 404 });
}

/** Same order, whatever the spelling of its decimals ("10" and "10.0" are one quantity). */
function sameRequest(a: ParsedOrderRequest, b: ParsedOrderRequest): boolean {
  const decimalsEqual = (x: string | undefined, y: string | undefined) =>
    x === undefined || y === undefined ? x === y : dec(x).eq(dec(y));
  return (
    a.clientOrderId === b.clientOrderId &&
    a.account === b.account &&
    a.symbol === b.symbol &&
    a.side === b.side &&
    a.type === b.type &&
    a.timeInForce === b.timeInForce &&
    a.extendedHours === b.extendedHours &&
    decimalsEqual(a.quantity, b.quantity) &&
    decimalsEqual(a.limitPrice, b.limitPrice) &&
    decimalsEqual(a.collarPrice, b.collarPrice)
  );
}
