import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExecutionReport } from '../../broker-adapter/index.ts';
import {
  brokerIsAhead,
  decideClaim,
  nextCheckDelayMs,
  orderEventForOutcome,
  reportsToRecover,
  tradableIn,
  unknownBackoffMs,
  type ClaimInput,
} from './submission.rules.ts';

describe('request server rules', () => {
  it.each([
    ['regular', false, true],
    ['regular', true, true],
    ['pre', false, false],
    ['pre', true, true],
    ['post', false, false],
    ['post', true, true],
    ['closed', false, false],
    ['closed', true, false],
  ] as const)(
    'in the %s session an order with extendedHours=%s may go to the broker: %s',
    (session, extendedHours, expected) => {
      expect(tradableIn(session, extendedHours)).toBe(expected);
    },
  );

  it('backs off from 100 ms, doubling, to at most 5 s, with jitter of up to half', () => {
    for (let attempts = 1; attempts <= 12; attempts++) {
      const base = Math.min(5_000, 100 * 2 ** (attempts - 1));
      for (let i = 0; i < 50; i++) {
        const wait = unknownBackoffMs(attempts);
        expect(wait).toBeGreaterThanOrEqual(base / 2);
        expect(wait).toBeLessThanOrEqual(base);
      }
    }
  });

  it("never asks again sooner than the broker's Retry-After", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 3_600_000 }), (attempts, retryAfter) => {
        expect(unknownBackoffMs(attempts, retryAfter)).toBeGreaterThanOrEqual(retryAfter);
      }),
    );
  });
});

describe('what a due submission does', () => {
  const regular = { session: 'regular' as const, now: '2026-03-02T15:00:00.000Z' };
  const afterClose = { session: 'post' as const, now: '2026-03-02T21:30:00.000Z' };
  const dayEnd = '2026-03-02T21:00:00.000Z';
  const submit = (overrides: Partial<ClaimInput> = {}): ClaimInput => ({
    kind: 'submit',
    state: 'queued',
    orderStatus: 'pending_new',
    submit: null,
    extendedHours: false,
    expiresAt: dayEnd,
    clock: regular,
    ...overrides,
  });
  const cancel = (overrides: Partial<ClaimInput> = {}): ClaimInput => ({
    ...submit({ kind: 'cancel', orderStatus: 'pending_cancel' }),
    submit: { state: 'acknowledged', brokerOrderId: 'B1' },
    ...overrides,
  });

  it('sends a queued order in its session and waits outside it', () => {
    expect(decideClaim(submit())).toEqual({ type: 'send' });
    expect(decideClaim(submit({ clock: { ...afterClose, now: '2026-03-02T20:59:00.000Z' } }))).toEqual({
      type: 'wait',
      reason: 'session',
    });
    expect(decideClaim(submit({ clock: null }))).toEqual({ type: 'wait', reason: 'session' });
  });

  it('expires a day order whose session closed before it reached the broker', () => {
    expect(decideClaim(submit({ clock: afterClose }))).toMatchObject({ type: 'abandon', order: 'expire' });
    // No known end (gtc, or a message of an older version): it waits for the next session.
    expect(decideClaim(submit({ clock: afterClose, expiresAt: null }))).toEqual({ type: 'wait', reason: 'session' });
    // An extended-hours order may still go out in post-market.
    expect(
      decideClaim(submit({ clock: afterClose, extendedHours: true, expiresAt: '2026-03-03T01:00:00.000Z' })),
    ).toEqual({
      type: 'send',
    });
  });

  it('cancels here an order whose cancel came before it reached the broker', () => {
    expect(decideClaim(submit({ orderStatus: 'pending_cancel' }))).toMatchObject({ type: 'abandon', order: 'cancel' });
    expect(decideClaim(submit({ orderStatus: 'canceled' }))).toMatchObject({ type: 'abandon', order: null });
  });

  it('asks about an unknown outcome whatever the order became: it may be at the broker', () => {
    for (const orderStatus of ['pending_new', 'pending_cancel', 'canceled'] as const) {
      expect(decideClaim(submit({ state: 'unknown', orderStatus, clock: afterClose }))).toEqual({ type: 'send' });
    }
  });

  it('sends a cancel once its order is at the broker, and drops it when the order never got there', () => {
    expect(decideClaim(cancel())).toEqual({ type: 'send' });
    expect(decideClaim(cancel({ submit: { state: 'unknown', brokerOrderId: null } }))).toEqual({
      type: 'wait',
      reason: 'submit',
    });
    expect(decideClaim(cancel({ submit: { state: 'abandoned', brokerOrderId: null } }))).toMatchObject({
      type: 'abandon',
      order: null,
    });
    expect(decideClaim(cancel({ orderStatus: 'filled' }))).toMatchObject({ type: 'abandon', order: null });
  });
});

describe('what a settled submission tells the order', () => {
  const at = '2026-03-02T15:00:00.000Z';
  it('a refused cancel carries its code to the order, whatever the code', () => {
    for (const code of ['TOO_LATE_TO_CANCEL', 'ORDER_NOT_FOUND']) {
      expect(
        orderEventForOutcome(
          'cancel',
          'refused',
          { brokerOrderId: null, lastError: 'no' },
          { type: 'Refused', code, reason: 'no' },
          at,
        ),
      ).toEqual({ type: 'CancelRejected', code, reason: 'no', at });
    }
  });

  it('an accepted cancel changes nothing yet: the broker report ends it', () => {
    expect(
      orderEventForOutcome(
        'cancel',
        'acknowledged',
        { brokerOrderId: 'B1', lastError: null },
        { type: 'Accepted', brokerOrderId: 'B1' },
        at,
      ),
    ).toBeNull();
  });
});

describe('the open-order check', () => {
  const order = {
    status: 'new' as const,
    type: 'limit' as const,
    timeInForce: 'gtc' as const,
    extendedHours: false,
    filledQuantity: '0',
    execIds: [] as string[],
  };

  it('asks soon about what should move, and backs off on a resting order in its session', () => {
    expect(nextCheckDelayMs({ ...order, type: 'market' }, 'regular', 5, 6)).toBe(5_000);
    expect(nextCheckDelayMs({ ...order, status: 'pending_cancel' }, 'regular', 5, 6)).toBe(5_000);
    expect(nextCheckDelayMs({ ...order, timeInForce: 'day' }, 'post', 5, 6)).toBe(5_000);
    expect(nextCheckDelayMs(order, 'regular', 5, 0)).toBe(5_000);
    expect(nextCheckDelayMs(order, 'regular', 5, 2)).toBe(20_000);
    expect(nextCheckDelayMs(order, 'regular', 5, 9)).toBe(60_000);
  });

  it('fetches reports only when the broker shows something we lack', () => {
    expect(brokerIsAhead(order, { status: 'new', cumulativeQuantity: '0' })).toBe(false);
    expect(brokerIsAhead(order, { status: 'partially_filled', cumulativeQuantity: '3' })).toBe(true);
    expect(brokerIsAhead(order, { status: 'expired', cumulativeQuantity: '0' })).toBe(true);
    expect(
      brokerIsAhead({ ...order, status: 'pending_cancel' }, { status: 'pending_cancel', cumulativeQuantity: '0' }),
    ).toBe(false);
    expect(brokerIsAhead({ ...order, status: 'pending_cancel' }, { status: 'filled', cumulativeQuantity: '10' })).toBe(
      true,
    );
  });

  const report = (execType: ExecutionReport['execType'], n: number, quantity = '0'): ExecutionReport => ({
    execId: `B1.${n}`,
    brokerOrderId: 'B1',
    clientOrderId: '00000000-0000-4000-8000-000000000001',
    account: '00000000-0000-4000-8000-000000000002',
    symbol: 'AAPL',
    side: 'buy',
    execType,
    orderStatus: 'new',
    lastQuantity: quantity,
    lastPrice: execType === 'trade' ? '100.00' : '0',
    cumulativeQuantity: '0',
    leavesQuantity: '0',
    averagePrice: '0',
    orderQuantity: '10',
    transactTime: '2026-03-02T15:00:00.000Z',
    sequence: n,
    rejectReason: null,
  });

  it('republishes exactly the executions we lack, never one we have, and never a fill made up from totals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        (isTrade, have) => {
          const reports = isTrade.map((trade, i) => report(trade ? 'trade' : 'new', i + 1, trade ? '1' : '0'));
          const ours = reports.filter((r, i) => r.execType === 'trade' && have[i]).map((r) => r.execId);
          const recovered = reportsToRecover({ status: 'new', execIds: ours }, 'partially_filled', reports);
          const expected = reports.filter((r) => r.execType === 'trade' && !ours.includes(r.execId));
          expect(recovered.map((r) => r.report)).toEqual(expected);
          expect(recovered.every((r) => r.kind === 'fill')).toBe(true);
        },
      ),
    );
  });

  it("brings the broker's close to a live order, and the last refusal of a cancel still pending here", () => {
    const reports = [
      report('new', 1),
      report('pending_cancel', 2),
      report('cancel_rejected', 3),
      report('trade', 4, '10'),
      report('canceled', 5),
    ];
    expect(reportsToRecover({ status: 'new', execIds: ['B1.4'] }, 'canceled', reports)).toEqual([
      { report: reports[4], kind: 'close' },
    ]);
    expect(reportsToRecover({ status: 'filled', execIds: ['B1.4'] }, 'canceled', reports)).toEqual([]);
    expect(
      reportsToRecover({ status: 'pending_cancel', execIds: [] }, 'filled', reports.slice(0, 4)).map((r) => r.kind),
    ).toEqual(['cancel_rejected', 'fill']);
    // The broker is considering a later cancel: an earlier refusal must not end it.
    expect(reportsToRecover({ status: 'pending_cancel', execIds: [] }, 'pending_cancel', reports.slice(0, 3))).toEqual(
      [],
    );
  });
});
