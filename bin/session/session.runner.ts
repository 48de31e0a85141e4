import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BrokerUnavailableError, type InstrumentView } from '../../broker-adapter/index.ts';
import { manualClock, type RunningBroker } from '../../broker-adapter/simulator/index.ts';
import {
  brokerFaultsVariable,
  createPool,
  faultsOf,
  formatClockWindow,
  SIMULATED_BROKERS,
  createThrowawayDatabase,
  InProcessBus,
  KafkaBus,
  loadConfig,
  migrate,
  sleep,
  type Bus,
  type Logger,
  type Pool,
} from '../../platform/index.ts';
import { allMigrations, startSystem, type RunningSystem } from '../system.ts';
import { mergedStatements, type SessionBroker } from './session.brokers.ts';
import { SessionClients, type ActionOutcome } from './session.clients.ts';
import {
  checkAgainstStatements,
  checkCancels,
  checkLedger,
  checkNothingLeftWithoutReason,
  checkOrderInvariants,
  FinalStatusWatch,
  type Violation,
} from './session.invariants.ts';
import { planSession, seededIds, tradingDates, type PlannedStep } from './session.plan.ts';
import { ConsumedReports, createQuietWatcher } from './session.quiet.ts';
import { connectReconciler, type Reconcile, type ReconcilerDeps, type SessionBreak } from './session.reconcile.ts';
import { buildSummary, type SessionData, type SessionSummary } from './session.report.ts';
import {
  BY_STATUS,
  DAY_ORDERS_OPEN,
  EXECUTION_TO_LEDGER,
  FILL_COUNT,
  LATENCIES,
  REPORT_FILLS,
  BUSTS,
} from './session.runner.sql.ts';

export interface SessionOptions {
  seed: number;
  accounts: number;
  orders: number;
  /** As BROKER_FAULTS, e.g. `duplicate=0.1,drop_report=0.02`; already validated. */
  faults: string;
  /** One simulated broker's faults by name, as BROKER_FAULTS_<NAME> (else `faults`); already validated. */
  brokerFaults?: Record<string, string>;
  /** As BROKER_LATENCY_MS. */
  latency: string;
  /** The New York trading date the session plays. */
  tradingDate: string;
  /** Simulated minutes between clock steps. */
  stepMinutes: number;
  /** Consecutive trading days from `tradingDate` (default 1), the closed days between them played too. */
  days?: number;
  /** A PostgreSQL server on which a fresh database is created (and dropped after); else embedded PostgreSQL. */
  databaseUrl?: string;
  /** Kafka bootstrap servers; else the in-process bus. */
  kafkaBrokers?: string[];
  logger: Logger;
  /** How to reach the reconciler; the default is the real one (session.reconcile.ts). */
  reconciler?: (deps: ReconcilerDeps) => Reconcile;
  onProgress?: (progress: SessionProgress) => void;
  /** Stops the session between actions (Ctrl-C); the database and servers are still cleaned up. */
  signal?: AbortSignal;
}

export interface SessionProgress {
  phase: string;
  step: number;
  steps: number;
  orders: number;
  fills: number;
  breaksOpen: number | null;
}

export interface SessionResult {
  summary: SessionSummary;
  data: SessionData;
}

const DEPOSIT = '100000.00';
/** The trading server's market data is cached this long; a step waits it out before placing orders. */
const MARKET_DATA_TTL_MS = 300;
const MAX_SETTLE_TIMEOUTS = 3;

/** One whole simulated trading day on a fresh database: see README "Simulated session". */
export async function runSession(options: SessionOptions): Promise<SessionResult> {
  const { logger } = options;
  // A new, empty database for this run: on the given server, or on embedded PostgreSQL in a temp dir.
  const database = await createThrowawayDatabase({
    prefix: `session_${options.seed}`,
    serverUrl: options.databaseUrl,
    logger,
  });
  const cleanups: Array<() => Promise<unknown>> = [() => database.drop()];
  try {
    await migrate(database.url, allMigrations, logger);
    const pool = createPool(database.url, { name: 'session', max: 20 });
    cleanups.unshift(() => pool.end());
    const bus: Bus = options.kafkaBrokers?.length
      ? new KafkaBus({
          brokers: options.kafkaBrokers,
          clientId: 'session',
          logger,
          namespace: `session-${options.seed}-${randomBytes(4).toString('hex')}`,
        })
      : new InProcessBus(3);
    cleanups.unshift(() => bus.close());
    return await runDay(options, database.url, pool, bus, cleanups);
  } finally {
    for (const cleanup of cleanups) {
      await cleanup().catch((error: unknown) => logger.warn({ err: error }, 'session cleanup failed'));
    }
  }
}

async function runDay(
  options: SessionOptions,
  databaseUrl: string,
  pool: Pool,
  bus: Bus,
  cleanups: Array<() => Promise<unknown>>,
): Promise<SessionResult> {
  const { logger } = options;
  const opsKey = `ops_session_${randomBytes(16).toString('hex')}`;
  const config = loadConfig({
    OPS_API_KEY: opsKey,
    SIM_SEED: String(options.seed),
    BROKER_FAULTS: options.faults,
    ...Object.fromEntries(
      Object.entries(options.brokerFaults ?? {}).map(([name, spec]) => [brokerFaultsVariable(name), spec]),
    ),
    BROKER_LATENCY_MS: options.latency,
    KAFKA_PARTITIONS: '3',
    // The session's clients are the load itself: they must not be throttled, nor capped by a
    // limit that a long day of resting orders in few accounts could reach.
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_OPEN_ORDERS: '1000000',
    ...(process.env.COMMISSION_BPS ? { COMMISSION_BPS: process.env.COMMISSION_BPS } : {}),
    // The open-order check runs on wall-clock silence, which a seed does not decide: left to the
    // environment, else out of the way, so that a seed's breaks (repaired by reconciliation) stay the same.
    OPEN_ORDER_CHECK_SECONDS: process.env.OPEN_ORDER_CHECK_SECONDS || '3600',
  });
  const outageWindows = Object.fromEntries(
    SIMULATED_BROKERS.map((name) => [name, faultsOf(config, name).outageWindows]),
  );
  const steps = planSession({
    seed: options.seed,
    accounts: options.accounts,
    orders: options.orders,
    tradingDate: options.tradingDate,
    stepMinutes: options.stepMinutes,
    days: options.days ?? 1,
    // A step where each outage starts (orders placed while the broker is down) and where it ends.
    extraStepMinutes: Object.values(outageWindows)
      .flat()
      .flatMap((window) => [window.from, window.to]),
  });
  const clock = manualClock(steps[0]!.at);
  const reports = new ConsumedReports();
  const system: RunningSystem = await startSystem({
    config,
    logger,
    pool,
    bus,
    clock,
    broker: { autoRun: false, ackTimeoutDelayMs: 3_000 },
    newId: seededIds(options.seed),
    onReportApplied: (report) => reports.add(report.execId),
    databaseUrl,
  });
  cleanups.unshift(() => system.stop());
  // The system's simulated brokers, primary and secondary, in order of preference.
  const brokers: readonly SessionBroker[] = system.brokers;
  const down = (broker: RunningBroker) => broker.faults.isOutage(Date.now(), clock.now());
  const watcher = createQuietWatcher({
    pool,
    brokers: brokers.map((b) => b.broker),
    isDown: down,
    reports,
    logger,
    signal: options.signal,
  });
  const finals = new FinalStatusWatch();
  const clients = new SessionClients(system.url, opsKey);
  const data = emptyData(options);
  data.brokerFaults = Object.fromEntries(
    brokers.map((b) => [b.name, options.brokerFaults?.[b.name] ?? options.faults]),
  );
  data.outageWindows = Object.fromEntries(
    Object.entries(outageWindows).map(([name, windows]) => [name, windows.map(formatClockWindow)]),
  );
  for (const b of brokers) {
    data.outageSteps[b.name] = steps.filter((s) => b.broker.faults.inOutageWindow(s.at)).map((s) => s.index);
  }
  const progress = (phase: string, step: number, breaksOpen: number | null = null) =>
    options.onProgress?.({
      phase,
      step,
      steps: steps.length,
      orders: data.placed.length,
      fills: data.fillCount,
      breaksOpen,
    });

  const accounts = await clients.openAccounts(options.accounts, DEPOSIT);
  const dayStarted = Date.now();
  const stepOfOrder = new Map<string, number>();
  for (const step of steps) {
    options.signal?.throwIfAborted();
    clock.set(step.at);
    const setAt = Date.now();
    progress(step.session, step.index);
    const settledBefore = await watcher.waitQuiet(step.session);
    // A stepped clock jumps into an outage in no time; the system notices a dead broker in seconds
    // of wall time. The step's clients act once it has (bounded), as they would a few seconds in.
    for (const b of brokers.filter((b) => down(b.broker))) await seenDown(system.url, opsKey, b.name);
    const prices = await instrumentPrices(brokers.find((b) => !down(b.broker)) ?? brokers[0]!);
    for (const [symbol, price] of prices) data.prices.push({ at: step.at.toISOString(), symbol, price });
    await sleep(Math.max(0, setAt + MARKET_DATA_TTL_MS - Date.now()));

    for (const action of step.actions) {
      options.signal?.throwIfAborted();
      const outcome = await clients.perform(
        action,
        accounts[action.account]!,
        prices,
        (orderId) => (stepOfOrder.get(orderId) ?? step.index) < step.index,
      );
      record(data, outcome, step, stepOfOrder);
      if (outcome.kind === 'canceled' && outcome.status === 202)
        data.cancelsAccepted.push({ orderId: outcome.orderId, at: step.at });
    }
    const settledAfter = await watcher.waitQuiet(step.session);
    data.settleTimeouts += Number(settledBefore.timedOut) + Number(settledAfter.timedOut);
    // Once may be a slow machine; a system that keeps not settling is stuck, and the day would take hours.
    if (data.settleTimeouts >= MAX_SETTLE_TIMEOUTS) {
      throw new Error(
        `the system did not settle ${data.settleTimeouts} times; still busy: ${[...settledBefore.busy, ...settledAfter.busy].join(', ')}`,
      );
    }
    await finals.observe(pool);
    const seen = await systemBrokerStates(system.url, opsKey);
    if (seen && Object.keys(seen).length > 1) data.routes = true;
    data.brokerHealth.push({
      step: step.index,
      at: step.at.toISOString(),
      brokers: Object.fromEntries(brokers.map((b) => [b.name, { up: !down(b.broker), state: seen?.[b.name] ?? null }])),
    });
    data.fillCount = (await pool.query<{ n: number }>(FILL_COUNT)).rows[0]!.n;
    data.throughput.push({
      wallSeconds: (Date.now() - dayStarted) / 1000,
      simTime: step.at.toISOString(),
      orders: data.placed.length,
      fills: data.fillCount,
    });
    progress(step.session, step.index + 1);
  }
  data.dayWallSeconds = (Date.now() - dayStarted) / 1000;

  // After the close: repair what the reconciler finds, settle, then look again without repairing.
  const reconcile = (options.reconciler ?? connectReconciler)({
    pool,
    brokers: brokers.map((b) => ({ name: b.name, statements: b.client })),
    ledger: system.ledger,
    bus,
    logger,
  });
  const dates = data.tradingDates;
  progress('reconcile', steps.length);
  // Every day repaired first, then every day checked: a repair of one day may settle an order of another.
  for (const date of dates) data.breaksFound.push(...(await reconcile(date, true)).breaks);
  await watcher.waitQuiet('closed');
  for (const date of dates) data.breaksOpen.push(...(await reconcile(date, false)).breaks);
  progress('invariants', steps.length, data.breaksOpen.length);

  await finals.observe(pool);
  const violations: Violation[] = [
    ...finals.violations,
    ...(await checkOrderInvariants(pool)),
    ...(await checkLedger(pool)),
    ...(await retryingUnavailable(() => checkAgainstStatements(pool, mergedStatements(brokers), dates))),
    ...(await dayOrdersOpen(pool)),
    ...(await checkCancels(pool, data.cancelsAccepted)),
    ...(await checkNothingLeftWithoutReason(pool)),
    ...data.clientViolations,
  ];
  data.violations = violations;
  data.byStatus = Object.fromEntries(
    (await pool.query<{ status: string; n: number }>(BY_STATUS)).rows.map((row) => [row.status, row.n]),
  );
  data.fillCount = (await pool.query<{ n: number }>(FILL_COUNT)).rows[0]!.n;
  data.fills = (await pool.query<SessionData['fills'][number]>(REPORT_FILLS)).rows;
  data.busts = (await pool.query<SessionData['busts'][number]>(BUSTS)).rows;
  const latencies = (await pool.query<{ id: string; ack_ms: number | null; fill_ms: number | null }>(LATENCIES)).rows;
  for (const row of latencies) {
    if (!data.sentAtOnce.has(row.id)) continue;
    if (row.ack_ms !== null) data.ackLatencyMs.push(row.ack_ms);
    if (row.fill_ms !== null) data.firstFillLatencyMs.push(row.fill_ms);
  }
  data.executionToLedgerMs = (await pool.query<{ ms: number }>(EXECUTION_TO_LEDGER)).rows.map((row) => row.ms);
  data.recoveredByOpenOrderCheck = await recoveredByOpenOrderCheck(system.url);
  await servedByBroker(data, brokers, dates);
  data.violations.push(...failoverViolations(data));
  progress('done', steps.length, data.breaksOpen.length);
  return { summary: buildSummary(data), data };
}

function emptyData(options: SessionOptions): SessionData {
  return {
    seed: options.seed,
    tradingDate: options.tradingDate,
    tradingDates: tradingDates(options.tradingDate, options.days ?? 1),
    accounts: options.accounts,
    faults: options.faults,
    brokerFaults: {},
    bus: options.kafkaBrokers?.length ? 'kafka' : 'in-process',
    servedBy: {},
    brokerFills: {},
    brokerHealth: [],
    outageWindows: {},
    outageSteps: {},
    routes: false,
    placed: [],
    refused: [],
    failed: [],
    skipped: 0,
    cancels: { requested: 0, refused: 0 },
    cancelsAccepted: [],
    sentAtOnce: new Set(),
    prices: [],
    fills: [],
    fillCount: 0,
    byStatus: {},
    throughput: [],
    ackLatencyMs: [],
    firstFillLatencyMs: [],
    executionToLedgerMs: [],
    recoveredByOpenOrderCheck: null,
    breaksFound: [] as SessionBreak[],
    breaksOpen: [] as SessionBreak[],
    violations: [],
    clientViolations: [],
    settleTimeouts: 0,
    dayWallSeconds: 0,
    busts: [],
  };
}

function record(data: SessionData, outcome: ActionOutcome, step: PlannedStep, stepOfOrder: Map<string, number>): void {
  switch (outcome.kind) {
    case 'placed': {
      const { order } = outcome;
      data.placed.push({ id: order.id, label: outcome.label, step: step.index });
      stepOfOrder.set(order.id, step.index);
      const tradable =
        step.session === 'regular' || ((step.session === 'pre' || step.session === 'post') && order.extendedHours);
      if (tradable) data.sentAtOnce.add(order.id);
      if (outcome.label.startsWith('refused')) {
        data.clientViolations.push({
          check: 'refusal',
          message: `an order that must be refused was accepted: ${outcome.label} ${JSON.stringify(outcome.body)}`,
        });
      }
      return;
    }
    case 'refused':
      data.refused.push({ code: outcome.code, label: outcome.label });
      if (outcome.expected !== null && outcome.expected !== outcome.code) {
        data.clientViolations.push({ check: 'refusal', message: `${outcome.label} was refused with ${outcome.code}` });
      }
      return;
    case 'canceled':
      data.cancels.requested++;
      if (outcome.status !== 202) data.cancels.refused++;
      if (outcome.status >= 500)
        data.clientViolations.push({
          check: 'no-5xx',
          message: `cancel of ${outcome.orderId} answered ${outcome.status}`,
        });
      return;
    case 'skipped':
      data.skipped++;
      return;
    case 'failed':
      data.failed.push({ status: outcome.status, detail: outcome.detail, label: outcome.label });
      if (outcome.status >= 500)
        data.clientViolations.push({
          check: 'no-5xx',
          message: `${outcome.label} answered ${outcome.status}: ${outcome.detail}`,
        });
  }
}

async function dayOrdersOpen(pool: Pool): Promise<Violation[]> {
  const { rows } = await pool.query<{ id: string; status: string }>(DAY_ORDERS_OPEN);
  return rows.map((row) => ({
    check: 'day-orders-expire',
    message: `day order ${row.id} is still ${row.status} after the close`,
  }));
}

/**
 * The open-order check's count of executions it republished, read from the trading server's /metrics
 * (every sample of a counter named like `*open_order_check*recovered*`); null when there is none.
 */
async function recoveredByOpenOrderCheck(url: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = text
    .split('\n')
    .filter((line) => !line.startsWith('#') && /^[a-z_]*open_order_check[a-z_]*recovered[a-z_]*(\{|\s)/.test(line))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  return samples.length === 0 ? null : samples.reduce((total, n) => total + n, 0);
}

/** Which broker serves each order (its statements list it), and each broker's trades, over the dates played. */
async function servedByBroker(data: SessionData, brokers: readonly SessionBroker[], dates: readonly string[]) {
  for (const b of brokers) {
    let fills = 0;
    for (const date of dates) {
      const { orders } = await retryingUnavailable(() => b.client.getStatement('orders', date));
      for (const order of orders) data.servedBy[order.clientOrderId] ??= b.name;
      const { executions } = await retryingUnavailable(() => b.client.getStatement('executions', date));
      fills += executions.filter((e) => e.execType === 'trade').length;
    }
    data.brokerFills[b.name] = fills;
  }
}

/** An order placed while a broker was down must be served by another, once the system routes between them. */
function failoverViolations(data: SessionData): Violation[] {
  if (!data.routes) return [];
  const violations: Violation[] = [];
  for (const [broker, steps] of Object.entries(data.outageSteps)) {
    const during = new Set(steps);
    for (const placed of data.placed) {
      if (during.has(placed.step) && data.servedBy[placed.id] === broker) {
        violations.push({
          check: 'outage-failover',
          message: `order ${placed.id} (${placed.label}) was placed while ${broker} was down and is at ${broker}`,
        });
      }
    }
  }
  return violations;
}

/** Waits (at most `timeoutMs`) until the system sees `broker` down; at once when it does not say. */
async function seenDown(url: string, opsKey: string, broker: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await systemBrokerStates(url, opsKey);
    if (!states || states[broker] === undefined || states[broker] === 'down' || Date.now() > deadline) return;
    await sleep(100);
  }
}

/** Each broker's state as the system sees it (GET /v1/ops/brokers); null when the system does not expose it. */
async function systemBrokerStates(url: string, opsKey: string): Promise<Record<string, string> | null> {
  const response = await fetch(`${url}/v1/ops/brokers`, { headers: { authorization: `Bearer ${opsKey}` } });
  if (!response.ok) {
    await response.body?.cancel();
    return null;
  }
  const parsed = BrokerStates.safeParse(await response.json());
  if (!parsed.success) return null;
  const list = Array.isArray(parsed.data) ? parsed.data : parsed.data.brokers;
  return Object.fromEntries(list.map((b) => [b.id, b.state]));
}

const BrokerState = z.object({ id: z.string(), state: z.string() });
/** GET /v1/ops/brokers: a list, or one under `brokers`. */
const BrokerStates = z.union([z.array(BrokerState), z.object({ brokers: z.array(BrokerState) })]);

/** Last prices straight from a broker that is up: the trading server's cache may still hold the last step's. */
async function instrumentPrices(broker: SessionBroker): Promise<Map<string, string>> {
  const instruments: InstrumentView[] = await retryingUnavailable(() => broker.client.getInstruments());
  return new Map(instruments.map((instrument) => [instrument.symbol, instrument.lastPrice]));
}

/** The broker's `outage` fault answers 503 for a while: a session reading statements waits it out. */
async function retryingUnavailable<T>(work: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof BrokerUnavailableError) || attempt >= attempts) throw error;
      await sleep(200);
    }
  }
}
