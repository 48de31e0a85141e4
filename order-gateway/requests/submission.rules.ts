import type { BrokerOrder, ExecutionReport } from '../../broker-adapter/index.ts';
import { dec } from '../../platform/decimal.ts';
import type { Session } from '../market/market-data.ts';
import type { OrderEvent, OrderStatus } from '../orders/order.machine.ts';
import type { SubmissionEvent, SubmissionState } from './submission.machine.ts';
import type { SubmissionKind } from './submission.repository.ts';

/**
 * The request server's rules, values in and values out: when a request goes to the broker, waits,
 * or is abandoned; how long to wait after an unknown outcome; what an answer means to the order;
 * and what the open-order check republishes. The loop, the SQL and the broker calls live elsewhere.
 */

const FINAL: readonly string[] = ['filled', 'canceled', 'rejected', 'expired', 'replaced'];

/** Whether an order may go to the broker in this session (US rules: outside regular hours, only extended-hours orders). */
export function tradableIn(session: Session, extendedHours: boolean): boolean {
  return session === 'regular' || ((session === 'pre' || session === 'post') && extendedHours);
}

/**
 * Backoff before asking again about an unknown outcome: 100 ms doubling to 5 s, with jitter of up to
 * half, and never sooner than the broker's `Retry-After`.
 */
export function unknownBackoffMs(attempts: number, retryAfterMs: number | null = null, random = Math.random): number {
  const base = Math.min(5_000, 100 * 2 ** Math.max(0, attempts - 1));
  const backoff = Math.round(base / 2 + (random() * base) / 2);
  return Math.max(backoff, retryAfterMs ?? 0);
}

export interface ClaimInput {
  kind: SubmissionKind;
  /** The submission's state, a lapsed call already counted as unknown. */
  state: SubmissionState;
  /** The order's status; null when the order row is not there. */
  orderStatus: OrderStatus | null;
  /**
   * Cancels and replaces: the order's submit, which must be at the broker before they can go; its
   * broker id is the order's own for an order that is itself a replacement (it has no submit).
   */
  submit: { state: SubmissionState | null; brokerOrderId: string | null } | null;
  extendedHours: boolean;
  /** A day order's end on the market clock; null when it has none or it is unknown. */
  expiresAt: string | null;
  /** The market clock; null when it cannot be read. */
  clock: { session: Session; now: string } | null;
}

export type ClaimDecision =
  | { type: 'send' }
  | { type: 'wait'; reason: 'session' | 'submit' }
  | { type: 'abandon'; reason: string; order: 'cancel' | 'expire' | null };

/**
 * What to do with a due submission. Abandoning is only for what never reached the broker (`queued`):
 * an unknown outcome is asked about first, and its inquiry returns it to `queued` when the broker
 * never had it.
 */
export function decideClaim(input: ClaimInput): ClaimDecision {
  const orderFinal = input.orderStatus !== null && FINAL.includes(input.orderStatus);
  if (input.kind === 'submit') {
    if (input.state !== 'queued') return { type: 'send' };
    if (orderFinal) return { type: 'abandon', reason: `the order is already ${input.orderStatus}`, order: null };
    if (input.orderStatus === 'pending_cancel') {
      return { type: 'abandon', reason: 'canceled before it reached the broker', order: 'cancel' };
    }
    if (input.clock === null) return { type: 'wait', reason: 'session' };
    if (tradableIn(input.clock.session, input.extendedHours)) return { type: 'send' };
    if (input.expiresAt !== null && Date.parse(input.clock.now) >= Date.parse(input.expiresAt)) {
      return { type: 'abandon', reason: 'its session closed before it reached the broker', order: 'expire' };
    }
    return { type: 'wait', reason: 'session' };
  }
  const submitState = input.submit?.state ?? null;
  if (submitState === 'refused' || submitState === 'abandoned') {
    return { type: 'abandon', reason: 'the order never reached the broker', order: null };
  }
  if (orderFinal) return { type: 'abandon', reason: `the order is already ${input.orderStatus}`, order: null };
  // A replace whose order is no longer waiting for it (refused, or a later one took over) is moot.
  if (input.kind === 'replace' && input.state === 'queued' && input.orderStatus !== 'pending_replace') {
    return { type: 'abandon', reason: 'no replace of the order is pending', order: null };
  }
  if (!input.submit?.brokerOrderId) return { type: 'wait', reason: 'submit' };
  return { type: 'send' };
}

/** The order's event for an abandoned submit: it never reached the broker, so nothing was filled. */
export function orderEventForAbandon(order: 'cancel' | 'expire', at: string): OrderEvent {
  return order === 'cancel'
    ? { type: 'OrderCanceled', cumulativeQuantity: '0', at }
    : { type: 'OrderExpired', cumulativeQuantity: '0', at };
}

/**
 * What the order learns from a settled submission: a submit acknowledged or refused; a cancel refused
 * (the order lives on, with the refusal's code for the client). A cancel accepted changes nothing
 * yet: the broker's report of the cancel ends it.
 */
export function orderEventForOutcome(
  kind: 'submit' | 'cancel',
  state: SubmissionState,
  context: { brokerOrderId: string | null; lastError: string | null },
  event: SubmissionEvent,
  at: string,
  /** When the broker says it took the order, on its clock: the order's trade date follows it. */
  brokerAt?: string,
): OrderEvent | null {
  if (kind === 'submit') {
    if (state === 'acknowledged' && context.brokerOrderId !== null) {
      return { type: 'OrderAcknowledged', brokerOrderId: context.brokerOrderId, at: brokerAt ?? at };
    }
    if (state === 'refused') return { type: 'OrderRejected', reason: context.lastError ?? 'refused by the broker', at };
    return null;
  }
  if (state === 'refused' && event.type === 'Refused') {
    return { type: 'CancelRejected', code: event.code, reason: event.reason, at };
  }
  return null;
}

/**
 * What the order learns from a settled replace: the broker's new order (answered, or found by the
 * inquiry) replaces it; a refusal returns it to its live status with the refusal's code. Still
 * unknown: nothing yet.
 */
export function orderEventForReplaceOutcome(
  state: SubmissionState,
  event: SubmissionEvent,
  newOrder: Pick<BrokerOrder, 'brokerOrderId' | 'clientOrderId' | 'quantity' | 'createdAt'> | undefined,
  at: string,
): OrderEvent | null {
  if (state === 'acknowledged' && newOrder) {
    return {
      type: 'ReplaceAcknowledged',
      newOrderId: newOrder.clientOrderId,
      brokerOrderId: newOrder.brokerOrderId,
      quantity: newOrder.quantity,
      at: newOrder.createdAt,
    };
  }
  if (state === 'refused' && event.type === 'Refused') {
    return { type: 'ReplaceRejected', code: event.code, reason: event.reason, at };
  }
  return null;
}

/**
 * A cancel or replace refused because the order was done first: the broker has what we lack, so ask
 * it at once.
 */
export function asksBrokerAtOnce(kind: SubmissionKind, event: SubmissionEvent): boolean {
  if (event.type !== 'Refused') return false;
  return (
    (kind === 'cancel' && event.code === 'TOO_LATE_TO_CANCEL') ||
    (kind === 'replace' && event.code === 'TOO_LATE_TO_REPLACE')
  );
}

// ---- The open-order check ------------------------------------------------------------------------

export interface OrderUnderCheck {
  status: OrderStatus;
  type: 'market' | 'limit';
  timeInForce: 'day' | 'gtc' | 'ioc';
  extendedHours: boolean;
  filledQuantity: string;
  execIds: readonly string[];
}

export interface BrokerView {
  status: string;
  cumulativeQuantity: string;
}

/**
 * An order that should end or move soon (a cancel out, a market or ioc order, a day order outside
 * its session) is asked about every `checkSeconds`; a resting order in its session, whose silence is
 * usually the market's, backs off to a minute.
 */
export function nextCheckDelayMs(
  order: Pick<OrderUnderCheck, 'status' | 'type' | 'timeInForce' | 'extendedHours'>,
  session: Session | null,
  checkSeconds: number,
  checks: number,
): number {
  const base = Math.round(checkSeconds * 1000);
  const outsideSession = session !== null && !tradableIn(session, order.extendedHours);
  const urgent =
    order.status === 'pending_cancel' ||
    order.status === 'pending_replace' ||
    order.type === 'market' ||
    order.timeInForce === 'ioc' ||
    (order.timeInForce === 'day' && outsideSession);
  if (urgent) return base;
  return Math.min(base * 2 ** Math.min(10, Math.max(0, checks)), Math.max(base, 60_000));
}

/**
 * Whether the broker's view of the order shows something we lack, so that its reports are worth
 * fetching. The quantities only decide whether to ask: what is applied is the broker's own reports.
 */
export function brokerIsAhead(order: OrderUnderCheck, broker: BrokerView): boolean {
  if (dec(broker.cumulativeQuantity).gt(order.filledQuantity)) return true;
  if (FINAL.includes(broker.status) && !FINAL.includes(order.status)) return true;
  // A replace waits for the broker's answer, which the request server's inquiry fetches; a close
  // (replaced, filled) shows above as a final status.
  return order.status === 'pending_cancel' && broker.status !== 'pending_cancel';
}

export type RecoveredKind = 'fill' | 'close' | 'cancel_rejected';

/**
 * The broker's reports of an order that we lack, in the broker's order: executions whose execId we
 * have not applied, the report that closed the order when it is still live here, and the refusal of
 * our cancel when one is still pending here (only the last, and only when the broker is no longer
 * considering a cancel). Never a fill made up from totals: execId keeps a republished one from
 * counting twice.
 */
export function reportsToRecover(
  order: Pick<OrderUnderCheck, 'status' | 'execIds'>,
  brokerStatus: string,
  reports: readonly ExecutionReport[],
): Array<{ report: ExecutionReport; kind: RecoveredKind }> {
  const have = new Set(order.execIds);
  const live = !FINAL.includes(order.status);
  const lastCancelRejected = reports.findLast((report) => report.execType === 'cancel_rejected');
  const recovered: Array<{ report: ExecutionReport; kind: RecoveredKind }> = [];
  for (const report of reports) {
    switch (report.execType) {
      case 'trade':
        if (!have.has(report.execId)) recovered.push({ report, kind: 'fill' });
        break;
      case 'canceled':
      case 'expired':
      case 'rejected':
      case 'replaced':
        if (live) recovered.push({ report, kind: 'close' });
        break;
      case 'cancel_rejected':
        if (order.status === 'pending_cancel' && brokerStatus !== 'pending_cancel' && report === lastCancelRejected) {
          recovered.push({ report, kind: 'cancel_rejected' });
        }
        break;
      // Busts and corrects go to an operator, never re-driven from here.
      case 'new':
      case 'pending_cancel':
      case 'trade_cancel':
      case 'trade_correct':
        break;
      default: {
        const exhaustive: never = report.execType;
        throw new Error(`unknown execType ${String(exhaustive)}`);
      }
    }
  }
  return recovered;
}
