import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  createPool,
  createThrowawayDatabase,
  migrate,
  provisionKafka,
  silentLogger,
  type Pool,
  type RunningKafka,
} from '../../platform/index.ts';
import { allMigrations } from '../system.ts';
import {
  COUNT_ORDERS,
  FILLS_IN_WINDOW,
  HISTORY_ACCOUNTS,
  HISTORY_BROKER_ORDERS,
  HISTORY_FILLS,
  HISTORY_LEDGER,
  HISTORY_ORDERS,
  HISTORY_SUBMISSIONS,
  PHASE_STAGES,
  UNFILLED_OF_PHASE,
} from './bench.sql.ts';
import { bareInsertCeiling, emptyRouteCeiling, kafkaRoundTripCeiling } from './ceilings.ts';
import { connectEventClients } from './event-clients.ts';
import { closedLoop, percentiles, postJson, round, sampleMemory, type Percentiles } from './measure.ts';
import { infrastructureCpu, PROCESS_NAMES, startProcesses, type RunningProcesses } from './processes.ts';
import type { ProcessStats } from './query-counter.ts';
import { printReport, STAGES, type E2eReport, type PhaseCost, type PhaseResult, type Stage } from './report.ts';

/*
 * The whole system as separate processes (processes.ts: simulated broker at zero latency, fill
 * receiver, request server, trading server) on its own PostgreSQL and Kafka. BENCH_CLIENTS clients
 * place market orders over HTTP, each as soon as its last one was answered, for BENCH_SECONDS; then
 * the run waits for every order to be filled. The same is done once per history size in
 * BENCH_HISTORY (orders already in the database, generated with generate_series) and client count in
 * BENCH_CLIENTS, and the ceilings are measured alongside (at the first client count).
 */

const CLIENT_COUNTS = (process.env.BENCH_CLIENTS ?? '8').split(',').map(Number);
const CLIENTS = CLIENT_COUNTS[0]!;
// Server-Sent Events clients following the phase's accounts while it runs (issue 15 asks for 1000).
const SSE_CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 0);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CEILING_SECONDS = Number(process.env.BENCH_CEILING_SECONDS ?? 8);
const HISTORY = (process.env.BENCH_HISTORY ?? '10000,1000000').split(',').map(Number);
const HISTORY_CHUNK = 100_000;
const HISTORY_ACCOUNT_COUNT = 1_000;
const DRAIN_TIMEOUT_MS = 120_000;
const OPS_KEY = `ops_bench_${randomUUID().replaceAll('-', '')}`;
const RESULTS = process.env.BENCH_RESULTS ?? join('bench-results', 'latest.json');

export async function runE2eBenchmark(): Promise<void> {
  if (
    HISTORY.some((n) => !Number.isInteger(n) || n < 0) ||
    CLIENT_COUNTS.some((n) => !Number.isInteger(n) || n <= 0) ||
    !(SECONDS > 0) ||
    !Number.isInteger(SSE_CLIENTS) ||
    SSE_CLIENTS < 0
  ) {
    throw new Error(
      'BENCH_HISTORY and BENCH_CLIENTS must be comma-separated lists of whole numbers (clients positive); BENCH_SECONDS positive; BENCH_SSE_CLIENTS a whole number',
    );
  }
  const loadBefore = loadavg();
  let kafka: RunningKafka | undefined;
  let pool: Pool | undefined;
  let system: RunningProcesses | undefined;
  // A database of its own, dropped at the end: a DATABASE_URL's data is never touched.
  const database = await createThrowawayDatabase({ prefix: 'e2e_bench', serverUrl: process.env.DATABASE_URL });
  const url = database.url;
  try {
    kafka = await provisionKafka({
      logger: silentLogger,
      brokersFromEnv: process.env.KAFKA_BROKERS?.split(',').filter(Boolean),
    });
    await migrate(url, allMigrations, silentLogger);
    pool = createPool(url, { name: 'e2e-bench', max: 20 });
    const namespace = `bench-${randomUUID().slice(0, 8)}`;
    system = await startProcesses({ databaseUrl: url, kafkaBrokers: kafka.brokers, namespace, opsKey: OPS_KEY });
    const infrastructure = await infrastructureCpu(pool, kafka.brokers);

    const phases: PhaseResult[] = [];
    let index = 0;
    for (const size of HISTORY) {
      await growHistory(pool, size);
      for (const clients of CLIENT_COUNTS)
        phases.push(await runPhase(system, pool, infrastructure, index++, size, clients));
    }

    const ceilingPool = createPool(url, { name: 'e2e-bench-ceiling', max: CLIENTS });
    const orderBody = orderRequest('ceiling-0');
    let bareInsert, emptyRoute, kafkaRoundTrip;
    try {
      bareInsert = await bareInsertCeiling(ceilingPool, CLIENTS, CEILING_SECONDS);
      emptyRoute = await emptyRouteCeiling(CLIENTS, CEILING_SECONDS, orderBody);
      kafkaRoundTrip = await kafkaRoundTripCeiling(
        kafka.brokers,
        `${namespace}.bench-round-trip`,
        CLIENTS,
        CEILING_SECONDS,
      );
    } finally {
      await ceilingPool.end();
    }

    const report: E2eReport = {
      at: new Date().toISOString(),
      machine: {
        cpus: navigatorCpus(),
        loadAverageBefore: loadBefore.map((l) => round(l)),
        loadAverageAfter: loadavg().map((l) => round(l)),
      },
      setup: {
        postgres: process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL (fsync off)',
        kafka: kafka.source,
        clients: CLIENTS,
        secondsPerPhase: SECONDS,
        ceilingSeconds: CEILING_SECONDS,
        brokerLatencyMs: 0,
        sseClients: SSE_CLIENTS,
      },
      phases,
      ceilings: {
        bareInsert: { rate: round(bareInsert.rate), latencyMs: bareInsert.latencyMs },
        emptyRoute: { rate: round(emptyRoute.rate), latencyMs: emptyRoute.latencyMs },
        kafkaRoundTrip,
      },
    };
    printReport(report);
    mkdirSync(join(RESULTS, '..'), { recursive: true });
    writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`e2e: results written to ${RESULTS}\n`);
  } finally {
    await system?.stop().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await kafka?.stop().catch(() => undefined);
    await database.drop();
  }
}

/** Adds generated finished orders until the database holds `size` of them (orders of earlier phases count). */
async function growHistory(pool: Pool, size: number): Promise<void> {
  await pool.query(HISTORY_ACCOUNTS, [HISTORY_ACCOUNT_COUNT]);
  const { rows } = await pool.query<{ n: string }>(COUNT_ORDERS);
  const have = Number(rows[0]!.n);
  const started = performance.now();
  // Numbers continue from `have`: ids stay unique across phases.
  for (let from = have; from < size; from += HISTORY_CHUNK) {
    const to = Math.min(size, from + HISTORY_CHUNK) - 1;
    for (const statement of [
      HISTORY_ORDERS,
      HISTORY_FILLS,
      HISTORY_SUBMISSIONS,
      HISTORY_BROKER_ORDERS,
      HISTORY_LEDGER,
    ]) {
      await pool.query(statement, statement.includes('$3') ? [from, to, HISTORY_ACCOUNT_COUNT] : [from, to]);
    }
  }
  await pool.query('VACUUM ANALYZE');
  if (size > have)
    process.stdout.write(`e2e: history grown to ${size} orders in ${round((performance.now() - started) / 1000)} s\n`);
}

function orderRequest(clientOrderId: string) {
  return { clientOrderId, symbol: 'AAPL', side: 'buy', type: 'market', quantity: '1', timeInForce: 'day' };
}

async function runPhase(
  system: RunningProcesses,
  pool: Pool,
  infrastructure: Awaited<ReturnType<typeof infrastructureCpu>>,
  index: number,
  historySize: number,
  clientCount: number,
): Promise<PhaseResult> {
  // Fresh accounts per phase, one per client, each with far more cash than it can spend.
  const clients = await Promise.all(
    Array.from({ length: clientCount }, async () => {
      const created = await postJson(
        `${system.url}/v1/ops/accounts`,
        { name: 'bench' },
        { authorization: `Bearer ${OPS_KEY}` },
      );
      const { accountId, apiKey } = created.body as { accountId: string; apiKey: string };
      await postJson(
        `${system.url}/v1/ops/accounts/${accountId}/deposits`,
        { amount: '1000000000.00', currency: 'USD' },
        {
          authorization: `Bearer ${OPS_KEY}`,
        },
      );
      return { accountId, key: apiKey, next: 0 };
    }),
  );
  const prefix = `p${index}-`;
  const sentAt = new Map<string, number>();
  const streams =
    SSE_CLIENTS > 0
      ? await connectEventClients(
          system.url,
          clients.map((c) => c.key),
          SSE_CLIENTS,
        )
      : null;
  const memory = sampleMemory();
  const costBefore = await costSnapshot(system, infrastructure);
  let accepted = 0;
  const load = await closedLoop(clientCount, SECONDS, async (worker, timed) => {
    const client = clients[worker]!;
    const clientOrderId = `${timed ? prefix : `w${index}-`}${worker}-${client.next++}`;
    const at = Date.now();
    const answer = await postJson(`${system.url}/v1/orders`, orderRequest(clientOrderId), {
      authorization: `Bearer ${client.key}`,
    });
    if (answer.status !== 201) return false;
    accepted++;
    if (timed) sentAt.set(clientOrderId, at);
    return true;
  });
  const accountIds = clients.map((c) => c.accountId);
  const drainStarted = Date.now();
  let unfilled = Infinity;
  while (Date.now() - drainStarted < DRAIN_TIMEOUT_MS) {
    unfilled = (await pool.query<{ n: number }>(UNFILLED_OF_PHASE, [accountIds, `${prefix}%`])).rows[0]!.n;
    if (unfilled === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const drainMs = Date.now() - drainStarted;
  const cost = phaseCost(costBefore, await costSnapshot(system, infrastructure), accepted);
  const peak = memory.stop();
  // The last events of the drain may still be on their way: a moment for them before counting.
  if (streams) await new Promise((resolve) => setTimeout(resolve, 1_000));
  const events = streams?.stop() ?? null;

  const { rows } = await pool.query<{ client_order_id: string } & Record<Stage, number | null>>(PHASE_STAGES, [
    accountIds,
    `${prefix}%`,
  ]);
  let lastFilledAt = load.startedAt;
  const sinceSent = Object.fromEntries(STAGES.map((stage) => [stage, [] as number[]])) as Record<Stage, number[]>;
  for (const row of rows) {
    const sent = sentAt.get(row.client_order_id);
    if (sent === undefined) continue;
    for (const stage of STAGES) {
      const at = row[stage];
      if (at !== null) sinceSent[stage].push(at - sent);
    }
    if (row.filled !== null) lastFilledAt = Math.max(lastFilledAt, row.filled);
  }
  const window = await pool.query<{ filled: number; settled: number }>(FILLS_IN_WINDOW, [
    accountIds,
    load.startedAt,
    load.endedAt,
    accountIds,
  ]);
  const windowSeconds = (load.endedAt - load.startedAt) / 1000;
  return {
    historyOrders: historySize,
    clients: clientCount,
    placed: { count: load.completed, failed: load.failed, perSecond: round(load.rate) },
    filledPerSecond: round(window.rows[0]!.filled / windowSeconds),
    settledPerSecond: round(window.rows[0]!.settled / windowSeconds),
    // The timed orders filled, over the time from the first request to the last fill (placing and draining).
    filledThroughDrainPerSecond: round(
      sinceSent.filled.length / Math.max(0.001, (lastFilledAt - load.startedAt) / 1000),
    ),
    unfilledAfterDrain: unfilled,
    drainSeconds: round(drainMs / 1000),
    latencyMs: {
      httpAnswer: load.latencyMs,
      brokerAcknowledged: percentiles(sinceSent.acknowledged),
      filledInLedger: percentiles(sinceSent.filled),
    },
    stagesMs: Object.fromEntries(STAGES.map((stage) => [stage, percentiles(sinceSent[stage])])) as Record<
      Stage,
      Percentiles
    >,
    memory: peak,
    cost,
    ...(events ? { eventStreams: events } : {}),
  };
}

function navigatorCpus(): number {
  return globalThis.navigator?.hardwareConcurrency ?? 0;
}

interface CostSnapshot {
  at: number;
  processes: Record<string, ProcessStats>;
  benchCpuMs: number;
  postgresMs: number | null;
  kafkaMs: number | null;
}

async function costSnapshot(
  system: RunningProcesses,
  infrastructure: Awaited<ReturnType<typeof infrastructureCpu>>,
): Promise<CostSnapshot> {
  const cpu = process.cpuUsage();
  return {
    at: performance.now(),
    processes: await system.stats(),
    benchCpuMs: (cpu.user + cpu.system) / 1000,
    ...infrastructure(),
  };
}

/**
 * What the phase cost each process, from the first request (warm-up included) to the last fill: CPU
 * as a share of one core, and SQL round trips and the time spent waiting for them per order placed.
 */
function phaseCost(before: CostSnapshot, after: CostSnapshot, orders: number): PhaseCost {
  const wallMs = after.at - before.at;
  const share = (ms: number | null, was: number | null) =>
    ms === null || was === null ? null : round((ms - was) / wallMs);
  const perOrder = (n: number) => round(n / Math.max(1, orders));
  const processes = PROCESS_NAMES.map((name) => {
    const now = after.processes[name]!;
    const was = before.processes[name]!;
    const statements = Object.entries(now.queries).map(([statement, stats]) => {
      const earlier = was.queries[statement] ?? { count: 0, waitMs: 0 };
      return { statement, count: stats.count - earlier.count, waitMs: stats.waitMs - earlier.waitMs };
    });
    const trips = statements.reduce((sum, s) => sum + s.count, 0);
    const waitMs = statements.reduce((sum, s) => sum + s.waitMs, 0);
    return {
      name,
      cpuCores: share(now.cpuMs, was.cpuMs)!,
      sqlPerOrder: perOrder(trips),
      sqlWaitMsPerOrder: perOrder(waitMs),
      eventLoopDelayP99Ms: round(now.eventLoopDelayP99Ms),
      topStatements: statements
        .filter((s) => s.count > 0)
        .sort((a, b) => b.count - a.count)
        .slice(0, 14)
        .map((s) => ({ statement: s.statement, perOrder: perOrder(s.count), waitMsPerOrder: perOrder(s.waitMs) })),
    };
  });
  return {
    orders,
    seconds: round(wallMs / 1000),
    processes,
    benchClientsCpuCores: share(after.benchCpuMs, before.benchCpuMs)!,
    postgresCpuCores: share(after.postgresMs, before.postgresMs),
    kafkaCpuCores: share(after.kafkaMs, before.kafkaMs),
  };
}
