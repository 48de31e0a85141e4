import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  answeredCancel,
  answeredSubmit,
  failedCall,
  idleWaitMs,
  requestsToRedrive,
  waitAfterOutcome,
  waitBeforeClaimMs,
  type CallFailure,
} from './broker-call.rules.ts';
import type { SubmissionState } from './submission.machine.ts';
import type { OrderWithoutSubmission } from './submission.repository.ts';

const at = '2026-03-02T15:00:00.000Z';

const aFailure: fc.Arbitrary<CallFailure> = fc.oneof(
  fc.record({ type: fc.constant('refused' as const), code: fc.string(), message: fc.string() }),
  fc.record({
    type: fc.constant('unavailable' as const),
    reason: fc.constantFrom('timeout', 'connection', 'server_error', 'bad_response', 'try_later'),
    message: fc.string(),
    retryAfterMs: fc.option(fc.nat()),
  }),
  fc.constant({ type: 'breakerOpen' as const }),
  fc.record({ type: fc.constant('other' as const), message: fc.string() }),
);

describe('what a broker call means for its submission', () => {
  it('takes an accepted order as accepted, and a rejected one as refused, with the time the broker gives', () => {
    const accepted = { status: 'new' as const, rejectReason: null, brokerOrderId: 'B1', createdAt: at };
    expect(answeredSubmit(accepted, 'Accepted')).toEqual({
      event: { type: 'Accepted', brokerOrderId: 'B1' },
      brokerAt: at,
    });
    expect(answeredSubmit(accepted, 'FoundAtBroker')).toEqual({
      event: { type: 'FoundAtBroker', brokerOrderId: 'B1' },
      brokerAt: at,
    });
    expect(answeredSubmit({ ...accepted, status: 'rejected', rejectReason: 'halted' }, 'Accepted')).toEqual({
      event: { type: 'Refused', code: 'REJECTED', reason: 'halted' },
      brokerAt: at,
    });
    expect(answeredSubmit({ ...accepted, status: 'rejected', rejectReason: null }, 'FoundAtBroker')).toEqual({
      event: { type: 'Refused', code: 'REJECTED', reason: 'rejected by the broker' },
      brokerAt: at,
    });
  });

  it('takes an answered cancel as accepted, or as found when it asked again', () => {
    expect(answeredCancel({ brokerOrderId: 'B1' }, false)).toEqual({
      event: { type: 'Accepted', brokerOrderId: 'B1' },
    });
    expect(answeredCancel({ brokerOrderId: 'B1' }, true)).toEqual({
      event: { type: 'FoundAtBroker', brokerOrderId: 'B1' },
    });
  });

  it('never takes a refused inquiry about a submit as a refusal of the order', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (code, message) => {
        const result = failedCall('submit', true, { type: 'refused', code, message });
        expect(result).toEqual({ event: { type: 'OutcomeUnknown', reason: `inquiry refused: ${code}: ${message}` } });
      }),
    );
  });

  it("takes the broker's refusal of a submit or a cancel as a refusal, with its code", () => {
    expect(failedCall('submit', false, { type: 'refused', code: 'INSUFFICIENT', message: 'no' })).toEqual({
      event: { type: 'Refused', code: 'INSUFFICIENT', reason: 'no' },
    });
    expect(failedCall('cancel', true, { type: 'refused', code: 'TOO_LATE', message: 'filled' })).toEqual({
      event: { type: 'Refused', code: 'TOO_LATE', reason: 'filled' },
    });
  });

  it('leaves every failure other than a refusal unknown (or not attempted, behind an open breaker), never refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('submit' as const, 'cancel' as const),
        fc.boolean(),
        aFailure.filter((failure) => failure.type !== 'refused'),
        (kind, inquiry, failure) => {
          const result = failedCall(kind, inquiry, failure);
          if (failure.type === 'breakerOpen') expect(result).toEqual({ breakerOpen: true });
          else if ('event' in result) expect(result.event.type).toBe('OutcomeUnknown');
          else expect.fail('only an open breaker skips the call');
        },
      ),
    );
  });

  it("carries the broker's Retry-After into the unknown outcome", () => {
    expect(
      failedCall('submit', false, { type: 'unavailable', reason: 'try_later', message: 'busy', retryAfterMs: 3_000 }),
    ).toEqual({ event: { type: 'OutcomeUnknown', reason: 'try_later: busy', retryAfterMs: 3_000 } });
  });
});

describe('when a submission is due again', () => {
  const states: SubmissionState[] = [
    'queued',
    'sending',
    'checking',
    'unknown',
    'acknowledged',
    'refused',
    'abandoned',
  ];

  it('is due at once unless its outcome is unknown; an unknown one waits at least the Retry-After', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...states),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.nat({ max: 3_600_000 })),
        (state, attempts, retryAfterMs) => {
          const wait = waitAfterOutcome(state, attempts, { type: 'OutcomeUnknown', reason: 'x', retryAfterMs });
          if (state !== 'unknown') expect(wait).toBe(0);
          else expect(wait).toBeGreaterThanOrEqual(Math.max(50, retryAfterMs ?? 0));
        },
      ),
    );
  });

  it('polls the session at its own pace and a cancel waiting for its submit every 200 ms', () => {
    expect(waitBeforeClaimMs('session', 500)).toBe(500);
    expect(waitBeforeClaimMs('submit', 500)).toBe(200);
  });

  it('sleeps until the earliest due row, never less than 5 ms nor more than a second', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: -10_000, max: 10_000 })), (due) => {
        const wait = idleWaitMs(due);
        expect(wait).toBeGreaterThanOrEqual(5);
        expect(wait).toBeLessThanOrEqual(1_000);
        if (due !== null && due >= 5 && due <= 1_000) expect(wait).toBe(due);
      }),
    );
    expect(idleWaitMs(null)).toBe(1_000);
  });
});

describe('requests driven again', () => {
  const lost = (overrides: Partial<OrderWithoutSubmission>): OrderWithoutSubmission => ({
    id: '00000000-0000-4000-8000-000000000001',
    account_id: '00000000-0000-4000-8000-0000000000aa',
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    quantity: '10',
    limit_price: '187.2',
    worst_price: '187.2',
    time_in_force: 'day',
    extended_hours: false,
    status: 'pending_new',
    cancel_request_no: 0,
    replace_request_no: 0,
    pending_replace: null,
    submit_missing: true,
    ...overrides,
  });

  it('rebuilds a missing submit, and the cancel of an order awaiting one, in that order', () => {
    const requests = requestsToRedrive([
      lost({}),
      lost({ id: '00000000-0000-4000-8000-000000000002', status: 'pending_cancel', cancel_request_no: 2 }),
      lost({
        id: '00000000-0000-4000-8000-000000000003',
        status: 'pending_cancel',
        cancel_request_no: 1,
        submit_missing: false,
      }),
    ]);
    expect(requests.map((request) => [request.type, request.orderId.slice(-1)])).toEqual([
      ['SubmitOrder', '1'],
      ['SubmitOrder', '2'],
      ['CancelOrder', '2'],
      ['CancelOrder', '3'],
    ]);
    expect(requests[0]).toMatchObject({ quantity: '10', limitPrice: '187.2', collarPrice: null, expiresAt: null });
    expect(requests[2]).toEqual({
      type: 'CancelOrder',
      orderId: '00000000-0000-4000-8000-000000000002',
      accountId: '00000000-0000-4000-8000-0000000000aa',
      requestNo: 2,
    });
  });

  it('rebuilds the latest replace of an order awaiting one, with its new order id and terms', () => {
    const replacement = {
      orderId: '00000000-0000-4000-8000-0000000000b1',
      clientOrderId: 'r-1',
      quantity: '12',
      limitPrice: '186.5',
      timeInForce: 'gtc' as const,
      topUpHoldId: null,
      fingerprint: 'f',
    };
    const requests = requestsToRedrive([
      lost({ status: 'pending_replace', submit_missing: false, replace_request_no: 2, pending_replace: replacement }),
    ]);
    expect(requests).toEqual([
      {
        type: 'ReplaceOrder',
        orderId: '00000000-0000-4000-8000-000000000001',
        accountId: '00000000-0000-4000-8000-0000000000aa',
        requestNo: 2,
        newOrderId: replacement.orderId,
        quantity: '12',
        limitPrice: '186.5',
        timeInForce: 'gtc',
      },
    ]);
  });
});
