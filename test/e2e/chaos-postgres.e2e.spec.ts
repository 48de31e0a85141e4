import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alwaysOpenClock } from '../../broker-adapter/simulator/index.ts';
import { allMigrations, startSystem, type RunningSystem } from '../../bin/system.ts';
import {
  adminQuery,
  createPool,
  KafkaBus,
  loadConfig,
  migrate,
  silentLogger,
  startEmbeddedPostgres,
  type Pool,
  type RunningPostgres,
} from '../../platform/index.ts';
import { ChaosLoad, expectSettledAsTheBrokerSays, openAccounts } from '../support/chaos.ts';
import { kafkaBrokers, uniqueName } from '../support/kafka.ts';
import { OPS_KEY, startTestSystem } from '../support/system.ts';

const pause = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));
const stage = (name: string, t0: number) => process.stderr.write(`[chaos-postgres] ${name} at ${Date.now() - t0} ms\n`);

/**
 * PostgreSQL goes away under continuous load of the whole system (HTTP clients, outbox relay, request
 * server, broker, report pusher, fill receiver, execution consumer, all in this process on Kafka):
 * no process dies, HTTP answers 503 meanwhile and never another 5xx, every loop resumes by itself,
 * and afterwards nothing is lost or doubled.
 */
describe('chaos: PostgreSQL goes away and comes back', () => {
  it(
    'survives every backend of its database terminated, again and again, mid-transaction',
    { timeout: 150_000 },
    async () => {
      const t0 = Date.now();
      const t = await startTestSystem({ env: { BROKER_FAULTS: 'partial=0.3' } });
      const killer = t.db.newPool(1);
      try {
        const accounts = await openAccounts(t.system.url, 4);
        const load = new ChaosLoad(() => t.system.url, accounts, 'kill');
        load.start();
        await pause(2_000);
        stage('load running', t0);
        let terminated = 0;
        for (let round = 0; round < 8; round++) {
          const { rows } = await killer.query<{ n: number }>(
            `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          );
          terminated += rows[0]!.n;
          await pause(400);
        }
        stage(`terminated ${terminated} backends in 8 rounds`, t0);
        expect(terminated).toBeGreaterThan(8);
        const before = load.placed.size;
        await pause(3_000);
        await load.stop();
        // Work resumed by itself: orders were placed after the last termination.
        expect(load.placed.size).toBeGreaterThan(before);
        stage(`load stopped: ${load.placed.size} orders, answers ${JSON.stringify([...load.answers])}`, t0);
        await expectSettledAsTheBrokerSays({ pool: t.db.pool, url: t.system.url, load });
        stage('settled as the broker says', t0);
      } finally {
        await killer.end();
        await t.stop();
      }
    },
  );

  describe('stopped and started again (a PostgreSQL of its own)', () => {
    let postgres: RunningPostgres | undefined;
    let pool: Pool | undefined;
    let bus: KafkaBus | undefined;
    let system: RunningSystem | undefined;
    const dir = (mkdirSync(resolve('.cache'), { recursive: true }), mkdtempSync(join(resolve('.cache'), 'chaos-pg-')));

    afterAll(async () => {
      await system?.stop();
      await bus?.close();
      await pool?.end();
      await postgres?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers 503 while it is down, then resumes every loop by itself', { timeout: 180_000 }, async () => {
      const t0 = Date.now();
      postgres = await startEmbeddedPostgres({ dir, persistent: true, durable: false, logger: silentLogger });
      await adminQuery(postgres.url, 'CREATE DATABASE chaos');
      await migrate(postgres.urlFor('chaos'), allMigrations, silentLogger);
      pool = createPool(postgres.urlFor('chaos'), { name: 'chaos', max: 10 });
      bus = new KafkaBus({
        brokers: kafkaBrokers(),
        clientId: 'chaos-pg',
        logger: silentLogger,
        namespace: uniqueName('chaos'),
      });
      const config = loadConfig({
        OPS_API_KEY: OPS_KEY,
        SIM_SEED: '5',
        BROKER_LATENCY_MS: '0',
        BROKER_FAULTS: 'partial=0.3',
        KAFKA_PARTITIONS: '3',
      });
      system = await startSystem({
        config,
        logger: silentLogger,
        pool,
        bus,
        clock: alwaysOpenClock(),
        broker: { tickMs: 20, pushIntervalMs: 10 },
      });
      const url = system.url;
      stage('system started on its own PostgreSQL', t0);
      const accounts = await openAccounts(url, 4);
      const load = new ChaosLoad(() => url, accounts, 'stop');
      load.start();
      await pause(2_000);

      const down = Date.now();
      await postgres.stop();
      stage('PostgreSQL stopped', t0);
      await pause(8_000);
      await postgres.start();
      const up = Date.now();
      stage('PostgreSQL started again', t0);
      const placedAtRestart = load.placed.size;
      await pause(5_000);
      await load.stop();
      stage(`load stopped: ${load.placed.size} orders, answers ${JSON.stringify([...load.answers])}`, t0);
      stage(`unanswered: ${JSON.stringify([...load.unanswered])}`, t0);

      // /healthz said so while it was down, and says ok again.
      expect(load.healthBetween(down + 1_000, up)).toContain(503);
      expect(load.healthBetween(up + 4_000, Date.now()).at(-1)).toBe(200);
      expect(load.answers.get('503') ?? 0).toBeGreaterThan(0);
      expect(load.placed.size).toBeGreaterThan(placedAtRestart);
      await expectSettledAsTheBrokerSays({ pool, url, load });
      stage('settled as the broker says', t0);
    });
  });
});
