import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../../platform/decimal.ts';
import {
  decide,
  FINAL_STATUSES,
  isSettled,
  newOrderSnapshot,
  orderStatus,
  persistOrderSnapshot,
  restoreOrderSnapshot,
  type OrderEffect,
  type OrderEvent,
  type OrderSnapshot,
} from './order.machine.ts';

const at = '2026-11-25T15:00:00.000Z';

// Builders: events as the consumer and the API produce them.
const ack = (brokerOrderId = 'B-1'): OrderEvent => ({ type: 'OrderAcknowledged', brokerOrderId, at });
const reject = (reason = 'insufficient liquidity'): OrderEvent => ({ type: 'OrderRejected', reason, at });
const aFill = (execId: string, quantity: string, price = '187.20'): OrderEvent => ({
  type: 'FillReported',
  execId,
  quantity,
  price,
  at,
});
const cancelRequest = (): OrderEvent => ({ type: 'CancelRequested', at });
const cancelRefused = (): OrderEvent => ({
  type: 'CancelRejected',
  code: 'TOO_LATE_TO_CANCEL',
  reason: 'too late to cancel',
  at,
});
const canceled = (cumulativeQuantity = '0'): OrderEvent => ({ type: 'OrderCanceled', cumulativeQuantity, at });
const expired = (cumulativeQuantity = '0'): OrderEvent => ({ type: 'OrderExpired', cumulativeQuantity, at });

/** An order of `quantity` after `events`, each applied as the trading server applies them. */
function anOrder(quantity = '10', ...events: OrderEvent[]): OrderSnapshot {
  return events.reduce((snapshot, event) => decide(snapshot, event).next, newOrderSnapshot(quantity));
}

const given = {
  pendingNew: () => anOrder('10'),
  new: () => anOrder('10', ack()),
  partiallyFilled: () => anOrder('10', ack(), aFill('E1', '4')),
  pendingCancel: () => anOrder('10', ack(), aFill('E1', '4'), cancelRequest()),
  closing: () => anOrder('10', ack(), aFill('E1', '4'), canceled('6')),
  filled: () => anOrder('10', ack(), aFill('E1', '10')),
  canceled: () => anOrder('10', ack(), canceled('0')),
  expired: () => anOrder('10', ack(), expired('0')),
  rejected: () => anOrder('10', reject()),
} satisfies Record<string, () => OrderSnapshot>;

type Given = keyof typeof given;
const types = (effects: OrderEffect[]) => effects.map((e) => (e.type === 'raiseAlarm' ? `alarm:${e.kind}` : e.type));

describe('order machine: every state × every event', () => {
  it('starts pending_new with nothing filled', () => {
    const order = newOrderSnapshot('10');
    expect(orderStatus(order)).toBe('pending_new');
    expect(order.context).toMatchObject({ quantity: '10', filledQuantity: '0', execIds: [] });
  });

  // [given, when, then status, then effects, then filled quantity]
  const table: Array<[Given, string, OrderEvent, string, string[], string]> = [
    ['pendingNew', 'acknowledged', ack(), 'new', [], '0'],
    ['pendingNew', 'rejected', reject(), 'rejected', ['releaseHold'], '0'],
    [
      'pendingNew',
      'a fill before the ack (implies acceptance)',
      aFill('E1', '4'),
      'partially_filled',
      ['applyFill'],
      '4',
    ],
    [
      'pendingNew',
      'a fill of everything before the ack',
      aFill('E1', '10'),
      'filled',
      ['applyFill', 'releaseHold'],
      '10',
    ],
    ['pendingNew', 'a fill above the quantity', aFill('E1', '11'), 'pending_new', ['alarm:FILL_EXCEEDS_QUANTITY'], '0'],
    ['pendingNew', 'a cancel request', cancelRequest(), 'pending_cancel', ['requestCancelAtBroker'], '0'],
    ['pendingNew', 'a cancel refusal with none pending', cancelRefused(), 'pending_new', ['ignoreEvent'], '0'],
    ['pendingNew', 'canceled by the broker', canceled('0'), 'canceled', ['releaseHold'], '0'],
    ['pendingNew', 'expired', expired('0'), 'expired', ['releaseHold'], '0'],

    ['new', 'a second acknowledgement', ack('B-2'), 'new', [], '0'],
    ['new', 'rejected', reject(), 'rejected', ['releaseHold'], '0'],
    ['new', 'a partial fill', aFill('E1', '4'), 'partially_filled', ['applyFill'], '4'],
    ['new', 'a full fill', aFill('E1', '10'), 'filled', ['applyFill', 'releaseHold'], '10'],
    ['new', 'a fill above the quantity', aFill('E1', '10.000001'), 'new', ['alarm:FILL_EXCEEDS_QUANTITY'], '0'],
    ['new', 'a cancel request', cancelRequest(), 'pending_cancel', ['requestCancelAtBroker'], '0'],
    ['new', 'a cancel refusal with none pending', cancelRefused(), 'new', ['ignoreEvent'], '0'],
    ['new', 'canceled (IOC remainder, or by the broker)', canceled('0'), 'canceled', ['releaseHold'], '0'],
    ['new', 'expired at the close', expired('0'), 'expired', ['releaseHold'], '0'],

    [
      'partiallyFilled',
      'a duplicate of the fill (same execId)',
      aFill('E1', '4'),
      'partially_filled',
      ['ignoreEvent'],
      '4',
    ],
    ['partiallyFilled', 'another partial fill', aFill('E2', '3'), 'partially_filled', ['applyFill'], '7'],
    ['partiallyFilled', 'the last fill', aFill('E2', '6'), 'filled', ['applyFill', 'releaseHold'], '10'],
    [
      'partiallyFilled',
      'a fill above what is left',
      aFill('E2', '7'),
      'partially_filled',
      ['alarm:FILL_EXCEEDS_QUANTITY'],
      '4',
    ],
    ['partiallyFilled', 'rejected after a fill', reject(), 'partially_filled', ['alarm:REJECTED_AFTER_FILL'], '4'],
    ['partiallyFilled', 'canceled with every fill seen', canceled('4'), 'canceled', ['releaseHold'], '4'],
    ['partiallyFilled', 'canceled with fills still on their way', canceled('6'), 'canceled', [], '4'],
    ['partiallyFilled', 'expired with every fill seen', expired('4'), 'expired', ['releaseHold'], '4'],

    [
      'pendingCancel',
      'a fill after the cancel request (it counts)',
      aFill('E2', '2'),
      'pending_cancel',
      ['applyFill'],
      '6',
    ],
    [
      'pendingCancel',
      'the last fill before the cancel took',
      aFill('E2', '6'),
      'filled',
      ['applyFill', 'releaseHold'],
      '10',
    ],
    ['pendingCancel', 'the cancel refused as too late', cancelRefused(), 'partially_filled', [], '4'],
    ['pendingCancel', 'a second cancel request', cancelRequest(), 'pending_cancel', ['ignoreEvent'], '4'],
    ['pendingCancel', 'canceled', canceled('4'), 'canceled', ['releaseHold'], '4'],
    ['pendingCancel', 'expired before the cancel', expired('4'), 'expired', ['releaseHold'], '4'],
    ['pendingCancel', 'a late acknowledgement', ack(), 'pending_cancel', [], '4'],

    ['closing', 'a fill that arrives after the close (it counts)', aFill('E2', '1'), 'canceled', ['applyFill'], '5'],
    ['closing', 'the last awaited fill', aFill('E2', '2'), 'canceled', ['applyFill', 'releaseHold'], '6'],
    ['closing', 'a duplicate fill', aFill('E1', '4'), 'canceled', ['ignoreEvent'], '4'],
    ['closing', 'a fill above the quantity', aFill('E2', '7'), 'canceled', ['alarm:FILL_EXCEEDS_QUANTITY'], '4'],
    ['closing', 'a cancel request', cancelRequest(), 'canceled', ['ignoreEvent'], '4'],
    ['closing', 'another close', expired('6'), 'canceled', ['ignoreEvent'], '4'],

    ['filled', 'a duplicate fill', aFill('E1', '10'), 'filled', ['ignoreEvent'], '10'],
    ['filled', 'a new fill', aFill('E9', '1'), 'filled', ['alarm:FILL_ON_FINAL_ORDER'], '10'],
    ['filled', 'a cancel request', cancelRequest(), 'filled', ['ignoreEvent'], '10'],
    ['filled', 'canceled', canceled('10'), 'filled', ['ignoreEvent'], '10'],
    ['canceled', 'a fill', aFill('E9', '1'), 'canceled', ['alarm:FILL_ON_FINAL_ORDER'], '0'],
    ['canceled', 'an acknowledgement', ack(), 'canceled', ['ignoreEvent'], '0'],
    ['expired', 'a fill', aFill('E9', '1'), 'expired', ['alarm:FILL_ON_FINAL_ORDER'], '0'],
    ['expired', 'a cancel request', cancelRequest(), 'expired', ['ignoreEvent'], '0'],
    ['rejected', 'a fill (never applied)', aFill('E9', '1'), 'rejected', ['alarm:FILL_ON_FINAL_ORDER'], '0'],
    ['rejected', 'an acknowledgement', ack(), 'rejected', ['ignoreEvent'], '0'],
  ];

  it.each(table)('given %s, when %s, then %s with %j', (state, _when, event, status, effects, filled) => {
    const { next, effects: produced } = decide(given[state](), event);
    expect(orderStatus(next)).toBe(status);
    expect(types(produced)).toEqual(effects);
    expect(next.context.filledQuantity).toBe(filled);
  });

  it('covers every state with every kind of event', () => {
    const kinds = new Set(table.map(([state, , event]) => `${state}:${event.type}`));
    const stateCount = Object.keys(given).length;
    // 7 event kinds per live state; final states absorb all kinds alike.
    expect(new Set(table.map(([state]) => state)).size).toBe(stateCount);
    for (const state of ['pendingNew', 'new', 'pendingCancel'] as const) {
      for (const type of [
        'OrderAcknowledged',
        'OrderRejected',
        'FillReported',
        'CancelRequested',
        'OrderCanceled',
        'OrderExpired',
      ]) {
        if (state === 'pendingCancel' && type === 'OrderRejected') continue;
        expect(kinds, `${state} × ${type}`).toContain(`${state}:${type}`);
      }
    }
  });

  it('keeps the broker order id of the first acknowledgement', () => {
    expect(anOrder('10', ack('B-1'), ack('B-2')).context.brokerOrderId).toBe('B-1');
    expect(anOrder('10', aFill('E1', '1'), ack('B-7')).context.brokerOrderId).toBe('B-7');
  });

  it('numbers each cancel it asks of the broker, so a second cancel after a refused one is its own request', () => {
    const first = decide(given.new(), cancelRequest());
    expect(first.effects).toEqual([{ type: 'requestCancelAtBroker', requestNo: 1 }]);
    const refused = decide(first.next, cancelRefused()).next;
    const second = decide(refused, cancelRequest());
    expect(orderStatus(second.next)).toBe('pending_cancel');
    expect(second.effects).toEqual([{ type: 'requestCancelAtBroker', requestNo: 2 }]);
  });

  it('shows a refused cancel to the client, the order back to its live status', () => {
    const refused = anOrder('10', ack(), aFill('E1', '4'), cancelRequest(), cancelRefused());
    expect(orderStatus(refused)).toBe('partially_filled');
    expect(refused.context.lastRejection).toEqual({
      action: 'cancel',
      code: 'TOO_LATE_TO_CANCEL',
      message: 'too late to cancel',
      at,
    });
    expect(given.new().context.lastRejection).toBeNull();
  });

  it('reads a snapshot stored before cancels were numbered as having asked none', () => {
    const stored = persistOrderSnapshot(given.new());
    const { cancelRequests: _, lastRejection: __, ...older } = stored.context;
    const restored = restoreOrderSnapshot({ value: stored.value, context: older });
    expect(decide(restored, cancelRequest()).effects).toEqual([{ type: 'requestCancelAtBroker', requestNo: 1 }]);
  });

  it('records the reject reason', () => {
    expect(anOrder('10', reject('symbol halted')).context.rejectReason).toBe('symbol halted');
  });

  it('survives being stored and restored between every event', () => {
    const events = [
      ack(),
      aFill('E1', '4', '187.20'),
      cancelRequest(),
      aFill('E2', '1', '187.30'),
      canceled('6'),
      aFill('E3', '1', '187.40'),
    ];
    let snapshot = newOrderSnapshot('10');
    for (const event of events) {
      const stored = JSON.parse(JSON.stringify(persistOrderSnapshot(snapshot))) as ReturnType<
        typeof persistOrderSnapshot
      >;
      snapshot = decide(restoreOrderSnapshot(stored), event).next;
    }
    expect(orderStatus(snapshot)).toBe('canceled');
    expect(isSettled(snapshot)).toBe(true);
    expect(snapshot.context).toMatchObject({ filledQuantity: '6', filledNotional: '1123.5' });
  });

  it('handles fractional quantities exactly', () => {
    const order = anOrder('0.3', ack(), aFill('E1', '0.1'), aFill('E2', '0.2'));
    expect(orderStatus(order)).toBe('filled');
    expect(order.context.filledQuantity).toBe('0.3');
  });
});

// Property tests: random report streams, with the faults the broker really has (duplicates,
// reordering, fills after cancels, closes that overtake their fills, excess fills).
const fillArb = fc.record({
  execId: fc.constantFrom('E1', 'E2', 'E3', 'E4', 'E5', 'E6'),
  quantity: fc.integer({ min: 1, max: 6 }).map(String),
  price: fc.constantFrom('10.00', '10.01', '9.99'),
});
const eventArb: fc.Arbitrary<OrderEvent> = fc.oneof(
  { weight: 6, arbitrary: fillArb.map((f) => ({ type: 'FillReported' as const, ...f, at })) },
  { weight: 2, arbitrary: fc.constant(ack()) },
  { weight: 1, arbitrary: fc.constant(reject()) },
  { weight: 2, arbitrary: fc.constant(cancelRequest()) },
  { weight: 1, arbitrary: fc.constant(cancelRefused()) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 12 }).map((n) => canceled(String(n))) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 12 }).map((n) => expired(String(n))) },
);

// Pure CPU, a hundred runs each: on a loaded machine they outlast vitest's default 5 s.
describe('order machine properties', { timeout: 60_000 }, () => {
  it('never breaks an invariant, whatever the broker sends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(eventArb, { maxLength: 40 }), (quantity, events) => {
        let snapshot = newOrderSnapshot(String(quantity));
        let applied = dec('0');
        const appliedExecIds = new Set<string>();
        let holdReleases = 0;
        let settledAs: string | undefined;
        for (const event of events) {
          const before = snapshot;
          const { next, effects } = decide(snapshot, event);
          for (const effect of effects) {
            if (effect.type === 'applyFill') {
              expect(appliedExecIds.has(effect.execId)).toBe(false);
              appliedExecIds.add(effect.execId);
              applied = applied.plus(effect.quantity);
            }
            if (effect.type === 'releaseHold') holdReleases++;
          }
          snapshot = next;
          // filled = Σ fills, never above quantity
          expect(snapshot.context.filledQuantity).toBe(applied.toFixed());
          expect(applied.lte(quantity)).toBe(true);
          // final states absorb: nothing changes once settled
          if (isSettled(before)) {
            expect(snapshot).toBe(before);
            expect(effects.some((e) => e.type === 'applyFill' || e.type === 'releaseHold')).toBe(false);
          }
          // a rejected order never has a fill
          if (orderStatus(snapshot) === 'rejected') expect(applied.isZero()).toBe(true);
          // a final status never changes
          if (settledAs) expect(orderStatus(snapshot)).toBe(settledAs);
          if (isSettled(snapshot)) settledAs ??= orderStatus(snapshot);
          if (FINAL_STATUSES.includes(orderStatus(before)) && orderStatus(before) !== orderStatus(snapshot)) {
            throw new Error(`left final status ${orderStatus(before)} for ${orderStatus(snapshot)}`);
          }
        }
        // the hold is released exactly once, when and only when the order is settled
        expect(holdReleases).toBe(isSettled(snapshot) ? 1 : 0);
        if (orderStatus(snapshot) === 'filled') expect(applied.eq(quantity)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('ends in the same place whatever order the reports arrive in', () => {
    const scenario = fc
      .tuple(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
      )
      .filter(([quantity, fills]) => fills.reduce((a, b) => a + b, 0) <= quantity);
    fc.assert(
      fc.property(scenario, fc.integer(), fc.nat(3), ([quantity, fills, closeWithCancel], seed, duplicates) => {
        const total = fills.reduce((a, b) => a + b, 0);
        const fillEvents = fills.map((q, i) => aFill(`E${i}`, String(q)));
        const events: OrderEvent[] = [ack(), ...fillEvents, ...fillEvents.slice(0, duplicates)];
        if (total < quantity) events.push(closeWithCancel ? canceled(String(total)) : expired(String(total)));
        const shuffled = fc.sample(
          fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
          { seed, numRuns: 1 },
        )[0]!;
        const inOrder = anOrder(String(quantity), ...events);
        const reordered = anOrder(String(quantity), ...shuffled);
        expect(reordered.context.filledQuantity).toBe(String(total));
        expect(orderStatus(reordered)).toBe(orderStatus(inOrder));
        expect(isSettled(reordered)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
