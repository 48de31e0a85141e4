import { assign, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import { dec } from '../../platform/decimal.ts';

/**
 * One order's life at our firm, as a pure xstate machine. The trading server never runs it as an
 * actor: it restores the stored snapshot, computes `decide(snapshot, event)` inside the database
 * transaction that stores the result, and turns the returned effects into ledger calls and outbox
 * rows in that same transaction.
 *
 * Rules the broker's reality forces on it:
 * - a fill before the acknowledgement implies acceptance;
 * - quantities come from the executions themselves (summed by execId), never from the order in
 *   which reports arrive, so reordered reports end in the same place;
 * - a fill that would take the order above its quantity is refused and alarmed, never applied;
 * - a fill after a cancel request counts; a cancel the broker refuses as too late reopens the order;
 * - when the broker closes an order (canceled, expired) while its report says more was filled than
 *   we have seen, the order shows the final status at once but waits in `closing` for those fills
 *   (live, or repaired by the reconciler) before it releases the rest of its hold;
 * - a replace is a request (FIX cancel/replace): `pendingReplace` until the broker answers; a fill
 *   meanwhile counts; the broker's replace ends the order `replaced` and a new order carries on, its
 *   refusal returns it to `open` with the refusal for the client;
 * - final states absorb everything: later events are recorded and change nothing.
 */

export const ORDER_MACHINE_VERSION = 'order@1';

/** docs/api.md's statuses; the machine's states map onto them (`orderStatus`). */
export const ORDER_STATUSES = [
  'pending_new',
  'new',
  'partially_filled',
  'filled',
  'pending_cancel',
  'pending_replace',
  'canceled',
  'rejected',
  'expired',
  'replaced',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const FINAL_STATUSES: readonly OrderStatus[] = ['filled', 'canceled', 'rejected', 'expired', 'replaced'];

export interface OrderContext {
  quantity: string;
  filledQuantity: string;
  /** Σ quantity × price of the applied fills, exact: the average price is derived from it. */
  filledNotional: string;
  /** execIds already applied: a duplicate report is recognised here as well as by the database. */
  execIds: string[];
  brokerOrderId: string | null;
  rejectReason: string | null;
  /** Set when the broker closed the order while fills it reported were still on their way. */
  closing: { as: 'canceled' | 'expired' | 'replaced'; awaitingFilledQuantity: string } | null;
  /**
   * Cancels asked of the broker so far: the n-th cancel is its own request (a refused one does not
   * swallow the next). Absent from snapshots stored before it existed: read as 0.
   */
  cancelRequests?: number;
  /** The last cancel or replace the broker refused, shown to the client; absent from older snapshots. */
  lastRejection?: LastRejection | null;
  /** Replaces asked of the broker so far, numbered like cancels. */
  replaceRequests?: number;
  /** The replace waiting for the broker's answer; null otherwise. */
  replace?: Replacement | null;
  /** The last replace asked, kept after its answer: a repeated PATCH is recognised by it. */
  lastReplace?: Replacement | null;
  /** The order that carries on after a replace. */
  replacedBy?: string | null;
}

/** The new terms of a replace and the ids they will carry. `quantity` is the new total, fills included. */
export interface Replacement {
  orderId: string;
  clientOrderId: string;
  quantity: string;
  limitPrice: string;
  timeInForce: 'day' | 'gtc' | 'ioc';
  /** The hold added while pending for what the new terms need beyond the old hold; null when none was. */
  topUpHoldId: string | null;
  /** Fingerprint of what the client asked: a repeat with its clientOrderId must ask the same. */
  fingerprint: string;
}

export interface LastRejection {
  action: 'cancel' | 'replace';
  code: string;
  message: string;
  at: string;
}

export type OrderEvent =
  | { type: 'OrderAcknowledged'; brokerOrderId: string; at: string }
  | { type: 'OrderRejected'; reason: string; at: string }
  | { type: 'FillReported'; execId: string; quantity: string; price: string; at: string }
  | { type: 'CancelRequested'; at: string }
  | { type: 'CancelRejected'; code: string; reason: string; at: string }
  | { type: 'OrderCanceled'; cumulativeQuantity: string; at: string }
  | { type: 'OrderExpired'; cumulativeQuantity: string; at: string }
  | { type: 'ReplaceRequested'; replacement: Replacement; at: string }
  /** The broker replaced the order: `quantity` is the new order's, what the new total left after fills. */
  | { type: 'ReplaceAcknowledged'; newOrderId: string; brokerOrderId: string; quantity: string; at: string }
  | { type: 'ReplaceRejected'; code: string; reason: string; at: string }
  /** The order never left our side: replaced here, and the new order goes out instead. */
  | { type: 'ReplacedLocally'; replacement: Replacement; at: string };

export type AlarmKind = 'FILL_EXCEEDS_QUANTITY' | 'FILL_ON_FINAL_ORDER' | 'REJECTED_AFTER_FILL';

/** What a transition asks the world to do; executed by the caller inside the same transaction. */
export type OrderEffect =
  | { type: 'applyFill'; execId: string; quantity: string; price: string; at: string }
  | { type: 'releaseHold' }
  | { type: 'requestCancelAtBroker'; requestNo: number }
  | { type: 'requestReplaceAtBroker'; requestNo: number; replacement: Replacement }
  /**
   * Create the order that carries on: at the broker already (`brokerOrderId`), or to be sent
   * (`brokerOrderId` null: replaced here before the old order left).
   */
  | {
      type: 'createReplacement';
      replacement: Replacement;
      quantity: string;
      brokerOrderId: string | null;
      /** When the broker made the new order, on its clock (its trade date follows it). */
      at: string;
    }
  /** The hold added while a replace was pending is no longer needed. */
  | { type: 'releaseReplaceHold'; holdId: string }
  | { type: 'raiseAlarm'; kind: AlarmKind; detail: string }
  | { type: 'ignoreEvent'; reason: string };

type FillEvent = Extract<OrderEvent, { type: 'FillReported' }>;

function fillOf(event: OrderEvent): FillEvent {
  if (event.type !== 'FillReported') throw new Error(`expected FillReported, got ${event.type}`);
  return event;
}

function filledAfter(context: OrderContext, event: OrderEvent) {
  return dec(context.filledQuantity).plus(fillOf(event).quantity);
}

/** What the old order had filled when the broker replaced it: the new total less what it left the new order. */
function filledAtReplace(replacement: Replacement, event: { quantity: string }) {
  return dec(replacement.quantity).minus(event.quantity);
}

function isDuplicateFill(context: OrderContext, event: OrderEvent): boolean {
  return event.type === 'FillReported' && context.execIds.includes(event.execId);
}

function fillExceedsQuantity(context: OrderContext, event: OrderEvent): boolean {
  return event.type === 'FillReported' && filledAfter(context, event).gt(context.quantity);
}

function fillCompletesOrder(context: OrderContext, event: OrderEvent): boolean {
  return event.type === 'FillReported' && filledAfter(context, event).eq(context.quantity);
}

export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    input: {} as { quantity: string },
  },
  actions: {
    addFill: assign(({ context, event }) => {
      const fill = fillOf(event);
      return {
        filledQuantity: filledAfter(context, event).toFixed(),
        filledNotional: dec(context.filledNotional).plus(dec(fill.quantity).times(fill.price)).toFixed(),
        execIds: [...context.execIds, fill.execId],
      };
    }),
    rememberBrokerOrderId: assign(({ context, event }) => ({
      brokerOrderId: context.brokerOrderId ?? (event.type === 'OrderAcknowledged' ? event.brokerOrderId : null),
    })),
    rememberRejectReason: assign(({ event }) => ({
      rejectReason: event.type === 'OrderRejected' ? event.reason : null,
    })),
    countCancelRequest: assign(({ context }) => ({ cancelRequests: (context.cancelRequests ?? 0) + 1 })),
    rememberRejection: assign(({ event }) => {
      if (event.type !== 'CancelRejected' && event.type !== 'ReplaceRejected') return {};
      const action = event.type === 'CancelRejected' ? ('cancel' as const) : ('replace' as const);
      return { lastRejection: { action, code: event.code, message: event.reason, at: event.at } };
    }),
    rememberReplace: assign(({ context, event }) => {
      if (event.type !== 'ReplaceRequested' && event.type !== 'ReplacedLocally') return {};
      return {
        replaceRequests: (context.replaceRequests ?? 0) + (event.type === 'ReplaceRequested' ? 1 : 0),
        replace: event.replacement,
        lastReplace: event.replacement,
      };
    }),
    forgetReplace: assign({ replace: null }),
    awaitFillsBeforeReplace: assign(({ context, event }) => {
      if (event.type !== 'ReplaceAcknowledged' || !context.replace) return {};
      return {
        closing: {
          as: 'replaced' as const,
          awaitingFilledQuantity: filledAtReplace(context.replace, event).toFixed(),
        },
      };
    }),
    rememberReplacedBy: assign(({ context }) => ({ replacedBy: context.replace?.orderId ?? null })),
    awaitOutstandingFills: assign(({ event }) => {
      if (event.type !== 'OrderCanceled' && event.type !== 'OrderExpired') return {};
      return {
        closing: {
          as: event.type === 'OrderCanceled' ? ('canceled' as const) : ('expired' as const),
          awaitingFilledQuantity: event.cumulativeQuantity,
        },
      };
    }),
    // Effects: no-ops here; `decide()` hands them to the caller, who carries them out.
    applyFill: () => undefined,
    releaseHold: () => undefined,
    requestCancelAtBroker: () => undefined,
    requestReplaceAtBroker: () => undefined,
    createReplacement: () => undefined,
    alarmFillExceedsQuantity: () => undefined,
    alarmRejectedAfterFill: () => undefined,
    ignoreEvent: (_, _params: { reason: string }) => undefined,
  },
  guards: {
    isDuplicateFill: ({ context, event }) => isDuplicateFill(context, event),
    fillExceedsQuantity: ({ context, event }) => fillExceedsQuantity(context, event),
    fillCompletesOrder: ({ context, event }) => fillCompletesOrder(context, event),
    /** Neither a duplicate, nor an excess, nor the last share: the live state decides. */
    isOrdinaryFill: ({ context, event }) =>
      !isDuplicateFill(context, event) && !fillExceedsQuantity(context, event) && !fillCompletesOrder(context, event),
    fillReachesAwaited: ({ context, event }) =>
      context.closing !== null && filledAfter(context, event).gte(context.closing.awaitingFilledQuantity),
    fillsStillOutstanding: ({ context, event }) =>
      (event.type === 'OrderCanceled' || event.type === 'OrderExpired') &&
      dec(event.cumulativeQuantity).gt(context.filledQuantity),
    nothingFilledYet: ({ context }) => dec(context.filledQuantity).isZero(),
    closingAsCanceled: ({ context }) => context.closing?.as === 'canceled',
    closingAsReplaced: ({ context }) => context.closing?.as === 'replaced',
    replaceFillsOutstanding: ({ context, event }) =>
      event.type === 'ReplaceAcknowledged' &&
      context.replace?.orderId === event.newOrderId &&
      filledAtReplace(context.replace, event).gt(context.filledQuantity),
    isPendingReplace: ({ context, event }) =>
      event.type === 'ReplaceAcknowledged' && context.replace?.orderId === event.newOrderId,
  },
}).createMachine({
  id: 'order',
  context: ({ input }) => ({
    quantity: input.quantity,
    filledQuantity: '0',
    filledNotional: '0',
    execIds: [],
    brokerOrderId: null,
    rejectReason: null,
    closing: null,
    cancelRequests: 0,
    lastRejection: null,
  }),
  initial: 'live',
  states: {
    /** The order can still fill. Children handle ordinary fills; the rest is decided here. */
    live: {
      initial: 'pendingNew',
      on: {
        FillReported: [
          { guard: 'isDuplicateFill', actions: { type: 'ignoreEvent', params: { reason: 'duplicate execId' } } },
          { guard: 'fillExceedsQuantity', actions: 'alarmFillExceedsQuantity' },
          { guard: 'fillCompletesOrder', target: 'filled', actions: ['addFill', 'applyFill', 'releaseHold'] },
        ],
        OrderAcknowledged: { actions: 'rememberBrokerOrderId' },
        OrderRejected: [
          { guard: 'nothingFilledYet', target: 'rejected', actions: ['rememberRejectReason', 'releaseHold'] },
          { actions: 'alarmRejectedAfterFill' },
        ],
        CancelRequested: { actions: { type: 'ignoreEvent', params: { reason: 'cancel already requested' } } },
        CancelRejected: { actions: { type: 'ignoreEvent', params: { reason: 'no cancel pending' } } },
        ReplaceRequested: { actions: { type: 'ignoreEvent', params: { reason: 'not replaceable in this state' } } },
        ReplacedLocally: { actions: { type: 'ignoreEvent', params: { reason: 'the order may be at the broker' } } },
        ReplaceAcknowledged: { actions: { type: 'ignoreEvent', params: { reason: 'no such replace pending' } } },
        ReplaceRejected: { actions: { type: 'ignoreEvent', params: { reason: 'no replace pending' } } },
        OrderCanceled: [
          { guard: 'fillsStillOutstanding', target: 'closing', actions: 'awaitOutstandingFills' },
          { target: 'canceled', actions: 'releaseHold' },
        ],
        OrderExpired: [
          { guard: 'fillsStillOutstanding', target: 'closing', actions: 'awaitOutstandingFills' },
          { target: 'expired', actions: 'releaseHold' },
        ],
      },
      states: {
        pendingNew: {
          on: {
            OrderAcknowledged: { target: 'open', actions: 'rememberBrokerOrderId' },
            // A fill before the acknowledgement implies the broker accepted the order.
            FillReported: { guard: 'isOrdinaryFill', target: 'open', actions: ['addFill', 'applyFill'] },
            CancelRequested: { target: 'pendingCancel', actions: ['countCancelRequest', 'requestCancelAtBroker'] },
            // Only the trading server sends this, after it abandoned the submit under its lock.
            ReplacedLocally: {
              target: '#order.replaced',
              actions: ['rememberReplace', 'rememberReplacedBy', 'createReplacement', 'releaseHold'],
            },
          },
        },
        open: {
          on: {
            FillReported: { guard: 'isOrdinaryFill', actions: ['addFill', 'applyFill'] },
            CancelRequested: { target: 'pendingCancel', actions: ['countCancelRequest', 'requestCancelAtBroker'] },
            ReplaceRequested: { target: 'pendingReplace', actions: ['rememberReplace', 'requestReplaceAtBroker'] },
          },
        },
        pendingReplace: {
          on: {
            // The broker may fill the old order before it replaces it: the fill counts, and the new
            // order's quantity (the broker's answer) is what the new total leaves after it.
            FillReported: { guard: 'isOrdinaryFill', actions: ['addFill', 'applyFill'] },
            CancelRequested: { actions: { type: 'ignoreEvent', params: { reason: 'a replace is pending' } } },
            ReplaceAcknowledged: [
              // The broker filled the old order before it replaced it, and those fills have not
              // reached us: the order is replaced now, and keeps its hold until they have.
              {
                guard: 'replaceFillsOutstanding',
                target: '#order.closing',
                actions: ['rememberReplacedBy', 'createReplacement', 'awaitFillsBeforeReplace'],
              },
              {
                guard: 'isPendingReplace',
                target: '#order.replaced',
                actions: ['rememberReplacedBy', 'createReplacement', 'releaseHold'],
              },
            ],
            ReplaceRejected: { target: 'open', actions: ['rememberRejection', 'forgetReplace'] },
          },
        },
        pendingCancel: {
          on: {
            // The broker may fill after we asked to cancel: it counts.
            FillReported: { guard: 'isOrdinaryFill', actions: ['addFill', 'applyFill'] },
            // Too late (or refused otherwise): the order lives on, may still fill, and the client sees why.
            CancelRejected: { target: 'open', actions: 'rememberRejection' },
          },
        },
      },
    },
    /** The broker closed the order; fills its report counted are still on their way. */
    closing: {
      on: {
        FillReported: [
          { guard: 'isDuplicateFill', actions: { type: 'ignoreEvent', params: { reason: 'duplicate execId' } } },
          { guard: 'fillExceedsQuantity', actions: 'alarmFillExceedsQuantity' },
          // The broker's close stands whatever the fill: the status was final the moment it came.
          { guard: 'fillReachesAwaited', target: 'closed', actions: ['addFill', 'applyFill'] },
          { guard: 'fillCompletesOrder', target: 'closed', actions: ['addFill', 'applyFill'] },
          { actions: ['addFill', 'applyFill'] },
        ],
        '*': { actions: { type: 'ignoreEvent', params: { reason: 'order already closed by the broker' } } },
      },
    },
    /** Every fill the broker's close counted has arrived: settle as the broker closed it. */
    closed: {
      always: [
        { guard: 'closingAsCanceled', target: 'canceled', actions: 'releaseHold' },
        { guard: 'closingAsReplaced', target: 'replaced', actions: 'releaseHold' },
        { target: 'expired', actions: 'releaseHold' },
      ],
    },
    filled: { type: 'final' },
    canceled: { type: 'final' },
    expired: { type: 'final' },
    rejected: { type: 'final' },
    replaced: { type: 'final' },
  },
});

export type OrderSnapshot = SnapshotFrom<typeof orderMachine>;
export type OrderStateValue = string | { live: string };
type StateName =
  | 'pendingNew'
  | 'open'
  | 'pendingCancel'
  | 'pendingReplace'
  | 'closing'
  | 'filled'
  | 'canceled'
  | 'expired'
  | 'rejected'
  | 'replaced';

/** `{live: 'open'}` → 'open'; 'filled' → 'filled'. */
function stateName(snapshot: OrderSnapshot): StateName {
  const value = snapshot.value as string | { live: string };
  return (typeof value === 'string' ? value : value.live) as StateName;
}

/** A new order's snapshot, as it is stored when the order is accepted. */
export function newOrderSnapshot(quantity: string): OrderSnapshot {
  return initialTransition(orderMachine, { quantity })[0];
}

/** Rebuilds a snapshot from what was stored (`value` and `context`). */
export function restoreOrderSnapshot(stored: { value: OrderStateValue; context: OrderContext }): OrderSnapshot {
  return orderMachine.resolveState({ value: stored.value, context: stored.context });
}

/** What is stored: JSON, beside ORDER_MACHINE_VERSION. */
export function persistOrderSnapshot(snapshot: OrderSnapshot): { value: OrderStateValue; context: OrderContext } {
  return { value: snapshot.value, context: snapshot.context };
}

/** The pure step: next snapshot and the effects to carry out in the same transaction. */
export function decide(snapshot: OrderSnapshot, event: OrderEvent): { next: OrderSnapshot; effects: OrderEffect[] } {
  if (snapshot.status === 'done') {
    // Final states absorb everything. A fill here is an anomaly worth an alarm (a fill never
    // arrives on a rejected order; a filled or closed order has nothing left to fill), unless it is
    // one we already applied.
    if (event.type === 'FillReported' && !snapshot.context.execIds.includes(event.execId)) {
      return {
        next: snapshot,
        effects: [
          {
            type: 'raiseAlarm',
            kind: 'FILL_ON_FINAL_ORDER',
            detail: `fill ${event.execId} of ${event.quantity} @ ${event.price} on a ${orderStatus(snapshot)} order`,
          },
        ],
      };
    }
    return { next: snapshot, effects: [{ type: 'ignoreEvent', reason: `order is ${orderStatus(snapshot)}` }] };
  }
  const [next, actions] = transition(orderMachine, snapshot, event);
  const effects: OrderEffect[] = [];
  for (const action of actions) {
    const type = action.type as EffectAction;
    switch (type) {
      case 'applyFill': {
        const fill = fillOf(event);
        effects.push({ type, execId: fill.execId, quantity: fill.quantity, price: fill.price, at: fill.at });
        break;
      }
      case 'releaseHold':
        effects.push({ type });
        break;
      case 'requestCancelAtBroker':
        effects.push({ type, requestNo: next.context.cancelRequests ?? 1 });
        break;
      case 'requestReplaceAtBroker':
        effects.push({ type, requestNo: next.context.replaceRequests ?? 1, replacement: next.context.replace! });
        break;
      case 'createReplacement': {
        const replacement = snapshot.context.replace ?? next.context.replace!;
        effects.push(
          event.type === 'ReplaceAcknowledged'
            ? { type, replacement, quantity: event.quantity, brokerOrderId: event.brokerOrderId, at: event.at }
            : { type, replacement, quantity: replacement.quantity, brokerOrderId: null, at: event.at },
        );
        break;
      }
      case 'alarmFillExceedsQuantity': {
        const fill = fillOf(event);
        effects.push({
          type: 'raiseAlarm',
          kind: 'FILL_EXCEEDS_QUANTITY',
          detail: `fill ${fill.execId} of ${fill.quantity} on ${snapshot.context.filledQuantity} filled of ${snapshot.context.quantity}`,
        });
        break;
      }
      case 'alarmRejectedAfterFill':
        effects.push({
          type: 'raiseAlarm',
          kind: 'REJECTED_AFTER_FILL',
          detail: `broker rejected an order with ${snapshot.context.filledQuantity} already filled`,
        });
        break;
      case 'ignoreEvent':
        effects.push({ type, reason: (action.params as { reason: string }).reason });
        break;
      default: {
        const exhaustive: never = type;
        throw new Error(`unexpected action ${String(exhaustive)}`);
      }
    }
  }
  // Whichever way a pending replace ends (replaced, refused, filled, closed), its extra hold goes.
  const topUp = snapshot.context.replace?.topUpHoldId;
  if (topUp && stateName(snapshot) === 'pendingReplace' && stateName(next) !== 'pendingReplace') {
    effects.push({ type: 'releaseReplaceHold', holdId: topUp });
  }
  // An event no state handles (e.g. a cancel rejection with no cancel pending) is still recorded.
  if (effects.length === 0 && next === snapshot)
    effects.push({ type: 'ignoreEvent', reason: 'not applicable in this state' });
  return { next, effects };
}

type EffectAction =
  | 'applyFill'
  | 'releaseHold'
  | 'requestCancelAtBroker'
  | 'requestReplaceAtBroker'
  | 'createReplacement'
  | 'alarmFillExceedsQuantity'
  | 'alarmRejectedAfterFill'
  | 'ignoreEvent';

/** The status of docs/api.md, from the machine's state and context. */
export function orderStatus(snapshot: OrderSnapshot): OrderStatus {
  const state = stateName(snapshot);
  switch (state) {
    case 'pendingNew':
      return 'pending_new';
    case 'open':
      return dec(snapshot.context.filledQuantity).isZero() ? 'new' : 'partially_filled';
    case 'pendingCancel':
      return 'pending_cancel';
    case 'pendingReplace':
      return 'pending_replace';
    case 'closing':
      return snapshot.context.closing?.as ?? 'canceled';
    case 'filled':
    case 'canceled':
    case 'expired':
    case 'rejected':
    case 'replaced':
      return state;
    default: {
      const exhaustive: never = state;
      throw new Error(`unknown state ${String(exhaustive)}`);
    }
  }
}

/** True when no later event can change the order's quantities or release anything more. */
export function isSettled(snapshot: OrderSnapshot): boolean {
  return snapshot.status === 'done';
}
