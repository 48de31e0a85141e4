import { Decimal, ZERO, dec, formatQuantity } from '../../../platform/decimal.ts';
import type { BrokerOrderStatus, ExecType } from '../../executions/execution-report.schemas.ts';
import { canTrade, type Session } from '../../market-calendar/calendar.rules.ts';
import { isValidTick } from '../market/market.domain.ts';

/**
 * How the simulated broker executes one order: pure, given the order, the market at an instant and
 * the fault decisions already taken. The service runs it when an order arrives and on every tick.
 */

export type Side = 'buy' | 'sell';
export type TimeInForce = 'day' | 'gtc' | 'ioc';

export interface MatchableOrder {
  side: Side;
  type: 'market' | 'limit';
  quantity: Decimal;
  limitPrice: Decimal | null;
  collarPrice: Decimal | null;
  timeInForce: TimeInForce;
  extendedHours: boolean;
  status: BrokerOrderStatus;
  cumulativeQuantity: Decimal;
  /** Sum of quantity × price of the fills, exact: the average price is derived from it. */
  cumulativeNotional: Decimal;
  cancelRequested: boolean;
  expiresAt: Date | null;
  /** The `partial` fault: the order fills a third at a time, one part per pass. */
  fillsInParts: boolean;
}

export type OrderEvent =
  | { type: 'accepted' }
  | { type: 'rejected'; reason: string }
  | { type: 'filled'; quantity: Decimal; price: Decimal }
  | { type: 'cancel_requested' }
  | { type: 'canceled'; reason: string }
  | { type: 'expired' }
  | { type: 'cancel_refused'; reason: string }
  | { type: 'replaced'; by: Replacement };

/** The order that carries on after a cancel/replace, as the `replaced` report names it. */
export interface Replacement {
  brokerOrderId: string;
  clientOrderId: string;
  quantity: string;
}

export interface ReportFields {
  execType: ExecType;
  orderStatus: BrokerOrderStatus;
  lastQuantity: string;
  lastPrice: string;
  cumulativeQuantity: string;
  leavesQuantity: string;
  averagePrice: string;
  rejectReason: string | null;
  replacedBy: Replacement | null;
}

export const REJECT_REASONS = {
  unknownSymbol: 'UNKNOWN_SYMBOL',
  notTradable: 'SYMBOL_NOT_TRADABLE',
  fractional: 'FRACTIONAL_NOT_ALLOWED: fractional quantities only for market day orders',
  tick: 'INVALID_PRICE_INCREMENT',
  extendedHours: 'EXTENDED_HOURS_NOT_ALLOWED: only limit day orders trade outside regular hours',
  simulated: 'BROKER_RISK_REJECT: simulated rejection',
} as const;

export const TOO_LATE_TO_CANCEL = 'TOO_LATE_TO_CANCEL';

export interface OrderCheck {
  type: 'market' | 'limit';
  quantity: Decimal;
  limitPrice: Decimal | null;
  collarPrice: Decimal | null;
  timeInForce: TimeInForce;
  extendedHours: boolean;
}

/** Why the broker refuses an order, or null when it takes it. The rules are Alpaca's. */
export function rejectReason(
  order: OrderCheck,
  instrument: { tradable: boolean } | undefined,
  faultRejects: boolean,
): string | null {
  if (!instrument) return REJECT_REASONS.unknownSymbol;
  if (!instrument.tradable) return REJECT_REASONS.notTradable;
  if (!order.quantity.isInteger() && !(order.type === 'market' && order.timeInForce === 'day')) {
    return REJECT_REASONS.fractional;
  }
  if (order.limitPrice && !isValidTick(order.limitPrice)) return REJECT_REASONS.tick;
  if (order.extendedHours && !(order.type === 'limit' && order.timeInForce === 'day')) {
    return REJECT_REASONS.extendedHours;
  }
  if (faultRejects) return REJECT_REASONS.simulated;
  return null;
}

export function isFinal(status: BrokerOrderStatus): boolean {
  return (
    status === 'filled' ||
    status === 'canceled' ||
    status === 'rejected' ||
    status === 'expired' ||
    status === 'replaced'
  );
}

export function leaves(order: MatchableOrder): Decimal {
  return isFinal(order.status) ? ZERO : order.quantity.minus(order.cumulativeQuantity);
}

/** The part filled per pass under the `partial` fault: a third, whole shares for whole orders. */
function partSize(order: MatchableOrder): Decimal {
  const third = order.quantity.div(3);
  if (order.quantity.isInteger()) return Decimal.max(1, third.floor());
  return Decimal.max(dec('0.000001'), third.toDecimalPlaces(6, Decimal.ROUND_DOWN));
}

/**
 * One matching pass at `now` with the market at `price` in `session`. The order of the checks is
 * the real race: a fill in this pass lands before a pending cancel is settled, and a cancel that
 * finds nothing left is refused as too late.
 */
export interface MarketView {
  /** The price now. */
  price: Decimal;
  session: Session;
  /** Lowest and highest prices traded (in sessions the order may trade) since the order's last pass. */
  range?: { low: Decimal; high: Decimal } | null;
}

export function matchOrder(order: MatchableOrder, market: MarketView, now: Date): OrderEvent[] {
  if (isFinal(order.status)) return [];
  if (order.timeInForce === 'day' && order.expiresAt && now.getTime() >= order.expiresAt.getTime()) {
    return [{ type: 'expired' }];
  }
  const events: OrderEvent[] = [];
  let open = leaves(order);
  if (canTrade(market.session, order.extendedHours) && open.gt(0)) {
    const price = fillPrice(order, market);
    if (price) {
      const quantity = order.fillsInParts ? Decimal.min(open, partSize(order)) : open;
      events.push({ type: 'filled', quantity, price });
      open = open.minus(quantity);
    }
  }
  if (open.gt(0)) {
    if (order.cancelRequested) events.push({ type: 'canceled', reason: 'CANCELED_BY_CLIENT' });
    else if (order.timeInForce === 'ioc') events.push({ type: 'canceled', reason: 'IOC_REMAINDER_CANCELED' });
  } else if (order.cancelRequested) {
    events.push({ type: 'cancel_refused', reason: `${TOO_LATE_TO_CANCEL}: the order is filled` });
  }
  return events;
}

/**
 * The price an open order fills at now, or null. Marketable now: the market price. Not marketable
 * now, but the market traded through the limit since the last pass: the limit itself, as a resting
 * order on an exchange would have been hit at its price.
 */
function fillPrice(order: MatchableOrder, market: MarketView): Decimal | null {
  const limit = order.type === 'limit' ? order.limitPrice : order.collarPrice;
  if (!limit) return market.price;
  if (order.side === 'buy') {
    if (market.price.lte(limit)) return market.price;
    return market.range && market.range.low.lte(limit) ? limit : null;
  }
  if (market.price.gte(limit)) return market.price;
  return market.range && market.range.high.gte(limit) ? limit : null;
}

function formatPrice(price: Decimal): string {
  return price.gte(1) ? price.toFixed(2) : price.toFixed(4);
}

function averagePrice(order: MatchableOrder): string {
  return order.cumulativeQuantity.gt(0)
    ? order.cumulativeNotional.div(order.cumulativeQuantity).toDecimalPlaces(4).toFixed(4)
    : '0';
}

/** The order after an event, and the execution report that tells the world about it. */
export function applyEvent(order: MatchableOrder, event: OrderEvent): { order: MatchableOrder; report: ReportFields } {
  let next: MatchableOrder;
  let execType: ExecType;
  let last = { quantity: ZERO, price: ZERO };
  let reason: string | null = null;
  let replacedBy: Replacement | null = null;
  switch (event.type) {
    case 'accepted':
      next = { ...order, status: 'new' };
      execType = 'new';
      break;
    case 'rejected':
      next = { ...order, status: 'rejected' };
      execType = 'rejected';
      reason = event.reason;
      break;
    case 'filled': {
      const cumulativeQuantity = order.cumulativeQuantity.plus(event.quantity);
      const status: BrokerOrderStatus = cumulativeQuantity.eq(order.quantity)
        ? 'filled'
        : order.cancelRequested
          ? 'pending_cancel'
          : 'partially_filled';
      next = {
        ...order,
        status,
        cumulativeQuantity,
        cumulativeNotional: order.cumulativeNotional.plus(event.quantity.mul(event.price)),
      };
      execType = 'trade';
      last = { quantity: event.quantity, price: event.price };
      break;
    }
    case 'cancel_requested':
      next = { ...order, status: 'pending_cancel', cancelRequested: true };
      execType = 'pending_cancel';
      break;
    case 'canceled':
      next = { ...order, status: 'canceled', cancelRequested: false };
      execType = 'canceled';
      reason = event.reason;
      break;
    case 'expired':
      next = { ...order, status: 'expired' };
      execType = 'expired';
      break;
    case 'cancel_refused':
      next = { ...order, cancelRequested: false };
      execType = 'cancel_rejected';
      reason = event.reason;
      break;
    case 'replaced':
      next = { ...order, status: 'replaced' };
      execType = 'replaced';
      replacedBy = event.by;
      break;
    default: {
      const unknown: never = event;
      throw new Error(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
  return {
    order: next,
    report: {
      execType,
      orderStatus: next.status,
      lastQuantity: formatQuantity(last.quantity),
      lastPrice: event.type === 'filled' ? formatPrice(last.price) : '0',
      cumulativeQuantity: formatQuantity(next.cumulativeQuantity),
      leavesQuantity: formatQuantity(leaves(next)),
      averagePrice: averagePrice(next),
      rejectReason: reason,
      replacedBy,
    },
  };
}
