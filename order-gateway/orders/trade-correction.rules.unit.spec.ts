import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec } from '../../platform/decimal.ts';
import {
  decide,
  newOrderSnapshot,
  orderStatus,
  persistOrderSnapshot,
  restoreOrderSnapshot,
  type OrderEvent,
  type OrderSnapshot,
} from './order.machine.ts';
import { decideTradeCorrection, type FillOnRecord, type TradeCorrection } from './trade-correction.rules.ts';

const at = '2026-11-25T15:00:00.000Z';

// Builders, as the consumer produces them from the broker's reports.
const ack = (): OrderEvent => ({ type: 'OrderAcknowledged', brokerOrderId: 'B-1', at });
const aFill = (execId: string, quantity: string, price = '10.00'): OrderEvent => ({
  type: 'FillReported',
  execId,
  quantity,
  price,
  at,
});
const aBust = (refExecId: string, execId = `${refExecId}.bust`): TradeCorrection => ({
  kind: 'bust',
  execId,
  refExecId,
  quantity: null,
  price: null,
});
const aCorrect = (refExecId: string, quantity: string, price: string): TradeCorrection => ({
  kind: 'correct',
  execId: `${refExecId}.correct`,
  refExecId,
  quantity,
  price,
});

/** An order and its fills as the database keeps them, driven the way the trading server drives them. */
class Book {
  snapshot: OrderSnapshot;
  fills: FillOnRecord[] = [];

  constructor(quantity: string) {
    this.snapshot = decide(newOrderSnapshot(quantity), ack()).next;
  }

  event(event: OrderEvent): void {
    const { next, effects } = decide(this.snapshot, event);
    for (const effect of effects) {
      if (effect.type === 'applyFill') {
        this.fills.push({
          execId: effect.execId,
          quantity: effect.quantity,
          price: effect.price,
          state: 'active',
          corrects: null,
          endedBy: null,
        });
      }
    }
    this.snapshot = next;
  }

  correction(correction: TradeCorrection) {
    const decision = decideTradeCorrection({ snapshot: persistOrderSnapshot(this.snapshot) }, this.fills, correction);
    if (decision.type !== 'apply') return decision;
    const taken = this.fills.find((fill) => fill.execId === decision.fill.execId)!;
    taken.state = decision.correction ? 'corrected' : 'busted';
    taken.endedBy = correction.execId;
    if (decision.correction) {
      this.fills.push({ ...decision.correction, state: 'active', corrects: taken.execId, endedBy: null });
    }
    this.snapshot = restoreOrderSnapshot({ value: this.snapshot.value, context: decision.context });
    return decision;
  }

  get context() {
    return this.snapshot.context;
  }

  active() {
    return this.fills.filter((fill) => fill.state === 'active');
  }
}

describe('a bust or correct of an order fill (given an order and its fills, when the broker amends a trade)', () => {
  it('then a bust takes the fill out of the filled quantity and a partially filled order is new again', () => {
    const book = new Book('10');
    book.event(aFill('T-1', '4'));
    expect(orderStatus(book.snapshot)).toBe('partially_filled');
    const decision = book.correction(aBust('T-1'));
    expect(decision).toMatchObject({ type: 'apply', status: 'new', live: true, correction: null });
    expect(book.context).toMatchObject({ filledQuantity: '0', filledNotional: '0' });
    expect(book.fills).toEqual([expect.objectContaining({ execId: 'T-1', state: 'busted', endedBy: 'T-1.bust' })]);
  });

  it('then a filled order stays filled (final) with less than its quantity, and is not live', () => {
    const book = new Book('5');
    book.event(aFill('T-1', '2'));
    book.event(aFill('T-2', '3'));
    expect(orderStatus(book.snapshot)).toBe('filled');
    expect(book.correction(aBust('T-2'))).toMatchObject({ type: 'apply', status: 'filled', live: false });
    expect(book.context.filledQuantity).toBe('2');
  });

  it('then the same bust again, or a second bust of the trade, changes nothing', () => {
    const book = new Book('10');
    book.event(aFill('T-1', '4'));
    book.correction(aBust('T-1'));
    expect(book.correction(aBust('T-1'))).toMatchObject({ type: 'ignore' });
    expect(book.correction(aBust('T-1', 'another-bust'))).toMatchObject({ type: 'ignore' });
    expect(book.context.filledQuantity).toBe('0');
  });

  it('then a bust of a trade not yet here waits, and one of a busted trade corrected is held', () => {
    const book = new Book('10');
    expect(book.correction(aBust('T-9'))).toMatchObject({ type: 'wait' });
    book.event(aFill('T-1', '4'));
    book.correction(aBust('T-1'));
    expect(book.correction(aCorrect('T-1', '4', '11.00'))).toMatchObject({ type: 'hold' });
  });

  it('then a correct replaces the fill with the new terms, and a correct past the quantity is held', () => {
    const book = new Book('10');
    book.event(aFill('T-1', '4', '10.00'));
    expect(book.correction(aCorrect('T-1', '5', '10.50'))).toMatchObject({ type: 'apply', status: 'partially_filled' });
    expect(book.context).toMatchObject({ filledQuantity: '5', filledNotional: '52.5' });
    // A correct naming the original trade again amends what now stands for it: the correction.
    expect(book.correction({ ...aCorrect('T-1', '11', '10.00'), execId: 'T-1.correct.2' })).toMatchObject({
      type: 'hold',
    });
    expect(book.correction(aBust('T-1', 'T-1.bust'))).toMatchObject({
      type: 'apply',
      fill: expect.objectContaining({ execId: 'T-1.correct' }),
    });
    expect(book.context.filledQuantity).toBe('0');
  });

  it('then a closing order awaits that much less of the fills still on their way', () => {
    const book = new Book('10');
    book.event(aFill('T-1', '2'));
    book.event({ type: 'OrderCanceled', cumulativeQuantity: '5', at });
    expect(book.correction(aBust('T-1'))).toMatchObject({ type: 'apply', live: false });
    expect(book.context.closing).toEqual({ as: 'canceled', awaitingFilledQuantity: '3' });
    book.event(aFill('T-2', '3'));
    expect(orderStatus(book.snapshot)).toBe('canceled');
    expect(book.snapshot.status).toBe('done');
  });

  // Any interleaving of fills, replaces, cancels, busts and corrects, delivered twice or not at all.
  it('keeps filled ≤ quantity, and filled and its notional the sums of the active fills, through any interleaving', () => {
    const command = fc.oneof(
      fc.record({
        kind: fc.constant('fill' as const),
        quantity: fc.integer({ min: 1, max: 6 }),
        cents: fc.integer({ min: 900, max: 1100 }),
      }),
      fc.record({ kind: fc.constant('bust' as const), pick: fc.nat(), duplicate: fc.boolean() }),
      fc.record({
        kind: fc.constant('correct' as const),
        pick: fc.nat(),
        quantity: fc.integer({ min: 1, max: 6 }),
        cents: fc.integer({ min: 900, max: 1100 }),
      }),
      fc.record({
        kind: fc.constant('replace' as const),
        total: fc.integer({ min: 1, max: 12 }),
        accepted: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('cancel' as const), extra: fc.integer({ min: 0, max: 2 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(command, { maxLength: 40 }), (quantity, commands) => {
        const book = new Book(String(quantity));
        let n = 0;
        for (const c of commands) {
          n++;
          switch (c.kind) {
            case 'fill':
              book.event(aFill(`T-${n}`, String(c.quantity), dec(String(c.cents)).dividedBy(100).toFixed(2)));
              break;
            case 'bust':
            case 'correct': {
              const target = book.fills[c.pick % Math.max(1, book.fills.length)];
              const correction =
                c.kind === 'bust'
                  ? aBust(target?.execId ?? `T-missing-${n}`, `B-${n}`)
                  : {
                      ...aCorrect(
                        target?.execId ?? `T-missing-${n}`,
                        String(c.quantity),
                        dec(String(c.cents)).dividedBy(100).toFixed(2),
                      ),
                      execId: `C-${n}`,
                    };
              book.correction(correction);
              if (c.kind === 'bust' && c.duplicate) {
                const before = JSON.stringify(book.context);
                expect(book.correction(correction).type).not.toBe('apply');
                expect(JSON.stringify(book.context)).toBe(before);
              }
              break;
            }
            case 'replace': {
              const replacement = {
                orderId: `N-${n}`,
                clientOrderId: `N-${n}`,
                quantity: String(c.total),
                limitPrice: '10.00',
                timeInForce: 'day' as const,
                topUpHoldId: null,
                fingerprint: `f-${n}`,
              };
              book.event({ type: 'ReplaceRequested', replacement, at });
              const left = dec(String(c.total)).minus(book.context.filledQuantity);
              book.event(
                c.accepted && left.gt(0)
                  ? {
                      type: 'ReplaceAcknowledged',
                      newOrderId: `N-${n}`,
                      brokerOrderId: `BN-${n}`,
                      quantity: left.toFixed(),
                      at,
                    }
                  : { type: 'ReplaceRejected', code: 'TOO_LATE_TO_REPLACE', reason: 'too late', at },
              );
              break;
            }
            case 'cancel':
              book.event({
                type: 'OrderCanceled',
                cumulativeQuantity: dec(book.context.filledQuantity).plus(c.extra).toFixed(),
                at,
              });
              break;
          }
          const active = book.active();
          const filled = active.reduce((sum, fill) => sum.plus(fill.quantity), dec('0'));
          const notional = active.reduce((sum, fill) => sum.plus(dec(fill.quantity).times(fill.price)), dec('0'));
          expect(dec(book.context.filledQuantity).lte(book.context.quantity)).toBe(true);
          expect(dec(book.context.filledQuantity).eq(filled)).toBe(true);
          expect(dec(book.context.filledNotional).eq(notional)).toBe(true);
          expect(new Set(book.fills.map((fill) => fill.execId)).size).toBe(book.fills.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
