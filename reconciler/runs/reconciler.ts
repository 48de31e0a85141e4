import { randomUUID } from 'node:crypto';
import {
  BrokerRejectedError,
  BrokerUnavailableError,
  ExecutionReport,
  EXECUTIONS_TOPIC,
  type Statements,
  type StatementKind,
} from '../../broker-adapter/index.ts';
import type { StatementSource } from './broker-statements.ts';
import type { Ledger } from '../../ledger/index.ts';
import { DomainError, silentLogger, withTransaction, type Bus, type Logger, type Pool } from '../../platform/index.ts';
import * as repo from './reconciliation.repository.ts';
import {
  BREAK_KINDS,
  compareBalances,
  sumAcrossBrokers,
  withBrokerShares,
  ledgerAsOf,
  OPEN_RESOLUTIONS,
  operatorResolution,
  REPAIRED_RESOLUTIONS,
  runStatus,
  unrepairedResolution,
  type BreakKind,
} from './reconciliation.rules.ts';
import type { Break, BreakDetail, Run, RunSummary } from './reconciliation.schemas.ts';

/** One broker's statements, by the name its orders and breaks carry. */
export interface NamedStatementSource {
  name: string;
  statements: StatementSource;
}

export interface ReconcilerDependencies {
  pool: Pool;
  /** Every broker orders are routed to: each one's statements are read, and compared as one. */
  brokers: readonly NamedStatementSource[];
  ledger: Pick<Ledger, 'totals'>;
  /** Needed only to repair: missing executions travel the `executions` topic like live ones. */
  bus?: Bus | undefined;
  logger?: Logger;
  /** How long a repair waits for the execution consumer to apply what it published. */
  repairWaitMs?: number;
  /** Rows per staging INSERT and per publish. */
  chunkSize?: number;
}

export type ReconcilePhase = 'fetch' | 'stage' | 'compare' | 'repair' | 'recheck' | 'done';
export interface ReconcileProgress {
  phase: ReconcilePhase;
  done: number;
  total: number;
}

export interface Reconciler {
  /** Reconciles the New York trading date `date`; with `repair`, feeds missing executions back and checks again. */
  run(date: string, options?: { repair?: boolean; onProgress?: (progress: ReconcileProgress) => void }): Promise<Run>;
  /** A finished run, or null when there is none with that id. */
  get(id: string): Promise<Run | null>;
  /** Executions per 5 minutes of the run's day, broker's and ours (for the report's chart). */
  timeline(id: string): Promise<{ bucket: Date; broker: number; ours: number }[]>;
  /**
   * An operator's decision on an open break: closed, with who decided and the note. A decided
   * EXECUTION_ANOMALY is not raised again by later runs. Throws BREAK_NOT_FOUND (404) or BREAK_NOT_OPEN (409).
   */
  resolveBreak(id: string, decision: { note: string; operator: string }): Promise<Break>;
  /** Runs newest first, without their breaks; `after` is the `next` of the previous page (VALIDATION_FAILED otherwise). */
  listRuns(query: {
    date?: string | undefined;
    limit: number;
    after?: string | undefined;
  }): Promise<{ runs: RunSummary[]; next: string | null }>;
  /** One run's summary, whatever its state (running and failed runs too), or null. */
  runSummary(id: string): Promise<RunSummary | null>;
  /** Breaks newest first, with their run and decision. */
  listBreaks(query: {
    runId?: string | undefined;
    status: 'open' | 'closed' | 'all';
    kind?: string | undefined;
    broker?: string | undefined;
    limit: number;
    after?: string | undefined;
  }): Promise<{ breaks: BreakDetail[]; next: string | null }>;
  /** One break with its run and decision, or null. */
  getBreak(id: string): Promise<BreakDetail | null>;
  /** Open breaks by kind, of the latest finished run of each date. */
  openBreaksByKind(): Promise<{ kind: string; count: number }[]>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BREAK_ID = /^[1-9]\d{0,17}$/;

function validDate(date: unknown): date is string {
  if (typeof date !== 'string' || !DATE.test(date)) return false;
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date;
}

/** The cursor of a run listing: where the page ended, opaque to the client. */
function encodeRunCursor(last: { startedAt: Date; id: string }): string {
  return Buffer.from(`${last.startedAt.toISOString()}|${last.id}`).toString('base64url');
}

function decodeRunCursor(cursor: string): { startedAt: string; id: string } | null {
  const [startedAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!startedAt || !id || Number.isNaN(Date.parse(startedAt)) || !UUID.test(id)) return null;
  return { startedAt, id };
}

export function createReconciler(deps: ReconcilerDependencies): Reconciler {
  const { pool, brokers } = deps;
  const logger = deps.logger ?? silentLogger;
  const chunkSize = deps.chunkSize ?? 5_000;
  const repairWaitMs = deps.repairWaitMs ?? 30_000;

  async function statement<K extends StatementKind>(
    broker: NamedStatementSource,
    kind: K,
    date: string,
  ): Promise<Statements[K]> {
    return asDomainError(broker, kind, () => broker.statements.getStatement(kind, date));
  }

  async function asDomainError<T>(
    broker: NamedStatementSource,
    kind: StatementKind,
    read: () => Promise<T>,
  ): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof BrokerUnavailableError || error instanceof BrokerRejectedError) {
        throw new DomainError(
          'BROKER_UNAVAILABLE',
          `the broker ${broker.name}'s ${kind} statement could not be read: ${error.message}`,
          {
            httpStatus: 503,
          },
        );
      }
      throw error;
    }
  }

  async function stage<T>(
    items: readonly T[],
    write: (chunk: readonly T[]) => Promise<void>,
    progress: (done: number) => void,
  ) {
    for (let i = 0; i < items.length; i += chunkSize) {
      await write(items.slice(i, i + chunkSize));
      progress(Math.min(items.length, i + chunkSize));
    }
  }

  /** Streams the executions statement into staging when the source can; either way a chunk at a time. */
  async function stageExecutions(
    runId: string,
    broker: NamedStatementSource,
    date: string,
    progress: (done: number) => void,
  ): Promise<number> {
    const source = broker.statements;
    if (!source.executionChunks) {
      const { executions } = await statement(broker, 'executions', date);
      await stage(executions, (chunk) => repo.stageExecutions(pool, runId, broker.name, chunk), progress);
      return executions.length;
    }
    const chunks = source.executionChunks(date, chunkSize);
    return asDomainError(broker, 'executions', async () => {
      let done = 0;
      for await (const chunk of chunks) {
        await repo.stageExecutions(pool, runId, broker.name, chunk);
        done += chunk.length;
        progress(done);
      }
      return done;
    });
  }

  async function check(
    runId: string,
    date: string,
    pass: 1 | 2,
    resolutions: Record<BreakKind, string>,
  ): Promise<number> {
    await repo.compareStaged(pool, runId, date, pass, resolutions);
    const [statements, { totals, later }] = await Promise.all([
      Promise.all(
        brokers.map(async (broker) => ({
          broker: broker.name,
          positions: (await statement(broker, 'positions', date)).positions,
          cash: (await statement(broker, 'cash', date)).balance,
        })),
      ),
      // One snapshot, so no fill lands between the totals and what is taken back out of them.
      withTransaction(
        pool,
        async (tx) => ({ totals: await deps.ledger.totals(tx), later: await repo.fillsAfterDate(tx, date) }),
        {
          isolation: 'repeatable read',
        },
      ),
    ]);
    const asOf = ledgerAsOf(
      {
        customerShares: Object.fromEntries(
          Object.entries(totals.customers.shares).map(([symbol, t]) => [symbol, t.total]),
        ),
        omnibusCash: totals.omnibus.cash,
      },
      later,
    );
    const omnibus = sumAcrossBrokers(statements);
    const balances = compareBalances({
      brokerPositions: omnibus.positions,
      customerShares: asOf.customerShares,
      brokerCash: omnibus.cash,
      ledgerOmnibusCash: asOf.omnibusCash,
    });
    await repo.insertBalanceBreaks(pool, runId, withBrokerShares(balances.breaks, statements), pass, resolutions);
    return balances.positionsChecked;
  }

  /** Publishes each missing execution exactly as the fill receiver does, then waits (bounded) for the consumer. */
  async function repairMissing(runId: string, bus: Bus, onProgress: (done: number) => void): Promise<void> {
    let after = '';
    let published = 0;
    for (;;) {
      const page = await repo.missingReportsPage(pool, runId, after, chunkSize);
      if (page.length === 0) break;
      const messages = page.map((row) => ({
        key: row.account,
        value: JSON.stringify(ExecutionReport.parse(row.report)),
      }));
      await bus.publish(EXECUTIONS_TOPIC, messages);
      published += page.length;
      after = page.at(-1)!.execId;
      onProgress(published);
    }
    const closes = await republishDroppedCloses(runId, bus);
    if (published === 0 && closes.length === 0) return;
    const deadline = Date.now() + repairWaitMs;
    const outstanding = async () =>
      (await repo.countMissingStillUnapplied(pool, runId)) +
      (closes.length > 0 ? await repo.countOrdersStillDifferent(pool, runId, closes) : 0);
    let waiting = await outstanding();
    while (waiting > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      waiting = await outstanding();
    }
    logger.info({ runId, published, closes: closes.length, unapplied: waiting }, 'missing reports republished');
  }

  /**
   * An order the broker closed (canceled, expired, rejected) that is still open here lost its closing
   * report; one whose filled quantity differs may have lost a bust or correct. The broker replays the
   * order's reports; the closing ones and the busts and corrects travel the topic like live ones (the
   * order machine and the corrections ignore whatever they already have). Returns the orders it
   * republished for.
   */
  async function republishDroppedCloses(runId: string, bus: Bus): Promise<string[]> {
    const orders = await repo.closedAtBrokerNotHere(pool, runId);
    const republished: string[] = [];
    for (const order of orders) {
      // The order's own broker replays it: its ids mean nothing at another.
      const broker = brokers.find((b) => b.name === order.broker);
      if (!broker?.statements.getOrderReports) continue;
      const source = broker.statements;
      const reports = await asDomainError(broker, 'orders', () => source.getOrderReports!(order.brokerOrderId));
      const closing = reports.filter(
        (report) =>
          report.execType === 'canceled' ||
          report.execType === 'expired' ||
          report.execType === 'rejected' ||
          report.execType === 'trade_cancel' ||
          report.execType === 'trade_correct',
      );
      if (closing.length === 0) continue;
      await bus.publish(
        EXECUTIONS_TOPIC,
        closing.map((report) => ({ key: report.account, value: JSON.stringify(report) })),
      );
      republished.push(order.orderId);
    }
    return republished;
  }

  return {
    async run(date, options = {}) {
      const repair = options.repair ?? false;
      const onProgress = options.onProgress ?? (() => undefined);
      if (!validDate(date)) {
        throw new DomainError('VALIDATION_FAILED', 'date must be a calendar date YYYY-MM-DD', {
          httpStatus: 400,
          details: [{ path: 'date', message: 'must be a date YYYY-MM-DD' }],
        });
      }
      if (repair && !deps.bus) {
        throw new DomainError('REPAIR_UNAVAILABLE', 'repair needs the bus that carries the executions topic', {
          httpStatus: 422,
        });
      }
      const runId = randomUUID();
      await repo.insertRun(pool, runId, date, repair);
      try {
        let staged = 0;
        for (const broker of brokers) {
          const before = staged;
          staged += await stageExecutions(runId, broker, date, (done) =>
            onProgress({ phase: 'stage', done: before + done, total: 0 }),
          );
          const { orders } = await statement(broker, 'orders', date);
          const total = staged + orders.length;
          await stage(
            orders,
            (chunk) => repo.stageOrders(pool, runId, broker.name, chunk),
            (done) => onProgress({ phase: 'stage', done: staged + done, total }),
          );
          staged = total;
        }
        onProgress({ phase: 'compare', done: 0, total: 1 });
        const positionsChecked = await check(runId, date, 1, OPEN_RESOLUTIONS);
        onProgress({ phase: 'compare', done: 1, total: 1 });
        const first = await repo.countBreaks(pool, runId);
        if (repair && first.found > 0) {
          await repairMissing(runId, deps.bus!, (done) => onProgress({ phase: 'repair', done, total: first.found }));
          onProgress({ phase: 'recheck', done: 0, total: 1 });
          const unrepaired = Object.fromEntries(
            BREAK_KINDS.map((kind) => [kind, unrepairedResolution(kind, repairWaitMs)]),
          ) as Record<BreakKind, string>;
          await check(runId, date, 2, unrepaired);
          await repo.settleRecheck(pool, runId, REPAIRED_RESOLUTIONS);
          onProgress({ phase: 'recheck', done: 1, total: 1 });
        }
        const counted = await repo.countStaged(pool, runId);
        const { found, open } = await repo.countBreaks(pool, runId);
        await repo.finishRun(pool, runId, runStatus(found, open), {
          orders: counted.orders,
          executions: counted.executions,
          positions: positionsChecked,
        });
        onProgress({ phase: 'done', done: 1, total: 1 });
      } catch (error) {
        await repo.failRun(pool, runId, error instanceof Error ? error.message : String(error)).catch(() => undefined);
        throw error;
      } finally {
        await repo
          .clearStaging(pool, runId)
          .catch((error: unknown) => logger.warn({ err: error, runId }, 'staging not cleared'));
      }
      const stored = await repo.loadRun(pool, runId);
      return stored!.run!;
    },

    async get(id) {
      if (!UUID.test(id)) return null;
      return (await repo.loadRun(pool, id))?.run ?? null;
    },

    async timeline(id) {
      if (!UUID.test(id)) return [];
      return repo.loadTimeline(pool, id);
    },

    async listRuns(query) {
      const after = query.after === undefined ? null : decodeRunCursor(query.after);
      if (query.after !== undefined && !after) {
        throw new DomainError('VALIDATION_FAILED', 'after is a cursor returned as "next"', {
          httpStatus: 400,
          details: [{ path: 'after', message: 'not a cursor of this listing' }],
        });
      }
      const page = await repo.listRuns(pool, { date: query.date, limit: query.limit, after });
      return { runs: page.runs, next: page.more && page.last ? encodeRunCursor(page.last) : null };
    },

    async runSummary(id) {
      if (!UUID.test(id)) return null;
      return repo.runSummary(pool, id);
    },

    async listBreaks(query) {
      const open = query.status === 'all' ? undefined : query.status === 'open';
      return repo.listBreaks(pool, { ...query, open });
    },

    async getBreak(id) {
      if (!BREAK_ID.test(id)) return null;
      return repo.breakDetail(pool, id);
    },

    async openBreaksByKind() {
      return repo.openBreaksByKind(pool);
    },

    async resolveBreak(id, decision) {
      const notFound = () =>
        new DomainError('BREAK_NOT_FOUND', 'no reconciliation break with this id', {
          httpStatus: 404,
          details: { id },
        });
      if (!BREAK_ID.test(id)) throw notFound();
      const resolved = await repo.resolveBreak(pool, id, {
        ...decision,
        resolution: operatorResolution(decision.operator, decision.note),
      });
      if (resolved === null) throw notFound();
      if (resolved === 'not_open') {
        throw new DomainError('BREAK_NOT_OPEN', 'this break is already closed (repaired or resolved)', {
          httpStatus: 409,
          details: { id },
        });
      }
      logger.info({ breakId: id, kind: resolved.kind, operator: decision.operator }, 'break resolved by an operator');
      return resolved;
    },
  };
}
