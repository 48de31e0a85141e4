import {
  BrokerRejectedError,
  BrokerUnavailableError,
  EXECUTIONS_TOPIC,
  type BrokerClient,
  type ExecutionReport,
} from '../../broker-adapter/index.ts';
import {
  DEFAULT_BROKER,
  messageJson,
  withTransaction,
  WorkerLoop,
  type Bus,
  type BusMessage,
  type Logger,
  type Pool,
  type Subscription,
} from '../../platform/index.ts';
import { guardAgainstPoison } from '../dead-letters/dead-letter.repository.ts';
import { unbindOrder } from '../brokers/broker.repository.ts';
import { BrokerSet, isBreakerOpen, type NamedBroker } from './broker-set.ts';
import { brokerOfClaim, startHealthWatch } from './broker-routing.ts';
import type { MarketData, Session } from '../market/market-data.ts';
import type { OrderService } from '../orders/order.service.ts';
import {
  ORDER_REQUESTS_TOPIC,
  OrderRequestMessage,
  type ReplaceOrderMessage,
  type SubmitOrderMessage,
} from '../orders/order-request.schemas.ts';
import {
  answeredCancel,
  answeredReplace,
  answeredSubmit,
  failedCall,
  idleWaitMs,
  requestsToRedrive,
  waitAfterOutcome,
  waitBeforeClaimMs,
  type CallFailure,
  type CallResult,
} from './broker-call.rules.ts';
import {
  advance,
  recoverAbandonedCall,
  restoreSubmission,
  submissionState,
  type SubmissionSnapshot,
  type SubmissionState,
} from './submission.machine.ts';
import { submissionRepository, type SubmissionKind, type SubmissionRow } from './submission.repository.ts';
import {
  asksBrokerAtOnce,
  brokerIsAhead,
  decideClaim,
  nextCheckDelayMs,
  orderEventForAbandon,
  orderEventForOutcome,
  orderEventForReplaceOutcome,
  reportsToRecover,
  type OrderUnderCheck,
  type RecoveredKind,
} from './submission.rules.ts';

export const REQUEST_SERVER_GROUP = 'request-server';

const REDRIVEN_KIND = { SubmitOrder: 'submit', CancelOrder: 'cancel', ReplaceOrder: 'replace' } as const;

interface Claimed {
  row: SubmissionRow;
  snapshot: SubmissionSnapshot;
  version: number;
  /** Cancels: the broker's id of the order, from its acknowledged submit. */
  brokerOrderId: string | null;
  /** The broker the order is bound to: every call of this row goes there. */
  broker: string;
}

export type OpenOrderCheckOutcome = 'in_step' | 'recovered' | 'unknown_at_broker' | 'failed';

export interface RequestServerDependencies {
  pool: Pool;
  bus: Bus;
  /** The one broker of a system without BROKERS (named `primary`); `brokers` replaces it. */
  broker?: BrokerClient;
  /** The brokers, in order of preference (BROKERS). */
  brokers?: readonly NamedBroker[];
  orders: OrderService;
  marketData: MarketData;
  logger: Logger;
  /** Broker calls in flight at once. */
  concurrency?: number;
  /** How long a claimed call may take before another request server treats it as unknown. */
  leaseMs?: number;
  /** How often an order waiting for its session looks at the clock again. */
  sessionPollMs?: number;
  /**
   * Silence (seconds) after which a live order that should have heard from the broker is looked up
   * there (OPEN_ORDER_CHECK_SECONDS); also the grace before a lost request is driven again.
   */
  openOrderCheckSeconds?: number;
  /** Circuit breaker: open after this share of failing calls, probe again after resetMs. */
  breaker?: { errorThresholdPercentage?: number; resetMs?: number; volumeThreshold?: number };
  onOutboxWritten?: () => void;
  onOutcome?: (kind: SubmissionKind, state: SubmissionState, attempts: number) => void;
  /** Each report the open-order check republished, by what it brings. */
  onRecovered?: (kind: RecoveredKind) => void;
  onOpenOrderCheck?: (outcome: OpenOrderCheckOutcome) => void;
  /** Requests found lost between the outbox and this server, and driven again. */
  onRedriven?: (kind: SubmissionKind) => void;
  /** An order request failing for a non-domain reason was parked in the dead letters. */
  onParked?: (message: BusMessage) => void;
  /** How often each broker is probed and its health stored (ms). */
  healthProbeMs?: number;
}

/**
 * The request server (매매 요청 서버). It consumes `order-requests` into `broker_submissions` rows
 * (idempotently, then commits the offsets), and a dispatcher sends due rows to the broker with our
 * order id as the client order id. Every row carries a small machine (submission.machine.ts): an
 * unknown outcome is resolved by asking the broker, never by guessing; a circuit breaker stops the
 * hammering during an outage and probes by itself; the rows keep everything across a crash.
 *
 * Beside it, a sweeper: the open-order check asks the broker about live orders that have been silent
 * too long and republishes the reports we lack on `executions` (every push has a pull behind it),
 * and the re-drive stores requests that the outbox marked sent but that never became a submission.
 */
export function createRequestServer(deps: RequestServerDependencies) {
  const concurrency = deps.concurrency ?? 16;
  const leaseMs = deps.leaseMs ?? 15_000;
  const sessionPollMs = deps.sessionPollMs ?? 500;
  const checkSeconds = deps.openOrderCheckSeconds ?? 5;
  const sweepMs = Math.max(50, Math.min(1_000, checkSeconds * 250));
  const brokers = new BrokerSet(deps.brokers ?? [{ name: DEFAULT_BROKER, client: deps.broker! }], {
    logger: deps.logger,
    breaker: deps.breaker,
  });
  const healthWatch = startHealthWatch({ pool: deps.pool, brokers, logger: deps.logger, everyMs: deps.healthProbeMs });

  let subscription: Subscription | undefined;

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
      for (const request of requests) await submissionRepository.insert(tx, request);
    });
    dispatcher.wake();
  }

  async function marketSession(): Promise<{ session: Session; now: string } | null> {
    const clock = await deps.marketData.clock().catch(() => null);
    return clock ? { session: clock.session, now: clock.now } : null;
  }

  /** Claims due rows and marks them in flight, in one short transaction; settles what needs no call. */
  async function claim(limit = concurrency): Promise<Claimed[]> {
    const clock = await marketSession();
    let wroteOutbox = false;
    const claimed = await withTransaction(deps.pool, async (tx) => {
      const rows = await submissionRepository.claimDue(tx, limit);
      const out: Claimed[] = [];
      for (const row of rows) {
        const snapshot = recoverAbandonedCall(restoreSubmission(row.snapshot));
        const submit = row.kind === 'submit' ? (row.request as SubmitOrderMessage) : null;
        const decision = decideClaim({
          kind: row.kind,
          state: submissionState(snapshot),
          orderStatus: row.order_status,
          submit: row.kind === 'submit' ? null : { state: row.submit_state, brokerOrderId: row.submit_broker_order_id },
          extendedHours: submit?.extendedHours ?? false,
          expiresAt: submit?.expiresAt ?? null,
          clock,
        });
        switch (decision.type) {
          case 'send': {
            const broker = await brokerOfClaim(tx, row, brokers);
            if (broker === null) {
              // No broker takes new orders (all down or drained): it waits unbound, as for its session.
              await submissionRepository.save(tx, row, row.version, snapshot, sessionPollMs);
              break;
            }
            const next = advance(snapshot, { type: 'Send' });
            const version = await submissionRepository.save(tx, row, row.version, next, leaseMs);
            if (version !== null) {
              out.push({ row, snapshot: next, version, brokerOrderId: row.submit_broker_order_id, broker });
            }
            break;
          }
          case 'wait':
            // Not its session, or its submit is not at the broker yet: wait, without counting an attempt.
            await submissionRepository.save(
              tx,
              row,
              row.version,
              snapshot,
              waitBeforeClaimMs(decision.reason, sessionPollMs),
            );
            break;
          case 'abandon': {
            const next = advance(snapshot, { type: 'Abandon', reason: decision.reason });
            if ((await submissionRepository.save(tx, row, row.version, next, 0)) === null) break;
            if (decision.order !== null) {
              const outcome = await deps.orders.applyEvent(
                tx,
                row.order_id,
                orderEventForAbandon(decision.order, new Date().toISOString()),
              );
              wroteOutbox ||= outcome?.wroteOutbox ?? false;
            }
            deps.onOutcome?.(row.kind, submissionState(next), next.context.attempts);
            break;
          }
          default: {
            const exhaustive: never = decision;
            throw new Error(`unexpected decision ${JSON.stringify(exhaustive)}`);
          }
        }
      }
      return out;
    });
    if (wroteOutbox) deps.onOutboxWritten?.();
    return claimed;
  }

  /** The broker call for a claimed row, through the circuit breaker. */
  async function call({ row, snapshot, brokerOrderId, broker }: Claimed): Promise<CallResult> {
    const inquiry = submissionState(snapshot) === 'checking';
    const throughBreaker = <T>(work: (client: BrokerClient) => Promise<T>): Promise<T> => brokers.fire(broker, work);
    try {
      if (row.kind === 'submit') {
        const request = row.request as SubmitOrderMessage;
        if (inquiry) {
          const found = await throughBreaker((client) => client.getOrderByClientOrderId(request.orderId));
          if (!found) return { event: { type: 'NotFoundAtBroker' } };
          return answeredSubmit(found, 'FoundAtBroker');
        }
        const order = await throughBreaker((client) =>
          client.submitOrder({
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
        return answeredSubmit(order, 'Accepted');
      }
      if (row.kind === 'replace') {
        const request = row.request as ReplaceOrderMessage;
        if (inquiry) {
          const found = await throughBreaker((client) => client.getOrderByClientOrderId(request.newOrderId));
          return found ? answeredReplace(found, true) : { event: { type: 'NotFoundAtBroker' } };
        }
        const order = await throughBreaker((client) =>
          client.replaceOrder(brokerOrderId!, {
            clientOrderId: request.newOrderId,
            quantity: request.quantity,
            limitPrice: request.limitPrice,
            timeInForce: request.timeInForce,
          }),
        );
        return answeredReplace(order, false);
      }
      const canceled = await throughBreaker((client) => client.cancelOrder(brokerOrderId!));
      return answeredCancel(canceled, inquiry);
    } catch (error) {
      return failedCall(row.kind, inquiry, callFailure(error));
    }
  }

  /** Stores the call's outcome and tells the order, in one transaction. */
  async function settle(claimed: Claimed, result: CallResult): Promise<void> {
    const { row } = claimed;
    let wroteOutbox = false;
    let askNow = false;
    await withTransaction(deps.pool, async (tx) => {
      if ('breakerOpen' in result) {
        // Not attempted: back to where it was, without counting the attempt.
        const back = recoverAbandonedCall(restoreSubmission(row.snapshot));
        if (
          (await submissionRepository.save(tx, row, claimed.version, back, deps.breaker?.resetMs ?? 2_000)) === null
        ) {
          return;
        }
        // A submit never sent anywhere is free to go to another broker (docs/architecture.md, "Several brokers").
        if (row.kind === 'submit' && back.context.attempts === 0) await unbindOrder(tx, row.order_id, claimed.broker);
        return;
      }
      const next = advance(claimed.snapshot, result.event);
      const state = submissionState(next);
      const wait = waitAfterOutcome(state, next.context.attempts, result.event);
      // Another request server took it over after our lease ran out: its outcome wins.
      if ((await submissionRepository.save(tx, row, claimed.version, next, wait)) === null) return;
      const at = new Date().toISOString();
      const orderEvent =
        row.kind === 'replace'
          ? orderEventForReplaceOutcome(state, result.event, result.newOrder, at)
          : orderEventForOutcome(row.kind, state, next.context, result.event, at, result.brokerAt);
      if (orderEvent) {
        const outcome = await deps.orders.applyEvent(tx, row.order_id, orderEvent);
        wroteOutbox = outcome?.wroteOutbox ?? false;
      }
      askNow = asksBrokerAtOnce(row.kind, result.event);
      deps.onOutcome?.(row.kind, state, next.context.attempts);
    });
    if (wroteOutbox) deps.onOutboxWritten?.();
    if (askNow) {
      // Too late to cancel: the order is done at the broker, and its last reports may be lost.
      await submissionRepository.markCheckedNow(deps.pool, [row.order_id], leaseMs);
      await checkOrders([row.order_id], new Map(), (await marketSession())?.session ?? null);
    }
  }

  /**
   * Asks the broker about each order (by client order id, our order id) and republishes on
   * `executions` the reports we lack, exactly as the fill receiver would have: execId makes a
   * republished report that did arrive meanwhile harmless.
   */
  async function checkOrders(
    orderIds: readonly string[],
    checks: ReadonlyMap<string, number>,
    session: Session | null,
  ): Promise<void> {
    const orders = await submissionRepository.ordersToCheck(deps.pool, orderIds);
    const recovered: Array<{ report: ExecutionReport; kind: RecoveredKind }> = [];
    const next: Array<{ orderId: string; delayMs: number }> = [];
    const checkOne = async (row: (typeof orders)[number]): Promise<void> => {
      const order: OrderUnderCheck = {
        status: row.status,
        type: row.type,
        timeInForce: row.time_in_force,
        extendedHours: row.extended_hours,
        filledQuantity: row.filled_quantity,
        execIds: row.exec_ids,
      };
      let outcome: OpenOrderCheckOutcome = 'in_step';
      // Orders stored before there were several brokers are at the preferred one.
      const broker = row.broker_id ?? brokers.preferred;
      try {
        const found = await brokers.fire(broker, (client) => client.getOrderByClientOrderId(row.id));
        if (!found) {
          outcome = 'unknown_at_broker';
          deps.logger.warn(
            { orderId: row.id, status: row.status },
            'open-order check: the broker does not know a live order',
          );
        } else if (brokerIsAhead(order, found)) {
          const reports = await brokers.fire(broker, (client) => client.getOrderReports(found.brokerOrderId));
          // Marked with the broker they came from, as the fill receiver marks its pushes.
          const missing = reportsToRecover(order, found.status, reports).map((recovered) => ({
            ...recovered,
            report: { ...recovered.report, broker },
          }));
          recovered.push(...missing);
          if (missing.length > 0) outcome = 'recovered';
        }
      } catch (error) {
        outcome = 'failed';
        deps.logger.debug({ err: error, orderId: row.id }, 'open-order check failed; will ask again');
      }
      deps.onOpenOrderCheck?.(outcome);
      next.push({ orderId: row.id, delayMs: nextCheckDelayMs(order, session, checkSeconds, checks.get(row.id) ?? 0) });
    };
    for (let i = 0; i < orders.length; i += 8) await Promise.all(orders.slice(i, i + 8).map(checkOne));
    if (recovered.length > 0) {
      await deps.bus.publish(
        EXECUTIONS_TOPIC,
        recovered.map(({ report }) => ({ key: report.account, value: JSON.stringify(report) })),
      );
      for (const { kind } of recovered) deps.onRecovered?.(kind);
      deps.logger.info(
        { orders: new Set(recovered.map(({ report }) => report.clientOrderId)).size, reports: recovered.length },
        'open-order check republished reports the broker had and we lacked',
      );
    }
    await submissionRepository.scheduleNextChecks(deps.pool, next);
  }

  /** One round of the open-order check; returns how many orders it asked about. */
  async function checkOpenOrders(limit = 64): Promise<number> {
    const clock = await marketSession();
    const session = clock?.session ?? null;
    const claimed = await submissionRepository.claimOpenOrderChecks(deps.pool, {
      silentSeconds: checkSeconds,
      regularOpen: session === 'regular',
      extendedOpen: session === 'pre' || session === 'post',
      limit,
      leaseMs: Math.max(leaseMs, checkSeconds * 2_000),
    });
    if (claimed.length === 0) return 0;
    await checkOrders(
      claimed.map((c) => c.order_id),
      new Map(claimed.map((c) => [c.order_id, Math.max(0, c.checks)])),
      session,
    );
    return claimed.length;
  }

  /**
   * Stores the requests of orders left `pending_new`, `pending_cancel` or `pending_replace` without their submission:
   * the outbox relay marked them sent, but they never reached this server's table (a crash in
   * between, or a bus that lost them). From then on they travel as any other request.
   */
  async function redriveLostRequests(limit = 100): Promise<number> {
    const lost = await submissionRepository.ordersWithoutSubmission(deps.pool, checkSeconds, limit);
    if (lost.length === 0) return 0;
    const requests = requestsToRedrive(lost);
    await withTransaction(deps.pool, async (tx) => {
      for (const request of requests) await submissionRepository.insert(tx, request);
    });
    for (const request of requests) deps.onRedriven?.(REDRIVEN_KIND[request.type]);
    deps.logger.warn(
      { orders: lost.map((order) => order.id) },
      'requests lost before the request server: driven again',
    );
    dispatcher.wake();
    return lost.length;
  }

  async function idleWait(): Promise<number> {
    return idleWaitMs(await submissionRepository.earliestDueInMs(deps.pool));
  }

  // A pipeline, not rounds: a slot freed by one answered call is refilled at once (it wakes the
  // dispatcher), so one slow call does not hold back the claims behind it.
  const inflight = new Set<Promise<void>>();
  const dispatcher = new WorkerLoop({
    work: async () => {
      const claimed = await claim(concurrency - inflight.size);
      for (const item of claimed) {
        const task: Promise<void> = call(item)
          .then((result) => settle(item, result))
          .catch((error: unknown) => deps.logger.warn({ err: error }, 'dispatch failed; will retry'))
          .finally(() => {
            inflight.delete(task);
            dispatcher.wake();
          });
        inflight.add(task);
      }
      if (claimed.length > 0 && inflight.size < concurrency) return 0;
      return inflight.size > 0 ? 1_000 : await idleWait().catch(() => 500);
    },
    // PostgreSQL away: claimed rows are safe in it (a lease that runs out is checked at the broker).
    onError: (error, attempt, waitMs) =>
      deps.logger.warn({ err: error, attempt, waitMs }, 'dispatch failed; will retry'),
  });

  // Two steps, each failing on its own: a re-drive that keeps failing must not stop the open-order
  // check, nor the other way round. A failure (PostgreSQL away) waits longer each time.
  const sweeper = new WorkerLoop({
    work: async (running) => {
      let failed = false;
      try {
        await redriveLostRequests();
      } catch (error) {
        failed = true;
        deps.logger.warn({ err: error }, 're-driving lost requests failed; will retry');
      }
      try {
        while (running() && (await checkOpenOrders()) > 0);
      } catch (error) {
        failed = true;
        deps.logger.warn({ err: error }, 'open-order check failed; will retry');
      }
      if (failed) throw new SweepFailed();
      return sweepMs;
    },
    onError: () => {
      // Each step logged its own failure.
    },
    backoff: { initialMs: sweepMs, maxMs: 30_000 },
  });

  return {
    handleBatch,
    /** The preferred broker's circuit breaker (the console's gauge). */
    breaker: brokers.breaker(),
    brokers,
    checkOpenOrders,
    redriveLostRequests,
    async start() {
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
      dispatcher.start();
      sweeper.start();
      healthWatch.start();
    },
    async stop() {
      await Promise.all([dispatcher.stop(), sweeper.stop(), healthWatch.stop()]);
      await Promise.all(inflight);
      await subscription?.stop();
      brokers.shutdown();
    },
  };
}

export type RequestServer = ReturnType<typeof createRequestServer>;

/** The sweeper's round failed in a step that logged why. */
class SweepFailed extends Error {}

/** Sorts what a broker call threw; what each kind means for the submission is broker-call.rules.ts's. */
function callFailure(error: unknown): CallFailure {
  if (error instanceof BrokerRejectedError) return { type: 'refused', code: error.code, message: error.message };
  if (error instanceof BrokerUnavailableError) {
    return { type: 'unavailable', reason: error.reason, message: error.message, retryAfterMs: error.retryAfterMs };
  }
  if (isBreakerOpen(error)) return { type: 'breakerOpen' };
  return { type: 'other', message: error instanceof Error ? error.message : String(error) };
}
