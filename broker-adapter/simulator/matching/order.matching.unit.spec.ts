import { describe, expect, it } from 'vitest';
import { dec, ZERO } from '../../../platform/decimal.ts';
import {
  applyEvent,
  matchOrder,
  rejectReason,
  REJECT_REASONS,
  type MatchableOrder,
  type OrderEvent,
} from './order.matching.ts';

const NOW = new Date('2026-11-24T15:00:00Z'); // 10:00 New York, a Tuesday

function anOrder(overrides: Partial<MatchableOrder> = {}): MatchableOrder {
  return {
    side: 'buy',
    type: 'limit',
    quantity: dec('10'),
    limitPrice: dec('100.00'),
    collarPrice: null,
    timeInForce: 'day',
    extendedHours: false,
    status: 'new',
    cumulativeQuantity: ZERO,
    cumulativeNotional: ZERO,
    cancelRequested: false,
    expiresAt: new Date('2026-11-24T21:00:00Z'),
    fillsInParts: false,
    ...overrides,
  };
}

const regular = (price: string) => ({ price: dec(price), session: 'regular' as const });

function run(order: MatchableOrder, events: OrderEvent[]) {
  let current = order;
  const reports = events.map((event) => {
    const result = applyEvent(current, event);
    current = result.order;
    return result.report;
  });
  return { order: current, reports };
}

describe('limit orders', () => {
  it('given a buy limit above the market, when matched, then it fills entirely at the market price', () => {
    const events = matchOrder(anOrder(), regular('99.50'), NOW);
    expect(events).toEqual([{ type: 'filled', quantity: dec('10'), price: dec('99.50') }]);
    const { order, reports } = run(anOrder(), events);
    expect(order.status).toBe('filled');
    expect(reports[0]).toMatchObject({
      execType: 'trade',
      orderStatus: 'filled',
      lastQuantity: '10',
      lastPrice: '99.50',
      cumulativeQuantity: '10',
      leavesQuantity: '0',
      averagePrice: '99.5000',
    });
  });

  it('given a buy limit below the market, when matched, then nothing happens', () => {
    expect(matchOrder(anOrder(), regular('100.01'), NOW)).toEqual([]);
  });

  it('given a buy limit the market dipped through since the last pass, when matched, then it fills at its limit', () => {
    const dipped = { ...regular('101.00'), range: { low: dec('99.10'), high: dec('101.00') } };
    expect(matchOrder(anOrder(), dipped, NOW)).toEqual([{ type: 'filled', quantity: dec('10'), price: dec('100.00') }]);
    const notLowEnough = { ...regular('101.00'), range: { low: dec('100.01'), high: dec('101.00') } };
    expect(matchOrder(anOrder(), notLowEnough, NOW)).toEqual([]);
  });

  it('given a sell limit the market rose through since the last pass, when matched, then it fills at its limit', () => {
    const rose = { ...regular('99.00'), range: { low: dec('98.00'), high: dec('100.50') } };
    expect(matchOrder(anOrder({ side: 'sell' }), rose, NOW)).toEqual([
      { type: 'filled', quantity: dec('10'), price: dec('100.00') },
    ]);
  });

  it('given a sell limit, when the market is below it, then it rests; at or above, it fills', () => {
    const sell = anOrder({ side: 'sell' });
    expect(matchOrder(sell, regular('99.99'), NOW)).toEqual([]);
    expect(matchOrder(sell, regular('100.00'), NOW)).toHaveLength(1);
  });
});

describe('market orders', () => {
  const market = anOrder({ type: 'market', limitPrice: null, quantity: dec('0.125') });

  it('given a fractional market order in regular hours, when matched, then it fills at the price', () => {
    const { order, reports } = run(market, matchOrder(market, regular('187.25'), NOW));
    expect(order.status).toBe('filled');
    expect(reports[0]!.lastQuantity).toBe('0.125');
  });

  it('given a market buy with a collar below the market, when matched, then it does not fill above the collar', () => {
    const collared = { ...market, collarPrice: dec('180.00') };
    expect(matchOrder(collared, regular('187.25'), NOW)).toEqual([]);
    expect(matchOrder({ ...collared, timeInForce: 'ioc' }, regular('187.25'), NOW)).toEqual([
      { type: 'canceled', reason: 'IOC_REMAINDER_CANCELED' },
    ]);
  });
});

describe('sessions and time in force', () => {
  it('given pre-market, when a regular-hours order is matched, then it waits; an extended-hours one fills', () => {
    const pre = { price: dec('99'), session: 'pre' as const };
    expect(matchOrder(anOrder(), pre, NOW)).toEqual([]);
    expect(matchOrder(anOrder({ extendedHours: true }), pre, NOW)).toHaveLength(1);
  });

  it('given a day order, when the close has passed, then it expires without filling', () => {
    const late = new Date('2026-11-24T21:00:00Z');
    expect(matchOrder(anOrder(), regular('1'), late)).toEqual([{ type: 'expired' }]);
    const { reports } = run(anOrder(), [{ type: 'expired' }]);
    expect(reports[0]).toMatchObject({ execType: 'expired', orderStatus: 'expired', leavesQuantity: '0' });
  });

  it('given a gtc order past the close, when matched, then it is still open', () => {
    expect(
      matchOrder(anOrder({ timeInForce: 'gtc', expiresAt: null }), regular('101'), new Date('2026-12-01T15:00:00Z')),
    ).toEqual([]);
  });

  it('given an ioc order that cannot fill, when matched, then the remainder is canceled at once', () => {
    expect(matchOrder(anOrder({ timeInForce: 'ioc' }), regular('101'), NOW)).toEqual([
      { type: 'canceled', reason: 'IOC_REMAINDER_CANCELED' },
    ]);
  });
});

describe('partial fills (the partial fault)', () => {
  it('given an order that fills in parts, when matched three times, then three executions fill it', () => {
    let order = anOrder({ quantity: dec('9'), fillsInParts: true });
    const trades: string[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const result = run(order, matchOrder(order, regular('99'), NOW));
      order = result.order;
      trades.push(...result.reports.map((r) => `${r.lastQuantity}/${r.cumulativeQuantity}/${r.orderStatus}`));
    }
    expect(trades).toEqual(['3/3/partially_filled', '3/6/partially_filled', '3/9/filled']);
  });

  it('given an ioc order that fills in parts, when matched, then one part fills and the rest is canceled', () => {
    const order = anOrder({ quantity: dec('9'), fillsInParts: true, timeInForce: 'ioc' });
    const { order: after, reports } = run(order, matchOrder(order, regular('99'), NOW));
    expect(reports.map((r) => r.execType)).toEqual(['trade', 'canceled']);
    expect(after).toMatchObject({ status: 'canceled' });
    expect(after.cumulativeQuantity.toString()).toBe('3');
  });
});

describe('cancels: the real race', () => {
  it('given a cancel request, when the next pass finds the price, then the fill lands first and the rest is canceled', () => {
    const requested = run(anOrder({ quantity: dec('9'), fillsInParts: true }), [{ type: 'cancel_requested' }]);
    expect(requested.reports[0]).toMatchObject({ execType: 'pending_cancel', orderStatus: 'pending_cancel' });
    const settled = run(requested.order, matchOrder(requested.order, regular('99'), NOW));
    expect(settled.reports.map((r) => `${r.execType}:${r.orderStatus}`)).toEqual([
      'trade:pending_cancel',
      'canceled:canceled',
    ]);
    expect(settled.reports[1]).toMatchObject({ cumulativeQuantity: '3', leavesQuantity: '0' });
  });

  it('given a cancel request, when the order fills completely in the same pass, then the cancel is refused as too late', () => {
    const requested = run(anOrder(), [{ type: 'cancel_requested' }]);
    const settled = run(requested.order, matchOrder(requested.order, regular('99'), NOW));
    expect(settled.reports.map((r) => r.execType)).toEqual(['trade', 'cancel_rejected']);
    expect(settled.reports[1]).toMatchObject({
      orderStatus: 'filled',
      rejectReason: expect.stringMatching(/^TOO_LATE_TO_CANCEL/),
    });
  });

  it('given a final order, when matched, then nothing happens', () => {
    expect(matchOrder(anOrder({ status: 'filled', cumulativeQuantity: dec('10') }), regular('1'), NOW)).toEqual([]);
  });
});

describe('rejects', () => {
  const check = {
    type: 'limit' as const,
    quantity: dec('1'),
    limitPrice: dec('10'),
    collarPrice: null,
    timeInForce: 'day' as const,
    extendedHours: false,
  };
  const listed = { tradable: true };

  it.each([
    ['an unknown symbol', check, undefined, false, REJECT_REASONS.unknownSymbol],
    ['a fractional limit order', { ...check, quantity: dec('0.5') }, listed, false, REJECT_REASONS.fractional],
    ['a sub-cent price above $1', { ...check, limitPrice: dec('10.001') }, listed, false, REJECT_REASONS.tick],
    [
      'an extended-hours gtc order',
      { ...check, timeInForce: 'gtc' as const, extendedHours: true },
      listed,
      false,
      REJECT_REASONS.extendedHours,
    ],
    ['a simulated risk reject', check, listed, true, REJECT_REASONS.simulated],
  ])('given %s, then it is rejected with a reason', (_name, order, instrument, fault, reason) => {
    expect(rejectReason(order, instrument, fault)).toBe(reason);
  });

  it('given a valid order, then it is taken', () => {
    expect(rejectReason({ ...check, limitPrice: dec('0.4213') }, listed, false)).toBeNull();
    expect(rejectReason(check, listed, false)).toBeNull();
    expect(rejectReason({ ...check, limitPrice: dec('0.0001') }, listed, false)).toBeNull();
  });
});
