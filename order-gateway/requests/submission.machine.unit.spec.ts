import { describe, expect, it } from 'vitest';
import {
  advance,
  newSubmission,
  persistSubmission,
  recoverAbandonedCall,
  restoreSubmission,
  submissionState,
  type SubmissionEvent,
} from './submission.machine.ts';

const run = (...events: SubmissionEvent[]) => events.reduce(advance, newSubmission());
const send: SubmissionEvent = { type: 'Send' };
const unknown: SubmissionEvent = { type: 'OutcomeUnknown', reason: 'timeout' };

describe('submission machine', () => {
  it('is acknowledged when the broker accepts', () => {
    const s = run(send, { type: 'Accepted', brokerOrderId: 'B1' });
    expect(submissionState(s)).toBe('acknowledged');
    expect(s.context).toEqual({ attempts: 1, brokerOrderId: 'B1', lastError: null, lastErrorCode: null });
  });

  it('abandons only what never reached the broker: queued, never sending or unknown', () => {
    const abandon: SubmissionEvent = { type: 'Abandon', reason: 'canceled before it reached the broker' };
    const fromQueued = run(abandon);
    expect(submissionState(fromQueued)).toBe('abandoned');
    expect(fromQueued.context.lastError).toBe('canceled before it reached the broker');
    expect(submissionState(run(send, abandon))).toBe('sending');
    expect(submissionState(run(send, unknown, abandon))).toBe('unknown');
    // Unknown becomes abandonable only once the broker said it never had it.
    expect(submissionState(run(send, unknown, send, { type: 'NotFoundAtBroker' }, abandon))).toBe('abandoned');
  });

  it('is refused when the broker says no', () => {
    const s = run(send, { type: 'Refused', code: 'HALTED', reason: 'halted' });
    expect(submissionState(s)).toBe('refused');
    expect(s.context.lastError).toBe('halted');
    expect(s.context.lastErrorCode).toBe('HALTED');
  });

  it('treats a timeout as unknown and asks before sending again', () => {
    const s = run(send, unknown);
    expect(submissionState(s)).toBe('unknown');
    expect(submissionState(advance(s, send))).toBe('checking');
  });

  it('found at the broker after an unknown outcome means acknowledged', () => {
    expect(submissionState(run(send, unknown, send, { type: 'FoundAtBroker', brokerOrderId: 'B9' }))).toBe(
      'acknowledged',
    );
  });

  it('not found after an unknown outcome means it never arrived: queue it again (same id, safe)', () => {
    const s = run(send, unknown, send, { type: 'NotFoundAtBroker' });
    expect(submissionState(s)).toBe('queued');
    expect(submissionState(advance(s, send))).toBe('sending');
    expect(advance(s, send).context.attempts).toBe(3);
  });

  it('stays unknown while the broker cannot be asked', () => {
    expect(submissionState(run(send, unknown, send, unknown, send, unknown))).toBe('unknown');
  });

  it('turns a call abandoned mid-flight (a crash) into unknown, never into a second blind send', () => {
    expect(submissionState(recoverAbandonedCall(run(send)))).toBe('unknown');
    expect(submissionState(recoverAbandonedCall(run(send, unknown, send)))).toBe('unknown');
    expect(submissionState(recoverAbandonedCall(run()))).toBe('queued');
  });

  it('ignores events that do not fit, and final states absorb everything', () => {
    const acknowledged = run(send, { type: 'Accepted', brokerOrderId: 'B1' });
    for (const event of [
      send,
      unknown,
      { type: 'Refused', code: 'X', reason: 'x' },
      { type: 'NotFoundAtBroker' },
    ] as SubmissionEvent[]) {
      expect(submissionState(advance(acknowledged, event))).toBe('acknowledged');
    }
    expect(submissionState(run({ type: 'Accepted', brokerOrderId: 'B1' }))).toBe('queued');
  });

  it('survives being stored and restored', () => {
    const stored = JSON.parse(JSON.stringify(persistSubmission(run(send, unknown)))) as ReturnType<
      typeof persistSubmission
    >;
    const restored = restoreSubmission(stored);
    expect(submissionState(advance(advance(restored, send), { type: 'FoundAtBroker', brokerOrderId: 'B2' }))).toBe(
      'acknowledged',
    );
  });
});
