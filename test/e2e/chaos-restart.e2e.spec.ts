import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../platform/index.ts';
import { ChaosLoad, expectSettledAsTheBrokerSays, openAccounts } from '../support/chaos.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { kafkaBrokers, uniqueName } from '../support/kafka.ts';
import { OPS_KEY } from '../support/system.ts';

const startScript = resolve(import.meta.dirname, '..', '..', 'bin', 'start.ts');
const pause = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

/** `npm start` as its own process; resolves once it printed its URL. */
function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [startScript], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 90 s:\n${output}`)), 90_000);
    child.once('exit', (code) => reject(new Error(`exited early with ${code}:\n${output}`)));
    child.stdout.on('data', () => {
      const match = /Trading API: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveStart({ child, url: match[1]! });
      }
    });
  });
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolveKill) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveKill();
    child.once('exit', () => resolveKill());
    child.kill('SIGKILL');
  });
}

/**
 * The single `npm start` process (every component in one, on PostgreSQL and Kafka) killed with
 * SIGKILL under continuous load, then started again on the same data: what it had taken is neither
 * lost nor done twice. (`crash.e2e.spec.ts` kills the trading and request servers as separate
 * processes; this is the one-process deployment, simulated broker included.)
 */
describe('chaos: npm start killed with SIGKILL and started again on the same data', () => {
  let db: TestDatabase;
  let running: ChildProcess | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    if (running) await killHard(running);
    await db.drop();
  });

  it('loses and doubles nothing across the kill', { timeout: 240_000 }, async () => {
    const t0 = Date.now();
    const stage = (name: string) => process.stderr.write(`[chaos-restart] ${name} at ${Date.now() - t0} ms\n`);
    const port = await freePort();
    const env = {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_NAMESPACE: uniqueName('restart'),
      KAFKA_PARTITIONS: '3',
      OPS_API_KEY: OPS_KEY,
      PORT: String(port),
      BROKER_CLOCK: 'always-open',
      BROKER_LATENCY_MS: '0',
      BROKER_FAULTS: 'partial=0.3',
      SIM_SEED: '3',
    };
    let started = await start(env);
    running = started.child;
    const url = started.url;
    stage('started');
    const accounts = await openAccounts(url, 4);
    const load = new ChaosLoad(() => url, accounts, 'restart');
    load.start();
    await pause(3_000);

    await killHard(started.child);
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('filled', 'canceled', 'rejected', 'expired')",
    );
    stage(`killed with ${rows[0]!.n} of ${load.placed.size} orders open`);
    // Killed mid-stream, or this would prove nothing.
    expect(rows[0]!.n).toBeGreaterThan(0);
    const placedAtKill = load.placed.size;
    await pause(1_000);
    started = await start(env);
    running = started.child;
    expect(started.url).toBe(url);
    stage('started again');
    await pause(5_000);
    await load.stop();
    stage(`load stopped: ${load.placed.size} orders, answers ${JSON.stringify([...load.answers])}`);
    expect(load.placed.size).toBeGreaterThan(placedAtKill);
    await expectSettledAsTheBrokerSays({ pool: db.pool, url, load });
    stage('settled as the broker says');
  });
});
