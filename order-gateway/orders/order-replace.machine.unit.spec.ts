import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../../platform/decimal.ts';
import {
  decide,
  isSettled,
  newOrderSnapshot,
  orderStatus,
  persistOrderSnapshot,
  restoreOrderSnapshot,
  type OrderEffect,
  type OrderEvent,
  type OrderSnapshot,
  type Replacement,
} from './order.machine.ts';

const at = '2026-11-25T15:00:00.000Z';

// Builders: events as the API, the request server and the consumer produce them.
const ack = (): OrderEvent => ({ type: 'OrderAcknowledged', brokerOrderId: 'B-1', at });
const aFill = (execId: string, quantity: string): OrderEvent => ({
  type: 'FillReported',
  execId,
  quantity,
  price: '187.20',
  at,
});
const aReplacement = (overrides: Partial<Replacement> = {}): Replacement => ({
  orderId: 'N-1',
  clientOrderId: 'my-0001.r1',
  quantity: '12',
  limitPrice: '186.50',
  timeInForce: 'day',
  topUpHoldId: 'replace-N-1',
  fingerprint: 'f1',
  ...overrides,
});
const replaceRequest = (replacement = aReplacement()): OrderEvent => ({ type: 'ReplaceRequested', replacement, at });
const replaced = (newOrderId = 'N-1', quantity = '8'): OrderEvent => ({
  type: 'ReplaceAcknowledged',
  newOrderId,
  brokerOrderId: 'B-2',
  quantity,
  at,
});
const replaceRefused = (): OrderEvent => ({
  type: 'ReplaceRejected',
  code: 'TOO_LATE_TO_REPLACE',
  reason: 'the order is already filled',
  at,
});
const replacedLocally = (): OrderEvent => ({
  type: 'ReplacedLocally',
  replacement: aReplacement({ topUpHoldId: null }),
  at,
});

function anOrder(quantity = '10', ...events: OrderEvent[]): OrderSnapshot {
  return events.reduce((snapshot, event) => decide(snapshot, event).next, newOrderSnapshot(quantity));
}

/** An order of 10 at the broker with 4 filled, a replace to 12 @ 186.50 pending. */
const pendingReplace = () => anOrder('10', ack(), aFill('E1', '4'), replaceRequest());
const types = (effects: OrderEffect[]) => effects.map((e) => (e.type === 'raiseAlarm' ? `alarm:${e.kind}` : e.type));

describe('order machine: pending_replace × every event', () => {
  // [when, event, then status, then effects, then filled]
  const table: Array<[string, OrderEvent, string, string[], string]> = [
    ['acknowledged again', ack(), 'pending_replace', [], '4'],
    [
      'rejected (after a fill: alarmed, not applied)',
      { type: 'OrderRejected', reason: 'x', at },
      'pending_replace',
      ['alarm:REJECTED_AFTER_FILL'],
      '4',
    ],
    ['a fill racing the replace (counts)', aFill('E2', '3'), 'pending_replace', ['applyFill'], '7'],
    [
      'a fill of the rest (too late to replace)',
      aFill('E2', '6'),
      'filled',
      ['applyFill', 'releaseHold', 'releaseReplaceHold'],
      '10',
    ],
    ['a duplicate fill', aFill('E1', '4'), 'pending_replace', ['ignoreEvent'], '4'],
    ['a fill above the quantity', aFill('E2', '7'), 'pending_replace', ['alarm:FILL_EXCEEDS_QUANTITY'], '4'],
    [
      'a cancel request (refused by the API, ignored here)',
      { type: 'CancelRequested', at },
      'pending_replace',
      ['ignoreEvent'],
      '4',
    ],
    [
      'a cancel refusal',
      { type: 'CancelRejected', code: 'TOO_LATE_TO_CANCEL', reason: 'x', at },
      'pending_replace',
      ['ignoreEvent'],
      '4',
    ],
    [
      'canceled by the broker',
      { type: 'OrderCanceled', cumulativeQuantity: '4', at },
      'canceled',
      ['releaseHold', 'releaseReplaceHold'],
      '4',
    ],
    [
      'expired at the close',
      { type: 'OrderExpired', cumulativeQuantity: '4', at },
      'expired',
      ['releaseHold', 'releaseReplaceHold'],
      '4',
    ],
    [
      'expired with fills still on their way',
      { type: 'OrderExpired', cumulativeQuantity: '6', at },
      'expired',
      ['releaseReplaceHold'],
      '4',
    ],
    [
      'another replace request',
      replaceRequest(aReplacement({ orderId: 'N-2' })),
      'pending_replace',
      ['ignoreEvent'],
      '4',
    ],
    ['replaced', replaced(), 'replaced', ['createReplacement', 'releaseHold', 'releaseReplaceHold'], '4'],
    [
      'replaced after fills not yet reported (12 − 6 left: 6 filled)',
      replaced('N-1', '6'),
      'replaced',
      ['createReplacement', 'releaseReplaceHold'],
      '4',
    ],
    ['replaced as another replace (not ours)', replaced('N-9'), 'pending_replace', ['ignoreEvent'], '4'],
    ['the replace refused', replaceRefused(), 'partially_filled', ['releaseReplaceHold'], '4'],
    ['replaced locally (it is at the broker)', replacedLocally(), 'pending_replace', ['ignoreEvent'], '4'],
  ];

  it.each(table)('when %s, then %s with %j', (_when, event, status, effects, filled) => {
    const { next, effects: produced } = decide(pendingReplace(), event);
    expect(orderStatus(next)).toBe(status);
    expect(types(produced)).toEqual(effects);
    expect(next.context.filledQuantity).toBe(filled);
  });

  it('covers every kind of event', () => {
    const kinds = new Set(table.map(([, event]) => event.type));
    for (const type of [
      'OrderAcknowledged',
      'OrderRejected',
      'FillReported',
      'CancelRequested',
      'CancelRejected',
      'OrderCanceled',
      'OrderExpired',
      'ReplaceRequested',
      'ReplaceAcknowledged',
      'ReplaceRejected',
      'ReplacedLocally',
    ] satisfies OrderEvent['type'][]) {
      expect(kinds, type).toContain(type);
    }
  });

  it('asks the broker for a replace from open, numbered, with the new terms', () => {
    const { next, effects } = decide(anOrder('10', ack()), replaceRequest());
    expect(orderStatus(next)).toBe('pending_replace');
    expect(effects).toEqual([{ type: 'requestReplaceAtBroker', requestNo: 1, replacement: aReplacement() }]);
    const again = decide(decide(next, replaceRefused()).next, replaceRequest(aReplacement({ orderId: 'N-2' })));
    expect(again.effects[0]).toMatchObject({ type: 'requestReplaceAtBroker', requestNo: 2 });
  });

  it('creates the replacement with the quantity the broker left, and links the old order to it', () => {
    const { next, effects } = decide(pendingReplace(), replaced('N-1', '8'));
    expect(next.context.replacedBy).toBe('N-1');
    expect(effects[0]).toEqual({
      type: 'createReplacement',
      replacement: aReplacement(),
      quantity: '8',
      brokerOrderId: 'B-2',
      at,
    });
  });

  it('applies the fills the broker made before it replaced the order, then releases the old hold', () => {
    const replacedEarly = decide(pendingReplace(), replaced('N-1', '6')).next;
    const late = decide(replacedEarly, aFill('E2', '2'));
    expect(orderStatus(late.next)).toBe('replaced');
    expect(types(late.effects)).toEqual(['applyFill', 'releaseHold']);
    expect(late.next.context.filledQuantity).toBe('6');
    expect(isSettled(late.next)).toBe(true);
  });

  it('shows a refused replace to the client, the order back to its live status', () => {
    const { next } = decide(pendingReplace(), replaceRefused());
    expect(next.context.lastRejection).toEqual({
      action: 'replace',
      code: 'TOO_LATE_TO_REPLACE',
      message: 'the order is already filled',
      at,
    });
    expect(next.context.replace).toBeNull();
    expect(next.context.lastReplace).toEqual(aReplacement());
  });

  it('replaces an order that never left here: the new order is sent instead, with the full new quantity', () => {
    const { next, effects } = decide(anOrder('10'), replacedLocally());
    expect(orderStatus(next)).toBe('replaced');
    expect(types(effects)).toEqual(['createReplacement', 'releaseHold']);
    expect(effects[0]).toMatchObject({ brokerOrderId: null, quantity: '12' });
  });

  it.each([
    ['pending_new', () => anOrder('10')],
    ['pending_cancel', () => anOrder('10', ack(), { type: 'CancelRequested', at })],
    ['filled', () => anOrder('10', ack(), aFill('E1', '10'))],
  ])('does not replace from %s', (_status, order) => {
    const before = order();
    const { next, effects } = decide(before, replaceRequest());
    expect(orderStatus(next)).toBe(orderStatus(before));
    expect(effects.some((e) => e.type === 'requestReplaceAtBroker')).toBe(false);
  });

  it('survives being stored and restored while pending', () => {
    const stored = JSON.parse(JSON.stringify(persistOrderSnapshot(pendingReplace()))) as ReturnType<
      typeof persistOrderSnapshot
    >;
    const restored = restoreOrderSnapshot(stored);
    expect(orderStatus(decide(restored, replaced()).next)).toBe('replaced');
  });
});

/** The broker's side of one order chain: any interleaving of fills, replaces and their answers. */
const chainEvent = fc.oneof(
  fc.record({
    kind: fc.constant('fill' as const),
    execId: fc.integer({ min: 1, max: 30 }),
    quantity: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({ kind: fc.constant('replace' as const), total: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('answer' as const), accept: fc.boolean() }),
  fc.record({ kind: fc.constant('close' as const) }),
);

describe('order chain properties', { timeout: 60_000 }, () => {
  it('filled ≤ quantity and Σ fills = filled on every order, through any interleaving of replaces', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(chainEvent, { maxLength: 40 }), (quantity, steps) => {
        // Orders of the chain by id; the last is the live one.
        const chain = new Map<string, { snapshot: OrderSnapshot; applied: ReturnType<typeof dec> }>();
        let live = 'O-0';
        chain.set(live, { snapshot: anOrder(String(quantity), ack()), applied: dec('0') });
        let next = 1;
        const seenExecIds = new Set<string>();
        const apply = (orderId: string, event: OrderEvent) => {
          const order = chain.get(orderId)!;
          const { next: snapshot, effects } = decide(order.snapshot, event);
          for (const effect of effects) {
            if (effect.type === 'applyFill') {
              expect(seenExecIds.has(effect.execId)).toBe(false);
              seenExecIds.add(effect.execId);
              order.applied = order.applied.plus(effect.quantity);
            }
            if (effect.type === 'createReplacement') {
              const id = effect.replacement.orderId;
              chain.set(id, { snapshot: anOrder(effect.quantity, ack()), applied: dec('0') });
              live = id;
            }
          }
          order.snapshot = snapshot;
        };
        for (const step of steps) {
          const current = chain.get(live)!;
          const context = current.snapshot.context;
          switch (step.kind) {
            case 'fill': {
              // The broker never fills beyond what is left of the order.
              const left = dec(context.quantity).minus(context.filledQuantity);
              const quantityFilled = Math.min(step.quantity, left.toNumber());
              if (quantityFilled > 0) apply(live, aFill(`${live}.E${step.execId}`, String(quantityFilled)));
              break;
            }
            case 'replace':
              if (orderStatus(current.snapshot) === 'new' || orderStatus(current.snapshot) === 'partially_filled') {
                if (dec(String(step.total)).gt(context.filledQuantity)) {
                  apply(live, replaceRequest(aReplacement({ orderId: `O-${next++}`, quantity: String(step.total) })));
                }
              }
              break;
            case 'answer':
              if (orderStatus(current.snapshot) === 'pending_replace') {
                const pending = context.replace!;
                const left = dec(pending.quantity).minus(context.filledQuantity);
                apply(live, step.accept && left.gt(0) ? replaced(pending.orderId, left.toFixed()) : replaceRefused());
              }
              break;
            case 'close':
              apply(live, { type: 'OrderCanceled', cumulativeQuantity: context.filledQuantity, at });
              break;
          }
        }
        for (const [, order] of chain) {
          const { context } = order.snapshot;
          expect(context.filledQuantity).toBe(order.applied.toFixed());
          expect(dec(context.filledQuantity).lte(context.quantity)).toBe(true);
          if (orderStatus(order.snapshot) === 'replaced') expect(isSettled(order.snapshot)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
