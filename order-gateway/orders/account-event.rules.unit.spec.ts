import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountEventTypeOf, type OrderStateForEvents } from './account-event.rules.ts';

const anOrder = (fields: Partial<OrderStateForEvents> = {}): OrderStateForEvents => ({
  status: 'new',
  filledQuantity: '0',
  filledNotional: '0',
  lastRejection: null,
  ...fields,
});
const noFill = { fill: false };
const aFill = { fill: true };

describe('the event a client sees for a change of an order', () => {
  it.each([
    ['an acknowledgement', anOrder({ status: 'pending_new' }), anOrder(), noFill, 'new'],
    [
      'a fill that leaves quantity open',
      anOrder(),
      anOrder({ status: 'partially_filled', filledQuantity: '4' }),
      aFill,
      'partial_fill',
    ],
    [
      'the last fill',
      anOrder({ status: 'partially_filled', filledQuantity: '4' }),
      anOrder({ status: 'filled', filledQuantity: '10' }),
      aFill,
      'fill',
    ],
    [
      'a fill while a cancel is pending',
      anOrder({ status: 'pending_cancel' }),
      anOrder({ status: 'pending_cancel', filledQuantity: '2' }),
      aFill,
      'partial_fill',
    ],
    ['a cancel request', anOrder(), anOrder({ status: 'pending_cancel' }), noFill, 'pending_cancel'],
    ['a cancel', anOrder({ status: 'pending_cancel' }), anOrder({ status: 'canceled' }), noFill, 'canceled'],
    [
      'a refused cancel',
      anOrder({ status: 'pending_cancel' }),
      anOrder({ lastRejection: { action: 'cancel', at: 't1' } }),
      noFill,
      'cancel_rejected',
    ],
    [
      'a refused replace',
      anOrder({ status: 'pending_replace', filledQuantity: '2' }),
      anOrder({ status: 'partially_filled', filledQuantity: '2', lastRejection: { action: 'replace', at: 't' } }),
      noFill,
      'replace_rejected',
    ],
    ['a rejection', anOrder({ status: 'pending_new' }), anOrder({ status: 'rejected' }), noFill, 'rejected'],
    ['an expiry', anOrder(), anOrder({ status: 'expired' }), noFill, 'expired'],
    ['a replace', anOrder({ status: 'pending_replace' }), anOrder({ status: 'replaced' }), noFill, 'replaced'],
    [
      'a busted fill',
      anOrder({ status: 'filled', filledQuantity: '10', filledNotional: '1870' }),
      anOrder({ status: 'partially_filled', filledQuantity: '6', filledNotional: '1122' }),
      noFill,
      'trade_bust',
    ],
    [
      'a corrected price',
      anOrder({ status: 'filled', filledQuantity: '10', filledNotional: '1870' }),
      anOrder({ status: 'filled', filledQuantity: '10', filledNotional: '1869' }),
      noFill,
      'trade_correct',
    ],
    [
      'an acknowledgement after the first fill',
      anOrder({ status: 'partially_filled', filledQuantity: '1' }),
      anOrder({ status: 'partially_filled', filledQuantity: '1' }),
      noFill,
      null,
    ],
    [
      'a duplicate fill',
      anOrder({ status: 'partially_filled', filledQuantity: '1' }),
      anOrder({ status: 'partially_filled', filledQuantity: '1.000' }),
      aFill,
      null,
    ],
  ] as const)('given %s', (_, before, after, cause, expected) => {
    expect(accountEventTypeOf(before, after, cause)).toBe(expected);
  });

  it('names every fill that moves the filled quantity a fill, whatever the statuses around it', () => {
    const status = fc.constantFrom('new', 'partially_filled', 'pending_cancel', 'pending_replace', 'canceled');
    fc.assert(
      fc.property(status, status, fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 99 }), (s1, s2, a, b) => {
        const type = accountEventTypeOf(
          anOrder({ status: s1, filledQuantity: String(a) }),
          anOrder({ status: s2, filledQuantity: String(a + b) }),
          aFill,
        );
        expect(type).toBe('partial_fill');
      }),
    );
  });
});
