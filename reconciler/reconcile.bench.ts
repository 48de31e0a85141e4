import { randomUUID } from 'node:crypto';
import { brokerAdapterMigrations, type ExecutionReport } from '../broker-adapter/index.ts';
import { ledgerMigrations } from '../ledger/index.ts';
import { orderGatewayMigrations } from '../order-gateway/index.ts';
import { createPool, createThrowawayDatabase, migrate, silentLogger, type Pool } from '../platform/index.ts';
import { reconcilerMigrations } from './index.ts';
import * as repo from './runs/reconciliation.repository.ts';
import { OPEN_RESOLUTIONS } from './runs/reconciliation.rules.ts';

/*
 * A generated trading day of BENCH_EXECUTIONS executions (default 1,000,000; 4 per order), written
 * with generate_series straight into our order and fill tables and into the reconciler's staging
 * table as the broker's statement, with a few breaks of each kind sown in. Measured in the same run:
 *   - the reconciler's comparison (the SQL it runs for a day: missing, unknown, mismatched executions
 *     and orders, plus the timeline), as executions reconciled per second;
 *   - the bare join of the two execution sets (count(*) of an inner join on execId): the floor;
 *   - staging ingest: BENCH_INGEST reports (default 200,000) staged from memory in the reconciler's
 *     chunks, as a run does with the broker's statement.
 */

const EXECUTIONS = Number(process.env.BENCH_EXECUTIONS ?? 1_000_000);
const INGEST = Number(process.env.BENCH_INGEST ?? 200_000);
const FILLS_PER_ORDER = 4;
const DATE = '2026-11-24';

export async function runReconcileBenchmark(): Promise<void> {
  // A database of its own, dropped at the end, so a DATABASE_URL's data is never touched.
  const database = await createThrowawayDatabase({ prefix: 'reconcile_bench', serverUrl: process.env.DATABASE_URL });
  const url = database.url;
  const pool = createPool(url, { max: 4, name: 'reconcile-bench' });
  try {
    await migrate(
      url,
      [ledgerMigrations, brokerAdapterMigrations, orderGatewayMigrations, reconcilerMigrations],
      silentLogger,
    );
    const runId = randomUUID();
    await repo.insertRun(pool, runId, DATE, false);
    const generated = await timed(() => generateDay(pool, runId));
    await pool.query('ANALYZE');

    const bareJoin = await timed(async () => {
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM reconciliation_staged_executions s JOIN order_gateway_fills f ON f.exec_id = s.exec_id WHERE s.run_id = $1`,
        [runId],
      );
      return Number(rows[0]!.n);
    });
    const compared = await timed(async () => {
      await repo.compareStaged(pool, runId, DATE, 1, OPEN_RESOLUTIONS);
      return repo.countBreaks(pool, runId);
    });
    const ingest = await timed(() => ingestReports(pool, INGEST));
    await repo.clearStaging(pool, runId);

    const perSecond = (n: number, ms: number) => Math.round((n / ms) * 1000).toLocaleString('en-US');
    process.stdout.write(
      `reconcile: ${EXECUTIONS.toLocaleString('en-US')} executions (${(EXECUTIONS / FILLS_PER_ORDER).toLocaleString('en-US')} orders), ` +
        `generated in ${(generated.ms / 1000).toFixed(1)} s; ` +
        `reconciled in ${(compared.ms / 1000).toFixed(2)} s = ${perSecond(EXECUTIONS, compared.ms)} executions/s, ` +
        `${compared.value.found} breaks found; bare join of the two sets ${(bareJoin.ms / 1000).toFixed(2)} s ` +
        `(${bareJoin.value.toLocaleString('en-US')} matched, ${(compared.ms / bareJoin.ms).toFixed(1)}× the bare join); ` +
        `statement staging ${perSecond(INGEST, ingest.ms)} reports/s (${INGEST.toLocaleString('en-US')} reports)\n`,
    );
  } finally {
    await pool.end();
    await database.drop();
  }
}

/**
 * Orders o1..oN of 4 fills each over the regular session, the same on both sides except: every
 * 1000th execution is missing here, every 1000th (offset 500) has another price here, and 100
 * phantom fills exist only here; orders of a missing fill differ in filled quantity accordingly.
 */
async function generateDay(pool: Pool, runId: string): Promise<void> {
  const orders = Math.ceil(EXECUTIONS / FILLS_PER_ORDER);
  const accountId = randomUUID();
  await pool.query(`INSERT INTO gateway_accounts (id, name) VALUES ($1, 'bench')`, [accountId]);
  const open = `'${DATE} 09:30'::timestamp AT TIME ZONE 'America/New_York'`;
  await pool.query(
    `INSERT INTO orders (id, account_id, client_order_id, request_hash, symbol, side, type, quantity, worst_price,
                         time_in_force, extended_hours, status, filled_quantity, broker_order_id, machine_version, snapshot,
                         created_at, updated_at)
     SELECT md5('o' || i)::uuid, $1, 'c' || i, 'h', (ARRAY['AAPL','MSFT','NVDA','TSLA','AMZN','GOOGL','META'])[1 + i % 7],
            CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END, 'market', ${FILLS_PER_ORDER}, 200, 'day', false, 'filled',
            ${FILLS_PER_ORDER}, 'b' || i, 'order@1', '{}', ${open} + (i * interval '23400 seconds' / $2),
            ${open} + (i * interval '23400 seconds' / $2)
     FROM generate_series(1, $2) i`,
    [accountId, orders],
  );
  // Execution e of order (e - 1) / 4 + 1, one share each, at 100 + (e % 5000) / 100.
  const execution = `
    SELECT e, (e - 1) / ${FILLS_PER_ORDER} + 1 AS o, 100 + (e % 5000) / 100.0 AS price,
           ${open} + (e * interval '23400 seconds' / ${EXECUTIONS}) AS at
    FROM generate_series(1, ${EXECUTIONS}) e`;
  await pool.query(
    `INSERT INTO order_fills (exec_id, order_id, quantity, price, commission, executed_at)
     SELECT 'x' || e, md5('o' || o)::uuid, 1, CASE WHEN e % 1000 = 500 THEN price + 0.01 ELSE price END, 0.1, at
     FROM (${execution}) g WHERE e % 1000 <> 0
     UNION ALL
     SELECT 'phantom-' || p, md5('o1')::uuid, 1, 100, 0.1, ${open} + interval '1 hour' FROM generate_series(1, 100) p`,
  );
  await pool.query(
    `UPDATE orders SET filled_quantity = filled_quantity - 1 WHERE id IN (SELECT md5('o' || ((e - 1) / ${FILLS_PER_ORDER} + 1))::uuid FROM generate_series(1000, ${EXECUTIONS}, 1000) e)`,
  );
  await pool.query(
    `INSERT INTO reconciliation_staged_executions (run_id, exec_id, client_order_id, account, symbol, side, quantity, price, transact_time, report)
     SELECT $1, 'x' || e, md5('o' || o)::uuid::text, $2, (ARRAY['AAPL','MSFT','NVDA','TSLA','AMZN','GOOGL','META'])[1 + o % 7],
            CASE WHEN o % 2 = 0 THEN 'buy' ELSE 'sell' END, 1, price, at,
            jsonb_build_object('execId', 'x' || e, 'clientOrderId', md5('o' || o)::uuid::text, 'lastPrice', price::text)
     FROM (${execution}) g`,
    [runId, accountId],
  );
  await pool.query(
    `INSERT INTO reconciliation_staged_orders (run_id, client_order_id, broker_order_id, symbol, status, cumulative_quantity)
     SELECT $1, md5('o' || i)::uuid::text, 'b' || i, (ARRAY['AAPL','MSFT','NVDA','TSLA','AMZN','GOOGL','META'])[1 + i % 7], 'filled', ${FILLS_PER_ORDER}
     FROM generate_series(1, $2) i`,
    [runId, orders],
  );
}

/** Stages `count` reports built in memory, a chunk at a time, as a run stages the broker's statement. */
async function ingestReports(pool: Pool, count: number): Promise<number> {
  const runId = randomUUID();
  await repo.insertRun(pool, runId, DATE, false);
  const chunk = 5_000;
  for (let start = 0; start < count; start += chunk) {
    const reports: ExecutionReport[] = [];
    for (let i = start; i < Math.min(count, start + chunk); i++) {
      reports.push({
        execId: `ingest-${i}`,
        brokerOrderId: `b${i}`,
        clientOrderId: randomUUID(),
        account: 'a',
        symbol: 'AAPL',
        side: 'buy',
        execType: 'trade',
        orderStatus: 'filled',
        lastQuantity: '1',
        lastPrice: '187.25',
        cumulativeQuantity: '1',
        leavesQuantity: '0',
        averagePrice: '187.25',
        orderQuantity: '1',
        rejectReason: null,
        transactTime: new Date(Date.UTC(2026, 10, 24, 15) + i).toISOString(),
        sequence: i + 1,
      });
    }
    await repo.stageExecutions(pool, runId, 'primary', reports);
  }
  await repo.clearStaging(pool, runId);
  return count;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}
