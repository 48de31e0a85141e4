import { assign, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';

/**
 * One request to the broker (an order, or a cancel), as the request server sees it. A timeout, a
 * 5xx or a lost connection is not a failure but an *unknown* outcome: the order may exist at the
 * broker. Unknown is resolved by asking the broker for the order by client order id: found means
 * acknowledged, not found means it never arrived and may be sent again with the same id (the broker
 * is idempotent on it, so a retry can never make a second order).
 *
 * A request that never reached the broker is `abandoned` instead of sent: its order was canceled
 * before it went out, or its day ended while it waited for its session (or for the broker to come
 * back). Only `queued` and `unknown` can be abandoned, and `unknown` only after the inquiry said the
 * broker never had it (which returns it to `queued`): what may be at the broker is never abandoned.
 *
 * Pure: the request server restores the stored snapshot, computes the next one from an event, and
 * stores it; timing (backoff, waiting for the session, the circuit breaker) lives in the dispatcher.
 */

export const SUBMISSION_MACHINE_VERSION = 'submission@1';

export type SubmissionEvent =
  | { type: 'Send' }
  | { type: 'Accepted'; brokerOrderId: string }
  | { type: 'Refused'; code: string; reason: string }
  | { type: 'OutcomeUnknown'; reason: string; retryAfterMs?: number | null }
  | { type: 'FoundAtBroker'; brokerOrderId: string }
  | { type: 'NotFoundAtBroker' }
  | { type: 'Abandon'; reason: string };

export interface SubmissionContext {
  attempts: number;
  brokerOrderId: string | null;
  lastError: string | null;
  /** The broker's code of a refusal (absent from rows stored before it existed). */
  lastErrorCode?: string | null;
}

export type SubmissionState = 'queued' | 'sending' | 'unknown' | 'checking' | 'acknowledged' | 'refused' | 'abandoned';

export const submissionMachine = setup({
  types: { context: {} as SubmissionContext, events: {} as SubmissionEvent },
  actions: {
    countAttempt: assign(({ context }) => ({ attempts: context.attempts + 1 })),
    rememberBrokerOrderId: assign(({ event }) => ({
      brokerOrderId: event.type === 'Accepted' || event.type === 'FoundAtBroker' ? event.brokerOrderId : null,
    })),
    rememberError: assign(({ event }) => ({
      lastError:
        event.type === 'Refused' || event.type === 'OutcomeUnknown' || event.type === 'Abandon' ? event.reason : null,
      lastErrorCode: event.type === 'Refused' ? event.code : null,
    })),
  },
}).createMachine({
  id: 'submission',
  context: { attempts: 0, brokerOrderId: null, lastError: null, lastErrorCode: null },
  initial: 'queued',
  states: {
    queued: {
      on: {
        Send: { target: 'sending', actions: 'countAttempt' },
        Abandon: { target: 'abandoned', actions: 'rememberError' },
      },
    },
    sending: {
      on: {
        Accepted: { target: 'acknowledged', actions: 'rememberBrokerOrderId' },
        Refused: { target: 'refused', actions: 'rememberError' },
        OutcomeUnknown: { target: 'unknown', actions: 'rememberError' },
      },
    },
    /** We do not know whether the broker has it: ask before anything else. */
    unknown: {
      on: {
        Send: { target: 'checking', actions: 'countAttempt' },
      },
    },
    checking: {
      on: {
        FoundAtBroker: { target: 'acknowledged', actions: 'rememberBrokerOrderId' },
        // Never arrived: sending again with the same client order id is safe.
        NotFoundAtBroker: { target: 'queued' },
        OutcomeUnknown: { target: 'unknown', actions: 'rememberError' },
        Refused: { target: 'refused', actions: 'rememberError' },
      },
    },
    acknowledged: { type: 'final' },
    refused: { type: 'final' },
    abandoned: { type: 'final' },
  },
});

export type SubmissionSnapshot = SnapshotFrom<typeof submissionMachine>;

export function newSubmission(): SubmissionSnapshot {
  return initialTransition(submissionMachine)[0];
}

export function restoreSubmission(stored: { value: string; context: SubmissionContext }): SubmissionSnapshot {
  return submissionMachine.resolveState({ value: stored.value, context: stored.context });
}

export function persistSubmission(snapshot: SubmissionSnapshot): {
  value: SubmissionState;
  context: SubmissionContext;
} {
  return { value: snapshot.value, context: snapshot.context };
}

/** The next snapshot; an event that does not apply leaves the snapshot as it was. */
export function advance(snapshot: SubmissionSnapshot, event: SubmissionEvent): SubmissionSnapshot {
  return transition(submissionMachine, snapshot, event)[0];
}

export function submissionState(snapshot: SubmissionSnapshot): SubmissionState {
  return snapshot.value;
}

/**
 * A row left in `sending` or `checking` (the process died mid-call, or the call is still out) is
 * as good as unknown once its lease has run out: it may or may not have reached the broker.
 */
export function recoverAbandonedCall(snapshot: SubmissionSnapshot): SubmissionSnapshot {
  const state = submissionState(snapshot);
  return state === 'sending' || state === 'checking'
    ? advance(snapshot, { type: 'OutcomeUnknown', reason: 'call abandoned' })
    : snapshot;
}
