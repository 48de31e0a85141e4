import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFillReceiverApp, ensureExecutionsTopic } from '../../broker-adapter/index.ts';
import { alwaysOpenClock, startBroker, type RunningBroker } from '../../broker-adapter/simulator/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import { KafkaBus, loadConfig, silentLogger } from '../../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { uniqueName } from '../support/names.ts';
import { Api, OPS_KEY } from '../support/system.ts';

const root = resolve(import.meta.dirname, '..', '..');

interface Process {
  child: ChildProcess;
  output: () => string;
}

/** Starts one of our components as its own OS process; resolves once it printed `ready`. */
function startProcess(
  script: string,
  env: Record<string, string>,
  ready: RegExp,
): Promise<Process & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, [resolve(root, script)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready:\n${output}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${output}`)));
    child.stdout.on('data', () => {
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveStart({ child, output: () => output, match });
      }
    });
  });
}

function kill(process: Process): Promise<void> {
  return new Promise((resolveKill) => {
    if (process.child.exitCode !== null || process.child.signalCode !== null) return resolveKill();
    process.child.once('exit', () => resolveKill());
    process.child.kill('SIGKILL');
  });
}

/**
 * The trading server and the request server run as their own processes on the shared PostgreSQL and
 * Kafka, and are killed with SIGKILL while orders and fills are flowing, then started again: no fill
 * is lost, none is applied twice, and no order reaches the broker twice.
 */
describe('crash: components killed mid-stream and restarted', () => {
  let db: TestDatabase;
  let bus: KafkaBus;
  let broker: RunningBroker;
  let fillReceiver: Awaited<ReturnType<typeof createFillReceiverApp>>;
  let env: Record<string, string>;
  const processes: Process[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const namespace = uniqueName('crash');
    const config = loadConfig({
      SIM_SEED: '11',
      BROKER_FAULTS: 'partial=0.5,duplicate=0.2',
      BROKER_LATENCY_MS: '0-2',
      KAFKA_PARTITIONS: '3',
    });
    bus = new KafkaBus({ brokers: kafkaBrokers(), clientId: 'crash-test', logger: silentLogger, namespace });
    await ensureExecutionsTopic(bus, 3);
    // The outside world and its doorway stay up; our two servers are the ones that crash.
    fillReceiver = createFillReceiverApp({
      bus,
      pool: db.pool,
      logger: silentLogger,
      secret: config.FILL_RECEIVER_SECRET,
    });
    const fillReceiverUrl = await fillReceiver.listen({ port: 0, host: '127.0.0.1' });
    broker = await startBroker({
      pool: db.pool,
      config,
      fillReceiverUrl,
      fillReceiverSecret: config.FILL_RECEIVER_SECRET,
      apiKey: config.BROKER_API_KEY,
      clock: alwaysOpenClock(),
      tickMs: 20,
      pushIntervalMs: 10,
    });
    env = {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_NAMESPACE: namespace,
      KAFKA_PARTITIONS: '3',
      BROKER_URL: broker.url,
      BROKER_API_KEY: config.BROKER_API_KEY,
      OPS_API_KEY: OPS_KEY,
      PORT: '0',
      RATE_LIMIT_PER_MINUTE: '1000000',
    };
  });

  afterAll(async () => {
    const t0 = Date.now();
    const step = async (name: string, work: () => Promise<unknown>) => {
      await work();
      process.stderr.write(`[crash] closed ${name} at ${Date.now() - t0} ms\n`);
    };
    await step('processes', () => Promise.all(processes.map(kill)));
    await step('broker', () => broker.close());
    await step('fill receiver', () => fillReceiver.close());
    await step('bus', () => bus.close());
    await step('db', () => db.drop());
  });

  it('loses no fill, applies none twice, and sends no order twice', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const stage = (name: string) => process.stderr.write(`[crash] ${name} at ${Date.now() - t0} ms\n`);
    const startTrading = async () => {
      const started = await startProcess('bin/trading-server.ts', env, /Trading server: (http:\/\/\S+)/);
      processes.push(started);
      return { process: started, api: new Api(started.match[1]!) };
    };
    const startRequests = async () => {
      const started = await startProcess('bin/request-server.ts', env, /Request server: sending/);
      processes.push(started);
      return started;
    };
    let trading = await startTrading();
    const requests = await startRequests();
    stage('started');

    const accounts = await Promise.all(Array.from({ length: 4 }, () => trading.api.openAccount('100000.00')));
    const placed: Array<{ id: string; key: string }> = [];
    const placeWave = async (api: Api, wave: number) => {
      for (const [i, account] of accounts.entries()) {
        for (let n = 0; n < 6; n++) {
          const response = await api.request<{ id: string }>('POST', '/v1/orders', account.key, {
            clientOrderId: `w${wave}-a${i}-${n}`,
            symbol: ['AAPL', 'MSFT', 'NVDA'][n % 3],
            side: 'buy',
            type: 'market',
            quantity: String(1 + (n % 3)),
          });
          expect(response.status).toBe(201);
          placed.push({ id: response.body.id, key: account.key });
        }
      }
    };

    await placeWave(trading.api, 1);
    stage('wave 1 placed');
    // Kill both at once, while the first wave is being sent and filled: its last orders were placed
    // a moment ago, and the fill path takes longer than that.
    await Promise.all([kill(trading.process), kill(requests)]);
    // The kill must have landed mid-stream, or this test would prove nothing.
    const { rows: inFlight } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM orders WHERE status <> 'filled'",
    );
    stage(`killed with ${inFlight[0]!.n} of ${placed.length} orders not yet filled`);
    expect(inFlight[0]!.n).toBeGreaterThan(0);
    // The broker keeps filling and pushing; the fill receiver keeps publishing to Kafka meanwhile.
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    trading = await startTrading();
    await startRequests();
    stage('restarted');
    await placeWave(trading.api, 2);
    stage('wave 2 placed');
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    await kill(trading.process);
    trading = await startTrading();

    stage('restarted trading server again');
    for (const order of placed) {
      const final = await trading.api.waitForOrder<{ status: string }>(
        order.key,
        order.id,
        (o) => o.status === 'filled',
        90_000,
      );
      expect(final.status).toBe('filled');
    }

    stage('all filled');
    const count = async (sql: string) => (await db.pool.query<{ n: number }>(sql)).rows[0]!.n;
    const brokerTrades = await count("SELECT count(*)::int AS n FROM broker_executions WHERE exec_type = 'trade'");
    expect(await count('SELECT count(*)::int AS n FROM order_fills')).toBe(brokerTrades);
    expect(await count('SELECT count(*)::int AS n FROM ledger_fills')).toBe(brokerTrades);
    expect(await count('SELECT count(*)::int AS n FROM broker_orders')).toBe(placed.length);
    expect(await count('SELECT count(*)::int AS n FROM orders')).toBe(placed.length);
    const { rows: mismatched } = await db.pool.query(`
      SELECT o.order_id FROM order_gateway_orders o JOIN broker_orders b ON b.client_order_id = o.order_id::text
      WHERE o.filled_quantity <> b.cumulative_quantity OR o.status <> b.status`);
    expect(mismatched).toEqual([]);
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });
});
