import CircuitBreaker from 'opossum';
import {
  BrokerRejectedError,
  BrokerUnavailableError,
  type BrokerClient,
  type BrokerOrder,
} from '../../broker-adapter/index.ts';
import {
  Backoff,
  messageJson,
  pauseWhile,
  withTransaction,
  type Bus,
  type BusMessage,
  type Logger,
  type Pool,
  type PoolClient,
  type Subscription,
} from '../../platform/index.ts';
import { guardAgainstPoison } from '../dead-letters/dead-letter.repository.ts';
import type { MarketData, Session } from '../market/market-data.ts';
import type { OrderEvent } from '../orders/order.machine.ts';
import type { OrderService } from '../orders/order.service.ts';
import { ORDER_REQUESTS_TOPIC, OrderRequestMessage, type SubmitOrderMessage } from './order-request.schemas.ts';
import {
  advance,
  newSubmission,
  persistSubmission,
  recoverAbandonedCall,
  restoreSubmission,
  SUBMISSION_MACHINE_VERSION,
  submissionState,
  type SubmissionContext,
  type SubmissionEvent,
  type SubmissionSnapshot,
  type SubmissionState,
} from './submission.machine.ts';
import {
  CLAIM_DUE,
  EARLIEST_DUE,
  INSERT_SUBMISSION,
  LOCK_SUBMISSION,
  SUBMIT_STATE_OF_ORDER,
  UPDATE_SUBMISSION,
} from './submission.sql.ts';

export const REQUEST_SERVER_GROUP = 'request-server';

interface SubmissionRow {
  order_id: string;
  kind: 'submit' | 'cancel';
  account_id: string;
  request: OrderRequestMessage;
  state: SubmissionState;
  snapshot: { value: string; context: SubmissionContext };
  attempts: number;
}

/** `brokerAt`: when the broker says it took the order, on its own clock (the order's trade date follows it). */
type CallResult = { event: SubmissionEvent; brokerAt?: string } | { notReady: number };

export interface RequestServerDependencies {
  pool: Pool;
  bus: Bus;
  broker: BrokerClient;
  orders: OrderService;
  marketData: MarketData;
  logger: Logger;
  /** Broker calls in flight at once. */
  concurrency?: number;
  /** How long a claimed call may take before another request server treats it as unknown. */
  leaseMs?: number;
  /** How often an order waiting for its session looks at the clock again. */
  sessionPollMs?: number;
  /** Circuit breaker: open after this share of failing calls, probe again after resetMs. */
  breaker?: { errorThresholdPercentage?: number; resetMs?: number; volumeThreshold?: number };
  onOutboxWritten?: () => void;
  onOutcome?: (kind: 'submit' | 'cancel', state: SubmissionState, attempts: number) => void;
  /** An order request failing for a non-domain reason was parked in the dead letters. */
  onParked?: (message: BusMessage) => void;
}

/** Whether an order may go to the broker in this session (US rules: outside regular hours, only extended-hours orders). */
export function tradableIn(session: Session, extendedHours: boolean): boolean {
  return session === 'regular' || ((session === 'pre' || session === 'post') && extendedHours);
}

/** Backoff before asking again about an unknown outcome: 100 ms doubling to 5 s, with jitter. */
export function unknownBackoffMs(attempts: number): number {
  const base = Math.min(5_000, 100 * 2 ** Math.max(0, attempts - 1));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

/**
 * The request server (매매 요청 서버). It consumes `order-requests` into `broker_submissions` rows
 * (idempotently, then commits the offsets), and a dispatcher sends due rows to the broker with our
 * order id as the client order id. Every row carries a small machine (submission.machine.ts): an
 * unknown outcome is resolved by asking the broker, never by guessing; a circuit breaker stops the
 * hammering during an outage and probes by itself; the rows keep everything across a crash.
 */
export function createRequestServer(deps: RequestServerDependencies) {
  const concurrency = deps.concurrency ?? 16;
  const leaseMs = deps.leaseMs ?? 15_000;
  const sessionPollMs = deps.sessionPollMs ?? 500;
  const breaker = new CircuitBreaker(<T>(call: () => Promise<T>) => call(), {
    timeout: false,
    errorThresholdPercentage: deps.breaker?.errorThresholdPercentage ?? 50,
    resetTimeout: deps.breaker?.resetMs ?? 2_000,
    volumeThreshold: deps.breaker?.volumeThreshold ?? 5,
    rollingCountTimeout: 5_000,
    // The broker answering "no" is a working broker.
    errorFilter: (error: unknown) => error instanceof BrokerRejectedError,
  });
  const throughBreaker = <T>(work: () => Promise<T>): Promise<T> => breaker.fire(work) as Promise<T>;
  breaker.on('open', () => deps.logger.warn('broker circuit open: pausing calls'));
  breaker.on('close', () => deps.logger.info('broker circuit closed: calls resume'));

  let subscription: Subscription | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;

  async function handleBatch(messages: readonly BusMessage[]): Promise<void> {
    const requests: OrderRequestMessage[] = [];
    for (const message of messages) {
      const parsed = OrderRequestMessage.safeParse(messageJson(message));
      if (parsed.success) requests.push(parsed.data);
      else
        deps.logger.error({ offset: message.offset, issues: parsed.error.issues }, 'malformed order request; skipped');
    }
    if (requests.length === 0) return;
    await withTransaction(deps.pool, async (tx) => {
      for (const request of requests) {
        const snapshot = newSubmission();
        await tx.query(INSERT_SUBMISSION, [
          request.orderId,
          request.type === 'SubmitOrder' ? 'submit' : 'cancel',
          request.accountId,
          JSON.stringify(request),
          submissionState(snapshot),
          JSON.stringify(persistSubmission(snapshot)),
          SUBMISSION_MACHINE_VERSION,
        ]);
      }
    });
    wakeUp?.();
  }

  /** Claims due rows and marks them in flight, in one short transaction. */
  async function claim(limit = concurrency): Promise<Array<{ row: SubmissionRow; snapshot: SubmissionSnapshot }>> {
    const session = (await deps.marketData.clock().catch(() => null))?.session ?? null;
    return withTransaction(deps.pool, async (tx) => {
      const { rows } = await tx.query<SubmissionRow>(CLAIM_DUE, [limit]);
      const claimed: Array<{ row: SubmissionRow; snapshot: SubmissionSnapshot }> = [];
      for (const row of rows) {
        let snapshot = recoverAbandonedCall(restoreSubmission(row.snapshot));
        if (row.kind === 'submit' && submissionState(snapshot) === 'queued') {
          const request = row.request as SubmitOrderMessage;
          if (session === null || !tradableIn(session, request.extendedHours)) {
            // Not its session (or no clock): wait, without counting an attempt.
            await save(tx, row, snapshot, sessionPollMs);
            continue;
          }
        }
        snapshot = advance(snapshot, { type: 'Send' });
        await save(tx, row, snapshot, leaseMs);
        claimed.push({ row, snapshot });
      }
      return claimed;
    });
  }

  async function save(
    tx: PoolClient,
    row: SubmissionRow,
    snapshot: SubmissionSnapshot,
    nextInMs: number,
  ): Promise<void> {
    await tx.query(UPDATE_SUBMISSION, [
      row.order_id,
      row.kind,
      submissionState(snapshot),
      JSON.stringify(persistSubmission(snapshot)),
      snapshot.context.attempts,
      Math.max(0, Math.round(nextInMs)),
      snapshot.context.lastError,
      snapshot.context.brokerOrderId,
    ]);
  }

  /** The broker call for a claimed row, through the circuit breaker. */
  async function call(row: SubmissionRow, snapshot: SubmissionSnapshot): Promise<CallResult | { breakerOpen: true }> {
    const checking = submissionState(snapshot) === 'checking';
    try {
      if (row.kind === 'submit') {
        const request = row.request as SubmitOrderMessage;
        if (checking) {
          const found = await throughBreaker(() => deps.broker.getOrderByClientOrderId(request.orderId));
          if (!found) return { event: { type: 'NotFoundAtBroker' } };
          return { event: acceptedOrRefused(found, 'FoundAtBroker'), brokerAt: found.createdAt };
        }
        const order = await throughBreaker(() =>
          deps.broker.submitOrder({
            clientOrderId: request.orderId,
            account: request.accountId,
            symbol: request.symbol,
            side: request.side,
            type: request.orderType,
            quantity: request.quantity,
            ...(request.limitPrice === null ? {} : { limitPrice: request.limitPrice }),
            ...(request.collarPrice === null ? {} : { collarPrice: request.collarPrice }),
            timeInForce: request.timeInForce,
            extendedHours: request.extendedHours,
          }),
        );
        return { event: acceptedOrRefused(order, 'Accepted'), brokerAt: order.createdAt };
      }
      // A cancel needs the broker's id for the order: wait for the submission to be acknowledged.
      const { rows } = await deps.pool.query<{ state: SubmissionState; broker_order_id: string | null }>(
        SUBMIT_STATE_OF_ORDER,
        [row.order_id],
      );
      const submit = rows[0];
      if (submit?.state === 'refused' || submit?.state === 'abandoned') {
        return { event: { type: 'Refused', reason: 'the order never reached the broker' } };
      }
      if (!submit?.broker_order_id) return { notReady: 200 };
      const canceled = await throughBreaker(() => deps.broker.cancelOrder(submit.broker_order_id!));
      return { event: { type: checking ? 'FoundAtBroker' : 'Accepted', brokerOrderId: canceled.brokerOrderId } };
    } catch (error) {
      if (error instanceof BrokerRejectedError) {
        return { event: { type: 'Refused', reason: `${error.code}: ${error.message}` } };
      }
      if (error instanceof BrokerUnavailableError) {
        return { event: { type: 'OutcomeUnknown', reason: `${error.reason}: ${error.message}` } };
      }
      if ((error as { code?: string }).code === 'EOPENBREAKER') return { breakerOpen: true };
      return { event: { type: 'OutcomeUnknown', reason: error instanceof Error ? error.message : String(error) } };
    }
  }

  /** Stores the call's outcome and tells the order, in one transaction. */
  async function settle(
    row: SubmissionRow,
    claimed: SubmissionSnapshot,
    result: Awaited<ReturnType<typeof call>>,
  ): Promise<void> {
    let wroteOutbox = false;
    await withTransaction(deps.pool, async (tx) => {
      const { rows } = await tx.query<SubmissionRow>(LOCK_SUBMISSION, [row.order_id, row.kind]);
      const current = rows[0];
      // Another request server took it over after our lease ran out; its outcome wins.
      if (!current || JSON.stringify(current.snapshot) !== JSON.stringify(persistSubmission(claimed))) return;
      if ('breakerOpen' in result || 'notReady' in result) {
        // Not attempted: back to where it was, without counting the attempt.
        const back = restoreSubmission(row.snapshot);
        const wait = 'notReady' in result ? result.notReady : (deps.breaker?.resetMs ?? 2_000);
        await save(tx, row, recoverAbandonedCall(back), wait);
        return;
      }
      const next = advance(claimed, result.event);
      const state = submissionState(next);
      await save(tx, row, next, state === 'unknown' ? unknownBackoffMs(next.context.attempts) : 0);
      const orderEvent = orderEventFor(row.kind, state, next, result.event, result.brokerAt);
      if (orderEvent) {
        const outcome = await deps.orders.applyEvent(tx, row.order_id, orderEvent);
        wroteOutbox = outcome?.wroteOutbox ?? false;
      }
      deps.onOutcome?.(row.kind, state, next.context.attempts);
    });
    if (wroteOutbox) deps.onOutboxWritten?.();
  }

  async function idleWaitMs(): Promise<number> {
    const { rows } = await deps.pool.query<{ wait_ms: string | null }>(EARLIEST_DUE);
    const wait = rows[0]?.wait_ms === null || rows[0]?.wait_ms === undefined ? 1_000 : Number(rows[0].wait_ms);
    return Math.min(1_000, Math.max(5, wait));
  }

  return {
    handleBatch,
    breaker,
    async start() {
      running = true;
      subscription = await deps.bus.consume({
        groupId: REQUEST_SERVER_GROUP,
        topics: [ORDER_REQUESTS_TOPIC],
        handleBatch: guardAgainstPoison(handleBatch, {
          pool: deps.pool,
          logger: deps.logger,
          consumer: REQUEST_SERVER_GROUP,
          onParked: deps.onParked,
        }),
        maxBatchSize: 500,
        onHandlerError: (error, attempt) =>
          deps.logger.warn({ err: error, attempt }, 'order-requests batch failed; retrying'),
      });
      loop = (async () => {
        // A pipeline, not rounds: a slot freed by one answered call is refilled at once, so one slow
        // call does not hold back the claims behind it.
        const inflight = new Set<Promise<void>>();
        const backoff = new Backoff();
        while (running) {
          let claimed: Awaited<ReturnType<typeof claim>>;
          try {
            claimed = await claim(concurrency - inflight.size);
            backoff.succeeded();
          } catch (error) {
            // PostgreSQL away: claimed rows are safe in it (a lease that runs out is checked at the broker).
            const waitMs = backoff.failed();
            deps.logger.warn({ err: error, attempt: backoff.attempts, waitMs }, 'dispatch failed; will retry');
            await pauseWhile(waitMs, () => running);
            continue;
          }
          for (const { row, snapshot } of claimed) {
            const task: Promise<void> = call(row, snapshot)
              .then((result) => settle(row, snapshot, result))
              .catch((error: unknown) => deps.logger.warn({ err: error }, 'dispatch failed; will retry'))
              .finally(() => inflight.delete(task));
            inflight.add(task);
          }
          if (!running) break;
          if (claimed.length > 0 && inflight.size < concurrency) continue;
          const wait = inflight.size > 0 ? 1_000 : await idleWaitMs().catch(() => 500);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            const done = () => {
              clearTimeout(timer);
              resolve();
            };
            wakeUp = done;
            for (const task of inflight) void task.then(done);
          });
          wakeUp = undefined;
        }
        await Promise.all(inflight);
      })();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      await subscription?.stop();
      breaker.shutdown();
    },
  };
}

export type RequestServer = ReturnType<typeof createRequestServer>;

function acceptedOrRefused(order: BrokerOrder, kind: 'Accepted' | 'FoundAtBroker'): SubmissionEvent {
  if (order.status === 'rejected') return { type: 'Refused', reason: order.rejectReason ?? 'rejected by the broker' };
  return { type: kind, brokerOrderId: order.brokerOrderId };
}

/** What the order learns from a settled submission. */
function orderEventFor(
  kind: 'submit' | 'cancel',
  state: SubmissionState,
  next: SubmissionSnapshot,
  event: SubmissionEvent,
  brokerAt: string | undefined,
): OrderEvent | null {
  const at = new Date().toISOString();
  if (kind === 'submit') {
    if (state === 'acknowledged')
      return { type: 'OrderAcknowledged', brokerOrderId: next.context.brokerOrderId!, at: brokerAt ?? at };
    if (state === 'refused')
      return { type: 'OrderRejected', reason: next.context.lastError ?? 'refused by the broker', at };
    return null;
  }
  // A cancel refused as too late: the order lives on (and its fills arrive as reports).
  if (state === 'refused' && event.type === 'Refused' && event.reason.startsWith('TOO_LATE_TO_CANCEL')) {
    return { type: 'CancelRejected', reason: event.reason, at };
  }
  return null;
}
