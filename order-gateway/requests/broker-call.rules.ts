import type { BrokerOrder } from '../../broker-adapter/index.ts';
import { submitMessageOf, type OrderRequestMessage } from '../orders/order-request.schemas.ts';
import type { SubmissionEvent, SubmissionState } from './submission.machine.ts';
import type { OrderWithoutSubmission, SubmissionKind } from './submission.repository.ts';
import { unknownBackoffMs } from './submission.rules.ts';

/**
 * `brokerAt`: when the broker says it took the order, on its own clock (the order's trade date follows
 * it). `newOrder`: a replace's answer, the order that carries on.
 */
export type CallResult = { event: SubmissionEvent; brokerAt?: string; newOrder?: BrokerOrder } | { breakerOpen: true };

/** What a broker call that did not answer with an order ended in, as the request server sorts it. */
export type CallFailure =
  | { type: 'refused'; code: string; message: string }
  | { type: 'unavailable'; reason: string; message: string; retryAfterMs: number | null }
  | { type: 'breakerOpen' }
  | { type: 'other'; message: string };

export type BrokerAnswer = Pick<BrokerOrder, 'status' | 'rejectReason' | 'brokerOrderId' | 'createdAt'>;

/** The submission's event when the broker answered a submit (or an inquiry) with the order. */
export function answeredSubmit(order: BrokerAnswer, as: 'Accepted' | 'FoundAtBroker'): CallResult {
  const brokerAt = order.createdAt;
  if (order.status === 'rejected') {
    return {
      event: { type: 'Refused', code: 'REJECTED', reason: order.rejectReason ?? 'rejected by the broker' },
      brokerAt,
    };
  }
  return { event: { type: as, brokerOrderId: order.brokerOrderId }, brokerAt };
}

/** The submission's event when the broker call failed. */
export function failedCall(kind: SubmissionKind, inquiry: boolean, failure: CallFailure): CallResult {
  switch (failure.type) {
    case 'refused':
      // A refused inquiry (of a submit, or of a replace's new order) says nothing: it is still unknown.
      if (kind !== 'cancel' && inquiry) {
        return { event: { type: 'OutcomeUnknown', reason: `inquiry refused: ${failure.code}: ${failure.message}` } };
      }
      return { event: { type: 'Refused', code: failure.code, reason: failure.message } };
    case 'unavailable':
      return {
        event: {
          type: 'OutcomeUnknown',
          reason: `${failure.reason}: ${failure.message}`,
          retryAfterMs: failure.retryAfterMs,
        },
      };
    case 'breakerOpen':
      return { breakerOpen: true };
    case 'other':
      return { event: { type: 'OutcomeUnknown', reason: failure.message } };
    default: {
      const exhaustive: never = failure;
      throw new Error(`unexpected failure ${JSON.stringify(exhaustive)}`);
    }
  }
}

/** How long a settled submission waits before it is due again: only an unknown outcome is asked about later. */
export function waitAfterOutcome(
  state: SubmissionState,
  attempts: number,
  event: SubmissionEvent,
  random: () => number = Math.random,
): number {
  if (state !== 'unknown') return 0;
  const retryAfterMs = event.type === 'OutcomeUnknown' ? (event.retryAfterMs ?? null) : null;
  return unknownBackoffMs(attempts, retryAfterMs, random);
}

/** How long a claimed row that must wait is put back: its session is polled, its submit looked at sooner. */
export function waitBeforeClaimMs(reason: 'session' | 'submit', sessionPollMs: number): number {
  return reason === 'session' ? sessionPollMs : 200;
}

/** How long the idle dispatcher sleeps: until the earliest due row, within [5 ms, 1 s]. */
export function idleWaitMs(earliestDueInMs: number | null): number {
  return Math.min(1_000, Math.max(5, earliestDueInMs ?? 1_000));
}

/**
 * The requests of orders the outbox marked sent but whose submission never came to be, as the
 * trading server wrote them: the submit when it is missing, and the cancel or the replace of an order
 * awaiting one.
 */
export function requestsToRedrive(lost: readonly OrderWithoutSubmission[]): OrderRequestMessage[] {
  const requests: OrderRequestMessage[] = [];
  for (const order of lost) {
    if (order.submit_missing) requests.push(submitMessageOf(order));
    if (order.status === 'pending_cancel') {
      requests.push({
        type: 'CancelOrder',
        orderId: order.id,
        accountId: order.account_id,
        requestNo: order.cancel_request_no,
      });
    }
    if (order.status === 'pending_replace' && order.pending_replace) {
      const replacement = order.pending_replace;
      requests.push({
        type: 'ReplaceOrder',
        orderId: order.id,
        accountId: order.account_id,
        requestNo: order.replace_request_no,
        newOrderId: replacement.orderId,
        quantity: replacement.quantity,
        limitPrice: replacement.limitPrice,
        timeInForce: replacement.timeInForce,
      });
    }
  }
  return requests;
}

/**
 * The submission's event when the broker answered a replace (or the inquiry about it, by the new
 * order's id) with the new order: that order exists exactly when the replace took effect.
 */
export function answeredReplace(newOrder: BrokerOrder, inquiry: boolean): CallResult {
  return { event: { type: inquiry ? 'FoundAtBroker' : 'Accepted', brokerOrderId: newOrder.brokerOrderId }, newOrder };
}

/**
 * The submission's event when the broker answered a cancel with the order. A cancel again after an
 * unknown outcome is an inquiry too: the broker answers a repeated cancel with the order, or with its refusal.
 */
export function answeredCancel(order: Pick<BrokerOrder, 'brokerOrderId'>, inquiry: boolean): CallResult {
  return { event: { type: inquiry ? 'FoundAtBroker' : 'Accepted', brokerOrderId: order.brokerOrderId } };
}
