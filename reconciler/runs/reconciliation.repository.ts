import type { ExecutionReport, OrdersStatement } from '../../broker-adapter/index.ts';
import { withTransaction, type Pool, type Queryable } from '../../platform/index.ts';
import type { BalanceBreak, BreakKind } from './reconciliation.rules.ts';
import type { Break, BreakDetail, Run, RunSummary } from './reconciliation.schemas.ts';
import * as sql from './reconciliation.sql.ts';

type BrokerOrder = OrdersStatement['orders'][number];

export async function insertRun(db: Queryable, id: string, date: string, repair: boolean): Promise<void> {
  await db.query(sql.INSERT_RUN, [id, date, repair]);
}

/** One multi-row INSERT per chunk: a statement per row would cost a round trip per execution. */
export async function stageExecutions(
  db: Queryable,
  runId: string,
  broker: string,
  reports: readonly ExecutionReport[],
): Promise<void> {
  if (reports.length === 0) return;
  await db.query(sql.STAGE_EXECUTIONS, [
    runId,
    broker,
    reports.map((r) => r.execId),
    reports.map((r) => r.clientOrderId),
    reports.map((r) => r.account),
    reports.map((r) => r.symbol),
    reports.map((r) => r.side),
    reports.map((r) => r.lastQuantity),
    reports.map((r) => r.lastPrice),
    reports.map((r) => r.transactTime),
    reports.map((r) => JSON.stringify(r)),
  ]);
}

export async function stageOrders(
  db: Queryable,
  runId: string,
  broker: string,
  orders: readonly BrokerOrder[],
): Promise<void> {
  if (orders.length === 0) return;
  await db.query(sql.STAGE_ORDERS, [
    runId,
    broker,
    orders.map((o) => o.clientOrderId),
    orders.map((o) => o.brokerOrderId),
    orders.map((o) => o.symbol),
    orders.map((o) => o.status),
    orders.map((o) => o.cumulativeQuantity),
  ]);
}

/**
 * The set comparisons of executions and orders, as breaks of the given pass, and on the first pass the
 * day's timeline. One transaction with room for the joins' hash tables: a day's million rows hashed
 * in memory instead of spilled in batches.
 */
export async function compareStaged(
  pool: Pool,
  runId: string,
  date: string,
  pass: 1 | 2,
  resolutions: Record<BreakKind, string>,
): Promise<void> {
  // The timeline only reads, so it is counted on a connection of its own beside the comparisons (in
  // READ COMMITTED each statement took its own snapshot anyway): a day costs the longer of the two, not
  // their sum. Asked for before the transaction's connection, so even a pool of one cannot deadlock.
  const timeline = pass === 1 ? countTimeline(pool, runId, date) : Promise.resolve(null);
  void timeline.catch(() => undefined); // awaited below; a failed transaction must not leave it unhandled
  await withTransaction(pool, async (tx) => {
    await tx.query(sql.ROOM_FOR_JOINS);
    const params = [runId, date, pass, JSON.stringify(resolutions)];
    await tx.query(sql.FIND_EXECUTION_BREAKS, params);
    await tx.query(sql.FIND_ORDER_MISMATCHES, params);
    await tx.query(sql.FIND_EXECUTION_ANOMALIES, params);
    const buckets = await timeline;
    if (buckets) {
      await tx.query(sql.INSERT_TIMELINE, [
        runId,
        buckets.map((b) => b.bucket),
        buckets.map((b) => b.broker_count),
        buckets.map((b) => b.our_count),
      ]);
    }
  });
}

async function countTimeline(pool: Pool, runId: string, date: string) {
  return withTransaction(pool, async (tx) => {
    await tx.query(sql.ROOM_FOR_JOINS);
    const { rows } = await tx.query<{ bucket: Date; broker_count: number; our_count: number }>(sql.COUNT_TIMELINE, [
      runId,
      date,
    ]);
    return rows;
  });
}

/** Per symbol, what our fills after `date` moved: customers' shares and omnibus USD (buys positive). */
export async function fillsAfterDate(
  db: Queryable,
  date: string,
): Promise<{ symbol: string; shares: string; omnibusCash: string }[]> {
  const { rows } = await db.query<{ symbol: string; shares: string; omnibus_cash: string }>(sql.FILLS_AFTER_DATE, [
    date,
  ]);
  return rows.map((r) => ({ symbol: r.symbol, shares: r.shares, omnibusCash: r.omnibus_cash }));
}

export async function insertBalanceBreaks(
  db: Queryable,
  runId: string,
  breaks: readonly BalanceBreak[],
  pass: 1 | 2,
  resolutions: Record<BreakKind, string>,
): Promise<void> {
  for (const b of breaks) {
    await db.query(sql.INSERT_BREAK, [runId, b.kind, b.symbol, b.expected, b.actual, resolutions[b.kind], pass]);
  }
}

export async function settleRecheck(db: Queryable, runId: string, repaired: Record<BreakKind, string>): Promise<void> {
  await db.query(sql.SETTLE_RECHECK, [runId, JSON.stringify(repaired)]);
}

/** The staged reports of the run's missing executions, a page at a time in execId order. */
export async function missingReportsPage(
  db: Queryable,
  runId: string,
  afterExecId: string,
  limit: number,
): Promise<{ execId: string; account: string; report: unknown }[]> {
  const { rows } = await db.query<{ exec_id: string; account: string; report: unknown }>(sql.MISSING_REPORTS_PAGE, [
    runId,
    afterExecId,
    limit,
  ]);
  return rows.map((r) => ({ execId: r.exec_id, account: r.account, report: r.report }));
}

export async function countMissingStillUnapplied(db: Queryable, runId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(sql.COUNT_MISSING_STILL_UNAPPLIED, [runId]);
  return rows[0]!.n;
}

export async function countStaged(db: Queryable, runId: string): Promise<{ executions: number; orders: number }> {
  const { rows } = await db.query<{ executions: number; orders: number }>(sql.COUNT_STAGED, [runId]);
  return rows[0]!;
}

export async function countBreaks(db: Queryable, runId: string): Promise<{ found: number; open: number }> {
  const { rows } = await db.query<{ found: number; open: number }>(sql.COUNT_BREAKS, [runId]);
  return rows[0]!;
}

export async function finishRun(
  db: Queryable,
  runId: string,
  status: Run['status'],
  checked: Run['checked'],
): Promise<void> {
  await db.query(sql.FINISH_RUN, [runId, status, checked.orders, checked.executions, checked.positions]);
}

export async function failRun(db: Queryable, runId: string, reason: string): Promise<void> {
  await db.query(sql.FAIL_RUN, [runId, reason.slice(0, 2000)]);
}

export async function clearStaging(db: Queryable, runId: string): Promise<void> {
  await db.query(sql.CLEAR_STAGING, [runId]);
}

export interface StoredRun {
  run: Run | null;
  /** 'running' or 'failed' runs have no contract shape yet. */
  state: 'running' | 'failed' | 'done';
  failure: string | null;
}

export async function loadRun(db: Queryable, runId: string): Promise<StoredRun | null> {
  const { rows } = await db.query<{
    id: string;
    date: string;
    status: string;
    checked_orders: number;
    checked_executions: number;
    checked_positions: number;
    failure: string | null;
  }>(sql.SELECT_RUN, [runId]);
  const row = rows[0];
  if (!row) return null;
  if (row.status === 'running' || row.status === 'failed')
    return { run: null, state: row.status, failure: row.failure };
  const { rows: breaks } = await db.query<BreakRow>(sql.SELECT_BREAKS, [runId]);
  return {
    state: 'done',
    failure: null,
    run: {
      id: row.id,
      date: row.date,
      status: row.status as Run['status'],
      checked: { orders: row.checked_orders, executions: row.checked_executions, positions: row.checked_positions },
      breaks: breaks.map(toBreak),
    },
  };
}

interface BreakRow {
  id: string;
  kind: Break['kind'];
  broker: string | null;
  symbol: string | null;
  order_id: string | null;
  exec_id: string | null;
  expected: string | null;
  actual: string | null;
  resolution: string | null;
  open: boolean;
}

function toBreak(b: BreakRow): Break {
  return {
    id: b.id,
    kind: b.kind,
    broker: b.broker,
    symbol: b.symbol,
    orderId: b.order_id,
    execId: b.exec_id,
    expected: b.expected,
    actual: b.actual,
    resolution: b.resolution,
    open: b.open,
  };
}

/** Decides an open break; null when there is no such break, 'not_open' when it was already closed. */
export async function resolveBreak(
  db: Queryable,
  id: string,
  decision: { operator: string; note: string; resolution: string },
): Promise<Break | 'not_open' | null> {
  const { rows } = await db.query<BreakRow>(sql.RESOLVE_BREAK, [
    id,
    decision.operator,
    decision.note,
    decision.resolution,
  ]);
  if (rows[0]) return toBreak(rows[0]);
  const existing = await db.query<BreakRow>(sql.SELECT_BREAK, [id]);
  return existing.rows[0] ? 'not_open' : null;
}

export async function loadTimeline(
  db: Queryable,
  runId: string,
): Promise<{ bucket: Date; broker: number; ours: number }[]> {
  const { rows } = await db.query<{ bucket: Date; broker_count: number; our_count: number }>(sql.SELECT_TIMELINE, [
    runId,
  ]);
  return rows.map((r) => ({ bucket: r.bucket, broker: r.broker_count, ours: r.our_count }));
}

export async function closedAtBrokerNotHere(
  db: Queryable,
  runId: string,
): Promise<{ broker: string; brokerOrderId: string; orderId: string }[]> {
  const { rows } = await db.query<{ broker: string; broker_order_id: string; client_order_id: string }>(
    sql.CLOSED_AT_BROKER_NOT_HERE,
    [runId],
  );
  return rows.map((row) => ({ broker: row.broker, brokerOrderId: row.broker_order_id, orderId: row.client_order_id }));
}

export async function countOrdersStillDifferent(
  db: Queryable,
  runId: string,
  orderIds: readonly string[],
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(sql.COUNT_ORDERS_STILL_DIFFERENT, [runId, orderIds]);
  return rows[0]?.n ?? 0;
}

interface RunSummaryRow {
  id: string;
  date: string;
  status: RunSummary['status'];
  repair: boolean;
  checked_orders: number;
  checked_executions: number;
  checked_positions: number;
  failure: string | null;
  started_at: Date;
  finished_at: Date | null;
  breaks_found: number;
  breaks_open: number;
}

function toRunSummary(r: RunSummaryRow): RunSummary {
  return {
    id: r.id,
    date: r.date,
    status: r.status,
    repair: r.repair,
    checked: { orders: r.checked_orders, executions: r.checked_executions, positions: r.checked_positions },
    breaksFound: r.breaks_found,
    breaksOpen: r.breaks_open,
    failure: r.failure,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

export async function listRuns(
  db: Queryable,
  query: { date?: string | undefined; limit: number; after?: { startedAt: string; id: string } | null },
): Promise<{ runs: RunSummary[]; last: { startedAt: Date; id: string } | null; more: boolean }> {
  const { rows } = await db.query<RunSummaryRow>(sql.LIST_RUNS, [
    query.date ?? null,
    query.after?.startedAt ?? null,
    query.after?.id ?? null,
    query.limit + 1,
  ]);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    runs: page.map(toRunSummary),
    last: last ? { startedAt: last.started_at, id: last.id } : null,
    more: rows.length > query.limit,
  };
}

export async function runSummary(db: Queryable, id: string): Promise<RunSummary | null> {
  const { rows } = await db.query<RunSummaryRow>(sql.RUN_SUMMARY, [id]);
  return rows[0] ? toRunSummary(rows[0]) : null;
}

interface BreakDetailRow extends BreakRow {
  run_id: string;
  date: string;
  found_in: 1 | 2;
  resolved_at: Date | null;
  resolved_by: string | null;
  note: string | null;
}

function toBreakDetail(r: BreakDetailRow): BreakDetail {
  return {
    ...toBreak(r),
    runId: r.run_id,
    date: r.date,
    foundIn: r.found_in === 1 ? 'check' : 'recheck',
    resolvedAt: r.resolved_at?.toISOString() ?? null,
    resolvedBy: r.resolved_by,
    note: r.note,
  };
}

export async function listBreaks(
  db: Queryable,
  query: {
    runId?: string | undefined;
    open?: boolean | undefined;
    kind?: string | undefined;
    broker?: string | undefined;
    after?: string | undefined;
    limit: number;
  },
): Promise<{ breaks: BreakDetail[]; next: string | null }> {
  const { rows } = await db.query<BreakDetailRow>(sql.LIST_BREAKS, [
    query.runId ?? null,
    query.open ?? null,
    query.kind ?? null,
    query.after ?? null,
    query.limit + 1,
    query.broker ?? null,
  ]);
  const page = rows.slice(0, query.limit);
  return {
    breaks: page.map(toBreakDetail),
    next: rows.length > query.limit ? page[page.length - 1]!.id : null,
  };
}

export async function breakDetail(db: Queryable, id: string): Promise<BreakDetail | null> {
  const { rows } = await db.query<BreakDetailRow>(sql.BREAK_DETAIL, [id]);
  return rows[0] ? toBreakDetail(rows[0]) : null;
}

export async function openBreaksByKind(db: Queryable): Promise<{ kind: string; count: number }[]> {
  const { rows } = await db.query<{ kind: string; n: number }>(sql.OPEN_BREAKS_BY_KIND);
  return rows.map((r) => ({ kind: r.kind, count: r.n }));
}
