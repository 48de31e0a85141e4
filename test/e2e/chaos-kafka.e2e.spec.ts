import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alwaysOpenClock } from '../../broker-adapter/simulator/index.ts';
import { startSystem, type RunningSystem } from '../../bin/system.ts';
import { KafkaBus, loadConfig, silentLogger, startLocalKafka, type RestartableKafka } from '../../platform/index.ts';
import { ChaosLoad, expectSettledAsTheBrokerSays, openAccounts } from '../support/chaos.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { uniqueName } from '../support/kafka.ts';
import { OPS_KEY } from '../support/system.ts';

const pause = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

/**
 * Kafka's only broker stopped for 20 s under continuous load, then started again on the same ports
 * and data (a Kafka of this file's own, so that other files are not hurt): orders are still taken
 * (the outbox keeps them), the fill receiver answers 503 and the broker's pusher retries, producers
 * and consumers pause and resume, and afterwards nothing is lost or doubled.
 */
describe('chaos: Kafka goes away for 20 s and comes back', () => {
  let kafka: RestartableKafka;
  let db: TestDatabase;
  let bus: KafkaBus;
  let system: RunningSystem;
  const t0 = Date.now();
  const stage = (name: string) => process.stderr.write(`[chaos-kafka] ${name} at ${Date.now() - t0} ms\n`);

  beforeAll(async () => {
    [kafka, db] = await Promise.all([startLocalKafka(silentLogger), createTestDatabase()]);
    bus = new KafkaBus({
      brokers: kafka.brokers,
      clientId: 'chaos-kafka',
      logger: silentLogger,
      namespace: uniqueName('chaos'),
    });
    system = await startSystem({
      config: loadConfig({
        OPS_API_KEY: OPS_KEY,
        SIM_SEED: '9',
        BROKER_LATENCY_MS: '0',
        BROKER_FAULTS: 'partial=0.3',
        KAFKA_PARTITIONS: '3',
      }),
      logger: silentLogger,
      pool: db.pool,
      bus,
      clock: alwaysOpenClock(),
      broker: { tickMs: 20, pushIntervalMs: 10 },
    });
    stage('system started on a Kafka of its own');
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await bus?.close();
    await kafka?.stop();
    await db?.drop();
  });

  it('pauses and resumes every producer and consumer, and loses or doubles nothing', { timeout: 240_000 }, async () => {
    const url = system.url;
    const accounts = await openAccounts(url, 4);
    const load = new ChaosLoad(() => url, accounts, 'kafka');
    load.start();
    await pause(2_000);

    stage('Kafka stopping');
    await kafka.stopBroker();
    const down = Date.now();
    stage('Kafka stopped');
    const placedAtStop = load.placed.size;
    await pause(20_000);
    // Placement does not need Kafka: the outbox holds the requests until it is back.
    expect(load.placed.size).toBeGreaterThan(placedAtStop);
    stage('Kafka starting');
    await kafka.startBroker();
    const up = Date.now();
    stage('Kafka started again');
    await pause(8_000);
    await load.stop();
    stage(`load stopped: ${load.placed.size} orders, answers ${JSON.stringify([...load.answers])}`);

    expect(load.healthBetween(down + 3_000, up)).toContain(503);
    const { rows: refusals } = await db.pool.query<{ last_error: string; n: number }>(
      'SELECT last_error, count(*)::int AS n FROM broker_deliveries WHERE last_error IS NOT NULL GROUP BY last_error',
    );
    stage(`report pushes refused meanwhile: ${JSON.stringify(refusals)}`);
    expect(refusals.map((row) => row.last_error)).toContain('HTTP 503');
    await expectSettledAsTheBrokerSays({ pool: db.pool, url, load, timeoutMs: 120_000 });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    stage('settled as the broker says');
  });
});
