import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../../platform/decimal.ts';
import { changeToWrite, decideBatch, FILL_OUTSIDE_TERMS, type OrderEventFor } from './order-batch.rules.ts';
import { newOrderSnapshot, persistOrderSnapshot, type OrderEvent } from './order.machine.ts';
import type { OrderRow } from './order.repository.ts';

const at = '2026-11-25T15:00:00.000Z';
const ORDER = '00000000-0000-4000-8000-000000000001';
const OTHER = '00000000-0000-4000-8000-000000000002';
const ACCOUNT = '00000000-0000-4000-8000-0000000000aa';

/** A locked order row as the repository returns it: new, nothing filled. */
function anOrderRow(overrides: Partial<OrderRow> = {}): OrderRow {
  const quantity = overrides.quantity ?? '10';
  return {
    id: ORDER,
    seq: '1',
    account_id: ACCOUNT,
    client_order_id: 'c-1',
    request_hash: 'h',
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity,
    limit_price: '190',
    worst_price: '190',
    time_in_force: 'day',
    extended_hours: false,
    status: 'pending_new',
    filled_quantity: '0',
    filled_notional: '0',
    commission: '0',
    reject_reason: null,
    broker_order_id: null,
    broker_accepted_at: null,
    machine_version: 'order@1',
    snapshot: persistOrderSnapshot(newOrderSnapshot(quantity)),
    version: 1,
    created_at: new Date(at),
    updated_at: new Date(at),
    replaces: null,
    replaced_by: null,
    broker_id: null,
    ...overrides,
  };
}

const ack = (orderId = ORDER, when = at): OrderEventFor => ({
  orderId,
  event: { type: 'OrderAcknowledged', brokerOrderId: 'B-1', at: when },
});
const aFill = (execId: string, quantity: string, orderId = ORDER, price = '187.2'): OrderEventFor => ({
  orderId,
  event: { type: 'FillReported', execId, quantity, price, at },
});
const locked = (...rows: OrderRow[]) => new Map(rows.map((row) => [row.id, row]));

describe('the order funnel decides a batch before writing it', () => {
  it('given a batch with a duplicate, then its steps are the events that moved the order, each with its state before and after', () => {
    const decision = decideBatch(locked(anOrderRow()), [ack(), aFill('E1', '4'), aFill('E1', '4'), aFill('E2', '6')]);
    expect(
      decision.steps.map((step) => [
        step.execId,
        step.before.context.filledQuantity,
        step.after.context.filledQuantity,
      ]),
    ).toEqual([
      [null, '0', '0'],
      ['E1', '0', '4'],
      ['E2', '4', '10'],
    ]);
  });

  it('given an acknowledged order, when two fills arrive, then both settle against its hold and it is filled', () => {
    const decision = decideBatch(locked(anOrderRow()), [ack(), aFill('E1', '4'), aFill('E2', '6')]);
    expect(decision.results.map((result) => result?.status)).toEqual(['new', 'partially_filled', 'filled']);
    expect(decision.fills.map((fill) => [fill.execId, fill.holdId, fill.quantity.toFixed()])).toEqual([
      ['E1', ORDER, '4'],
      ['E2', ORDER, '6'],
    ]);
    expect(decision.releases).toEqual([ORDER]);
    expect(decision.changes).toHaveLength(1);
    expect(decision.changes[0]!.snapshot.context.filledQuantity).toBe('10');
    expect(decision.changes[0]!.brokerAcceptedAt).toBe(at);
    expect(changeToWrite(decision.changes[0]!)).toEqual({ write: true, earlierAcceptance: true });
  });

  it('answers null for an order that is not among the locked, and decides the others', () => {
    const decision = decideBatch(locked(anOrderRow()), [aFill('E1', '1', OTHER), ack()]);
    expect(decision.results[0]).toBeNull();
    expect(decision.results[1]).toMatchObject({ orderId: ORDER, applied: true });
    expect(decision.changes.map((change) => change.row.id)).toEqual([ORDER]);
  });

  it("records a fill outside the order's terms as an anomaly and an alarm, and moves neither the order nor the ledger", () => {
    const event: OrderEventFor = {
      ...aFill('E9', '1', ORDER, '250'),
      reportedAs: { account: ACCOUNT, symbol: 'AAPL', side: 'buy' },
    };
    const decision = decideBatch(locked(anOrderRow()), [ack(), event]);
    expect(decision.results[1]).toEqual({ orderId: ORDER, status: 'new', applied: false, wroteOutbox: false });
    expect(decision.fills).toEqual([]);
    expect(decision.anomalies).toEqual([expect.objectContaining({ kind: FILL_OUTSIDE_TERMS, execId: 'E9' })]);
    expect(decision.alarms).toEqual([expect.objectContaining({ type: 'fillOutsideTerms', execId: 'E9' })]);
  });

  it('asks the broker to cancel an order it acknowledged, through the outbox', () => {
    const decision = decideBatch(locked(anOrderRow()), [
      ack(),
      { orderId: ORDER, event: { type: 'CancelRequested', at } },
    ]);
    expect(decision.cancels).toEqual([{ type: 'CancelOrder', orderId: ORDER, accountId: ACCOUNT, requestNo: 1 }]);
    expect(decision.results[1]).toMatchObject({ status: 'pending_cancel', wroteOutbox: true });
  });

  it('keeps the earliest acknowledgement, and writes nothing when it learns nothing new', () => {
    const stored = new Date('2026-11-25T14:00:00.000Z');
    const acknowledged = decideBatch(locked(anOrderRow()), [ack()]).changes[0]!.snapshot;
    const row = anOrderRow({ broker_accepted_at: stored, snapshot: persistOrderSnapshot(acknowledged) });
    const later = decideBatch(locked(row), [ack(ORDER, at)]);
    expect(changeToWrite(later.changes[0]!).earlierAcceptance).toBe(false);
    const nothing = decideBatch(locked(row), [
      { orderId: ORDER, event: { type: 'CancelRejected', code: 'X', reason: 'no cancel pending', at } },
    ]);
    expect(changeToWrite(nothing.changes[0]!)).toEqual({ write: false, earlierAcceptance: false });
    const earlier = decideBatch(locked(row), [ack(ORDER, '2026-11-25T13:00:00.000Z'), ack(ORDER, at)]);
    expect(earlier.changes[0]!.brokerAcceptedAt).toBe('2026-11-25T13:00:00.000Z');
    expect(changeToWrite(earlier.changes[0]!).earlierAcceptance).toBe(true);
  });

  it('for any sequence of events, duplicates included: filled ≤ quantity, and the fills it settles add up to filled, each execution once', () => {
    const anEvent: fc.Arbitrary<OrderEvent> = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          type: fc.constant('FillReported' as const),
          execId: fc.constantFrom('E1', 'E2', 'E3', 'E4', 'E5', 'E6'),
          quantity: fc.integer({ min: 1, max: 6 }).map(String),
          price: fc.constant('187.2'),
          at: fc.constant(at),
        }),
      },
      { weight: 2, arbitrary: fc.constant<OrderEvent>({ type: 'OrderAcknowledged', brokerOrderId: 'B-1', at }) },
      { weight: 1, arbitrary: fc.constant<OrderEvent>({ type: 'CancelRequested', at }) },
      { weight: 1, arbitrary: fc.constant<OrderEvent>({ type: 'OrderCanceled', cumulativeQuantity: '0', at }) },
      { weight: 1, arbitrary: fc.constant<OrderEvent>({ type: 'OrderRejected', reason: 'no', at }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(anEvent, { maxLength: 30 }), (quantity, events) => {
        const decision = decideBatch(
          locked(anOrderRow({ quantity: String(quantity) })),
          events.map((event) => ({ orderId: ORDER, event })),
        );
        const filled = dec(decision.changes[0]?.snapshot.context.filledQuantity ?? '0');
        expect(filled.lte(quantity)).toBe(true);
        const settled = decision.fills.reduce((total, fill) => total.plus(fill.quantity), dec('0'));
        expect(settled.eq(filled)).toBe(true);
        const execIds = decision.fills.map((fill) => fill.execId);
        expect(new Set(execIds).size).toBe(execIds.length);
        expect(decision.results).toHaveLength(events.length);
      }),
    );
  });
});
