import type { Queryable } from '../../platform/index.ts';
import type { OrderStatus, Replacement } from '../orders/order.machine.ts';
import type { OrderRequestMessage, OrderTerms, SubmitOrderMessage } from '../orders/order-request.schemas.ts';
import {
  newSubmission,
  persistSubmission,
  restoreSubmission,
  SUBMISSION_MACHINE_VERSION,
  submissionState,
  type SubmissionContext,
  type SubmissionSnapshot,
  type SubmissionState,
} from './submission.machine.ts';
import {
  CLAIM_DUE,
  CLAIM_OPEN_ORDER_CHECKS,
  EARLIEST_DUE,
  INSERT_SUBMISSION,
  LOCK_SUBMISSION,
  LOCK_SUBMIT_OF_ORDER,
  MARK_CHECKED_NOW,
  ORDERS_TO_CHECK,
  ORDERS_WITHOUT_SUBMISSION,
  SCHEDULE_NEXT_CHECKS,
  UPDATE_SUBMISSION,
} from './submission.sql.ts';

export type SubmissionKind = 'submit' | 'cancel' | 'replace';

const KIND_OF = { SubmitOrder: 'submit', CancelOrder: 'cancel', ReplaceOrder: 'replace' } as const;

export interface SubmissionRow {
  order_id: string;
  kind: SubmissionKind;
  account_id: string;
  request: OrderRequestMessage;
  state: SubmissionState;
  snapshot: { value: string; context: SubmissionContext };
  attempts: number;
  version: number;
  request_no: number;
}

export interface DueSubmissionRow extends SubmissionRow {
  order_status: OrderStatus | null;
  submit_state: SubmissionState | null;
  submit_broker_order_id: string | null;
  /** The broker the order is bound to (for a replace: the old order's); null before routing. */
  order_broker_id: string | null;
}

export interface OrderWithoutSubmission extends OrderTerms {
  status: OrderStatus;
  cancel_request_no: number;
  replace_request_no: number;
  pending_replace: Replacement | null;
  submit_missing: boolean;
}

export interface OrderToCheck {
  id: string;
  status: OrderStatus;
  type: 'market' | 'limit';
  time_in_force: 'day' | 'gtc' | 'ioc';
  extended_hours: boolean;
  filled_quantity: string;
  exec_ids: string[];
  broker_id: string | null;
}

/** SQL of the request server's tables (`broker_submissions`, `open_order_checks`); the caller's transaction or the pool. */
export const submissionRepository = {
  /** Stores a request as a new submission; a duplicate changes nothing, a later cancel takes over an earlier one. */
  async insert(q: Queryable, request: OrderRequestMessage, snapshot: SubmissionSnapshot = newSubmission()) {
    await q.query(INSERT_SUBMISSION, [
      request.orderId,
      KIND_OF[request.type],
      request.accountId,
      JSON.stringify(request),
      submissionState(snapshot),
      JSON.stringify(persistSubmission(snapshot)),
      SUBMISSION_MACHINE_VERSION,
      request.type === 'SubmitOrder' ? 1 : request.requestNo,
    ]);
  },

  async claimDue(q: Queryable, limit: number): Promise<DueSubmissionRow[]> {
    const { rows } = await q.query<DueSubmissionRow>(CLAIM_DUE, [limit]);
    return rows;
  },

  async lock(q: Queryable, orderId: string, kind: SubmissionKind): Promise<SubmissionRow | null> {
    const { rows } = await q.query<SubmissionRow>(LOCK_SUBMISSION, [orderId, kind]);
    return rows[0] ?? null;
  },

  /**
   * Stores the next snapshot if the row is still at `version` (compare-and-settle); returns the new
   * version, or null when someone else moved it on.
   */
  async save(
    q: Queryable,
    row: Pick<SubmissionRow, 'order_id' | 'kind'>,
    version: number,
    snapshot: SubmissionSnapshot,
    nextInMs: number,
  ): Promise<number | null> {
    const { rows } = await q.query<{ version: number }>(UPDATE_SUBMISSION, [
      row.order_id,
      row.kind,
      version,
      submissionState(snapshot),
      JSON.stringify(persistSubmission(snapshot)),
      snapshot.context.attempts,
      Math.max(0, Math.round(nextInMs)),
      snapshot.context.lastError,
      snapshot.context.brokerOrderId,
    ]);
    return rows[0]?.version ?? null;
  },

  async earliestDueInMs(q: Queryable): Promise<number | null> {
    const { rows } = await q.query<{ wait_ms: string | null }>(EARLIEST_DUE);
    const wait = rows[0]?.wait_ms;
    return wait === null || wait === undefined ? null : Number(wait);
  },

  /** The order's submit, locked, so that a cancel and the dispatcher cannot both decide on it. */
  async lockSubmitOf(
    q: Queryable,
    orderId: string,
  ): Promise<{ state: SubmissionState; version: number; snapshot: SubmissionSnapshot } | null> {
    const { rows } = await q.query<{
      state: SubmissionState;
      version: number;
      snapshot: { value: string; context: SubmissionContext };
    }>(LOCK_SUBMIT_OF_ORDER, [orderId]);
    const row = rows[0];
    return row ? { state: row.state, version: row.version, snapshot: restoreSubmission(row.snapshot) } : null;
  },

  /** Records a submit that will never be sent, before its message arrives: that message then changes nothing. */
  async insertAbandonedSubmit(q: Queryable, request: SubmitOrderMessage, snapshot: SubmissionSnapshot) {
    await submissionRepository.insert(q, request, snapshot);
  },

  async ordersWithoutSubmission(q: Queryable, graceSeconds: number, limit: number): Promise<OrderWithoutSubmission[]> {
    const { rows } = await q.query<OrderWithoutSubmission>(ORDERS_WITHOUT_SUBMISSION, [graceSeconds, limit]);
    return rows;
  },

  async claimOpenOrderChecks(
    q: Queryable,
    options: { silentSeconds: number; regularOpen: boolean; extendedOpen: boolean; limit: number; leaseMs: number },
  ): Promise<Array<{ order_id: string; checks: number }>> {
    const { rows } = await q.query<{ order_id: string; checks: number }>(CLAIM_OPEN_ORDER_CHECKS, [
      options.silentSeconds,
      options.regularOpen,
      options.extendedOpen,
      options.limit,
      options.leaseMs,
    ]);
    return rows;
  },

  async markCheckedNow(q: Queryable, orderIds: readonly string[], leaseMs: number): Promise<void> {
    if (orderIds.length > 0) await q.query(MARK_CHECKED_NOW, [orderIds, leaseMs]);
  },

  async ordersToCheck(q: Queryable, orderIds: readonly string[]): Promise<OrderToCheck[]> {
    if (orderIds.length === 0) return [];
    const { rows } = await q.query<OrderToCheck>(ORDERS_TO_CHECK, [orderIds]);
    return rows;
  },

  async scheduleNextChecks(q: Queryable, next: ReadonlyArray<{ orderId: string; delayMs: number }>): Promise<void> {
    if (next.length === 0) return;
    await q.query(SCHEDULE_NEXT_CHECKS, [next.map((n) => n.orderId), next.map((n) => Math.round(n.delayMs))]);
  },
};
