import { ExecutionReport, EXECUTIONS_TOPIC } from '../../broker-adapter/index.ts';
import {
  isDependencyUnavailable,
  isDomainError,
  isRetryable,
  messageJson,
  withTransaction,
  WorkerLoop,
  type Bus,
  type BusMessage,
  type Logger,
  type Pool,
  type PoolClient,
  type Subscription,
} from '../../platform/index.ts';
import { DEFAULT_MAX_ATTEMPTS, guardAgainstPoison, parkMessage } from '../dead-letters/dead-letter.repository.ts';
import type { OrderService } from '../orders/order.service.ts';
import {
  describeTradeCorrection,
  isTradeCorrection,
  orderEventFromReport,
  TRADE_CORRECTION_FOR_OPS,
} from './execution-report.rules.ts';
import {
  HOLD_TRADE_CORRECTION,
  INSERT_REPORT_ANOMALY,
  PARK_REPORT,
  PARKED_BATCH,
  TOUCH_PARKED,
  UNPARK,
} from './execution.sql.ts';
import { refuseOtherBrokersReports } from './report-broker.ts';

export const EXECUTIONS_GROUP = 'trading-server-executions';
/** The dead letters' name for reports that failed in the parked-reports sweeper rather than on the topic. */
export const PARKED_REPORTS_CONSUMER = `${EXECUTIONS_GROUP}:parked-reports`;

type Outcome = 'applied' | 'ignored' | 'parked' | 'refused' | 'held_for_ops';

export interface ExecutionConsumerDependencies {
  pool: Pool;
  bus: Bus;
  orders: OrderService;
  logger: Logger;
  /** After a batch commits whose effects wrote to the outbox (cancels never do, but stay honest). */
  onOutboxWritten?: () => void;
  onApplied?: (report: ExecutionReport, outcome: Outcome) => void;
  maxBatchSize?: number;
  parkedRetryMs?: number;
  /** Attempts of a report failing for a non-domain reason before it goes to the dead letters. */
  maxAttempts?: number;
  /** A poison message was parked in the dead letters (the alarm's metric). */
  onParked?: (message: BusMessage) => void;
}

/**
 * The trading server's side of the `executions` topic: each batch of broker reports is applied to
 * orders and the ledger in ONE database transaction, with one round of writes for the whole batch
 * (a refused report sends the batch down the slow path, one savepoint per report), and the bus
 * commits the offsets only after that transaction has committed. A report is applied once (execId is a primary key in the fills
 * and the ledger, and the machine ignores a known execId); a report for an order we do not know
 * is parked and retried; a report the ledger refuses is recorded and alarmed, not retried forever.
 */
export function createExecutionConsumer(deps: ExecutionConsumerDependencies) {
  let subscription: Subscription | undefined;
  const every = deps.parkedRetryMs ?? 1_000;
  const sweeper = new WorkerLoop({
    startDelayMs: every,
    work: async () => (await retryParked(), every),
    onError: (error) => deps.logger.warn({ err: error }, 'parked report retry failed'),
    // A failing retry (PostgreSQL away) waits its usual interval, longer each consecutive time.
    backoff: { initialMs: every, maxMs: Math.max(every, 30_000) },
  });

  /** A bust or correct: recorded once (by execId) for an operator; nothing else moves. */
  async function holdForOps(tx: PoolClient, report: ExecutionReport): Promise<Outcome> {
    const detail = describeTradeCorrection(report);
    const held = await tx.query(HOLD_TRADE_CORRECTION, [
      TRADE_CORRECTION_FOR_OPS,
      detail,
      JSON.stringify(report),
      report.execId,
      report.clientOrderId,
    ]);
    if (held.rowCount === 0) return 'ignored';
    deps.logger.error({ execId: report.execId, refExecId: report.refExecId }, `trade correction for ops: ${detail}`);
    return 'held_for_ops';
  }

  async function applyReport(tx: PoolClient, report: ExecutionReport): Promise<Outcome> {
    if ((await refuseOtherBrokersReports(tx, [report])).size > 0) return 'refused';
    if (isTradeCorrection(report)) return holdForOps(tx, report);
    // A savepoint per report: one refused report must not undo the batch's others.
    await tx.query('SAVEPOINT report');
    try {
      const outcome = await deps.orders.applyEvent(
        tx,
        report.clientOrderId,
        orderEventFromReport(report),
        reportedAs(report),
      );
      if (!outcome) {
        await tx.query(PARK_REPORT, [report.execId, report.clientOrderId, JSON.stringify(report)]);
        await tx.query('RELEASE SAVEPOINT report');
        return 'parked';
      }
      await tx.query('RELEASE SAVEPOINT report');
      return outcome.applied ? 'applied' : 'ignored';
    } catch (error) {
      if (!isDomainError(error)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT report');
      await tx.query(INSERT_REPORT_ANOMALY, [`REPORT_REFUSED:${error.code}`, error.message, JSON.stringify(report)]);
      deps.logger.error({ execId: report.execId, code: error.code, err: error }, 'execution report refused');
      return 'refused';
    }
  }

  async function handleBatch(messages: readonly BusMessage[]): Promise<void> {
    const reports: ExecutionReport[] = [];
    for (const message of messages) {
      const parsed = ExecutionReport.safeParse(messageJson(message));
      if (parsed.success) {
        reports.push(parsed.data);
      } else {
        // The fill receiver validates before publishing, so this is a poison message: record it, never loop on it.
        deps.logger.error(
          { offset: message.offset, partition: message.partition, issues: parsed.error.issues },
          'malformed execution report',
        );
        await deps.pool.query(INSERT_REPORT_ANOMALY, [
          'MALFORMED_REPORT',
          parsed.error.message.slice(0, 2000),
          JSON.stringify({ raw: message.value.slice(0, 10_000) }),
        ]);
      }
    }
    if (reports.length === 0) return;
    const outcomes = await withTransaction(deps.pool, async (tx) => {
      // Before the savepoint: the slow path below checks each report again, and must find it recorded once.
      const foreign = await refuseOtherBrokersReports(tx, reports);
      await tx.query('SAVEPOINT batch');
      try {
        // Corrections are held in place, in the same transaction as the batch's other reports.
        const held = new Map<ExecutionReport, Outcome>();
        for (const report of foreign) held.set(report, 'refused');
        for (const report of reports) {
          if (!foreign.has(report) && isTradeCorrection(report)) held.set(report, await holdForOps(tx, report));
        }
        const events = reports.filter((report) => !held.has(report));
        const appliedEvents = await deps.orders.applyEvents(
          tx,
          events.map((report) => ({
            orderId: report.clientOrderId,
            event: orderEventFromReport(report),
            reportedAs: reportedAs(report),
          })),
        );
        const results: Outcome[] = [];
        for (const report of reports) {
          const heldOutcome = held.get(report);
          if (heldOutcome) {
            results.push(heldOutcome);
            continue;
          }
          const outcome = appliedEvents[events.indexOf(report)];
          if (!outcome) await tx.query(PARK_REPORT, [report.execId, report.clientOrderId, JSON.stringify(report)]);
          results.push(!outcome ? 'parked' : outcome.applied ? 'applied' : 'ignored');
        }
        await tx.query('RELEASE SAVEPOINT batch');
        return results;
      } catch (error) {
        if (!isDomainError(error)) throw error;
        // Something in the batch is refused: find it by applying the reports one at a time.
        await tx.query('ROLLBACK TO SAVEPOINT batch');
        const results: Outcome[] = [];
        for (const report of reports) results.push(foreign.has(report) ? 'refused' : await applyReport(tx, report));
        return results;
      }
    });
    reports.forEach((report, i) => deps.onApplied?.(report, outcomes[i]!));
  }

  /** Failures of a parked report's retry for a non-domain reason, by execId (bounded like the bus's). */
  const parkedFailures = new Map<string, number>();

  /**
   * Retries parked reports whose order may exist by now. One that fails for a reason other than the
   * domain's is rolled back alone (a savepoint), so it cannot stop the others, and after
   * `maxAttempts` such failures it goes to the dead letters like a poison message from the topic.
   */
  async function retryParked(limit = 200): Promise<number> {
    return withTransaction(deps.pool, async (tx) => {
      const { rows } = await tx.query<{ exec_id: string; order_id: string; report: unknown }>(PARKED_BATCH, [limit]);
      let resolved = 0;
      for (const row of rows) {
        await tx.query('SAVEPOINT parked');
        let outcome: Outcome;
        try {
          outcome = await applyReport(tx, ExecutionReport.parse(row.report));
          await tx.query('RELEASE SAVEPOINT parked');
        } catch (error) {
          if (isDependencyUnavailable(error) || isRetryable(error)) throw error;
          await tx.query('ROLLBACK TO SAVEPOINT parked');
          const failures = (parkedFailures.get(row.exec_id) ?? 0) + 1;
          parkedFailures.set(row.exec_id, failures);
          if (failures < (deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) continue;
          await setAsideParked(tx, row, error, failures);
          parkedFailures.delete(row.exec_id);
          continue;
        }
        parkedFailures.delete(row.exec_id);
        if (outcome === 'parked') {
          await tx.query(TOUCH_PARKED, [row.exec_id]);
        } else {
          await tx.query(UNPARK, [row.exec_id]);
          resolved++;
        }
      }
      return resolved;
    });
  }

  /** A parked report that keeps failing joins the dead letters, to be replayed on its topic after a fix. */
  async function setAsideParked(
    tx: PoolClient,
    row: { exec_id: string; report: unknown },
    error: unknown,
    attempts: number,
  ): Promise<void> {
    const account = (row.report as { account?: unknown }).account;
    const message: BusMessage = {
      topic: EXECUTIONS_TOPIC,
      partition: -1,
      offset: `parked-report:${row.exec_id}`,
      key: typeof account === 'string' ? account : '',
      value: JSON.stringify(row.report),
      headers: {},
    };
    await parkMessage(tx, { consumer: PARKED_REPORTS_CONSUMER, message, error, attempts });
    await tx.query(UNPARK, [row.exec_id]);
    deps.logger.error(
      { alarm: 'MESSAGE_PARKED', consumer: PARKED_REPORTS_CONSUMER, execId: row.exec_id, attempts, err: error },
      'parked report moved to the dead letters after repeated failures (GET /v1/ops/parked; replay after a fix)',
    );
    deps.onParked?.(message);
  }

  return {
    handleBatch,
    retryParked,
    async start() {
      subscription = await deps.bus.consume({
        groupId: EXECUTIONS_GROUP,
        topics: [EXECUTIONS_TOPIC],
        handleBatch: guardAgainstPoison(handleBatch, {
          pool: deps.pool,
          logger: deps.logger,
          consumer: EXECUTIONS_GROUP,
          maxAttempts: deps.maxAttempts,
          onParked: deps.onParked,
        }),
        maxBatchSize: deps.maxBatchSize ?? 200,
        onHandlerError: (error, attempt) =>
          deps.logger.warn({ err: error, attempt }, 'execution batch failed; retrying'),
      });
      sweeper.start();
    },
    async stop() {
      await sweeper.stop();
      await subscription?.stop();
    },
  };
}

export type ExecutionConsumer = ReturnType<typeof createExecutionConsumer>;

function reportedAs(report: ExecutionReport) {
  return { account: report.account, symbol: report.symbol, side: report.side };
}
