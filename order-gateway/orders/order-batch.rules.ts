import type { FillToSettle } from '../../ledger/index.ts';
import { dec } from '../../platform/decimal.ts';
import { describeBreaches, fillTermsBreaches, type ReportedFill } from './fill-terms.rules.ts';
import type { CancelOrderMessage, ReplaceOrderMessage } from './order-request.schemas.ts';
import {
  decide,
  orderStatus,
  restoreOrderSnapshot,
  type OrderEffect,
  type OrderEvent,
  type OrderSnapshot,
} from './order.machine.ts';
import type { OrderRow } from './order.repository.ts';

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
export interface OrderChange {
  row: OrderRow;
  first: OrderSnapshot;
  snapshot: OrderSnapshot;
  releaseHold: boolean;
  execIds: string[];
  /** The earliest acknowledgement's time, on the broker's clock. */
  brokerAcceptedAt: string | null;
  /** The order that replaced this one, when the batch replaced it. */
  replacedBy: string | null;
}

/** An order to create because a replace took effect: the old order's row and what the machine decided. */
export interface ReplacementToCreate {
  row: OrderRow;
  effect: Extract<OrderEffect, { type: 'createReplacement' }>;
}

/** One change of one order that a client may need to see (an account event), in the batch's order. */
export interface OrderStep {
  row: OrderRow;
  before: OrderSnapshot;
  after: OrderSnapshot;
  /** The fill that made this change, if one did. */
  execId: string | null;
}

export interface OrderAnomaly {
  orderId: string;
  kind: string;
  detail: string;
  event: unknown;
  execId?: string;
}

/** An alarm to log and count, in the order the batch met it. */
export type OrderAlarm =
  | { type: 'fillOutsideTerms'; orderId: string; execId: string; detail: string }
  | { type: 'orderAlarm'; orderId: string; kind: string; detail: string };

/** Everything a batch of events does to its locked orders, decided before anything is written. */
export interface BatchDecision {
  /** One per event, null where the order does not exist (is not among the locked). */
  results: Array<AppliedEvent | null>;
  /** Per order touched, in the order first met. */
  changes: OrderChange[];
  fills: Array<FillToSettle & { orderId: string }>;
  /** Orders whose holds the ledger releases once their fills are settled. */
  releases: string[];
  /** Cancels and replaces to send to the broker, through the outbox. */
  cancels: Array<CancelOrderMessage | ReplaceOrderMessage>;
  /** Orders that carry on after a replace, created after the old orders' holds are released. */
  replacements: ReplacementToCreate[];
  /** Holds added while a replace was pending, no longer needed. */
  replaceHolds: string[];
  anomalies: OrderAnomaly[];
  alarms: OrderAlarm[];
  /** Every event that moved its order, with the state before and after it. */
  steps: OrderStep[];
}

/**
 * Decides a batch of events on locked orders, as applying them one by one would: each event on its
 * order's latest state in memory. Values in, values out: the caller writes the decision.
 */
export function decideBatch(locked: ReadonlyMap<string, OrderRow>, events: readonly OrderEventFor[]): BatchDecision {
  const changes = new Map<string, OrderChange>();
  const decision: BatchDecision = {
    results: [],
    changes: [],
    fills: [],
    releases: [],
    cancels: [],
    replacements: [],
    replaceHolds: [],
    anomalies: [],
    alarms: [],
    steps: [],
  };
  for (const { orderId, event, reportedAs } of events) {
    const row = locked.get(orderId);
    if (!row) {
      decision.results.push(null);
      continue;
    }
    const outsideTerms = fillOutsideTerms(row, event, reportedAs);
    if (outsideTerms) {
      // Neither the order nor the ledger moves: an operator decides (the reconciler shows it as a break).
      decision.anomalies.push(outsideTerms);
      decision.alarms.push({
        type: 'fillOutsideTerms',
        orderId: row.id,
        execId: outsideTerms.execId,
        detail: outsideTerms.detail,
      });
      const current = changes.get(orderId)?.snapshot ?? restoreOrderSnapshot(row.snapshot);
      decision.results.push({ orderId, status: orderStatus(current), applied: false, wroteOutbox: false });
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
          decision.fills.push({
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
          decision.cancels.push({
            type: 'CancelOrder',
            orderId: row.id,
            accountId: row.account_id,
            requestNo: effect.requestNo,
          });
          wroteOutbox = true;
          break;
        case 'requestReplaceAtBroker':
          decision.cancels.push({
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
          decision.replacements.push({ row, effect });
          change.replacedBy = effect.replacement.orderId;
          // Sent from here only when it replaced the old order before that left: else it is at the broker.
          wroteOutbox ||= effect.brokerOrderId === null;
          break;
        case 'releaseReplaceHold':
          decision.replaceHolds.push(effect.holdId);
          break;
        case 'raiseAlarm':
          decision.anomalies.push({ orderId: row.id, kind: effect.kind, detail: effect.detail, event });
          decision.alarms.push({ type: 'orderAlarm', orderId: row.id, kind: effect.kind, detail: effect.detail });
          break;
        case 'ignoreEvent':
          decision.anomalies.push({ orderId: row.id, kind: 'IGNORED', detail: effect.reason, event });
          break;
        default:
          assertNever(effect);
      }
    }
    decision.results.push({ orderId, status: orderStatus(next), applied: next !== change.snapshot, wroteOutbox });
    if (next !== change.snapshot) {
      decision.steps.push({
        row,
        before: change.snapshot,
        after: next,
        execId: event.type === 'FillReported' ? event.execId : null,
      });
    }
    change.snapshot = next;
  }
  decision.changes = [...changes.values()];
  decision.releases = decision.changes.filter((change) => change.releaseHold).map((change) => change.row.id);
  return decision;
}

/**
 * Whether an order's row must be written: its state moved, or the batch learnt of an acknowledgement
 * earlier than the one it stores (the trade date follows the earliest).
 */
export function changeToWrite(change: OrderChange): { write: boolean; earlierAcceptance: boolean } {
  const earlierAcceptance =
    change.brokerAcceptedAt !== null &&
    (change.row.broker_accepted_at === null || new Date(change.brokerAcceptedAt) < change.row.broker_accepted_at);
  return { write: change.snapshot !== change.first || earlierAcceptance, earlierAcceptance };
}

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
