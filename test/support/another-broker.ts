import { BrokerClient } from '../../broker-adapter/index.ts';
import { alwaysOpenClock, startBroker, type RunningBroker } from '../../broker-adapter/simulator/index.ts';
import { faultSpec, simulatedBrokerSeed } from '../../platform/index.ts';
import { createTestDatabase } from './database.ts';
import type { TestSystem } from './system.ts';

/**
 * One more simulated broker beside a test system's: its own books (its own database, as a broker
 * elsewhere keeps), its own seed, pushing to the system's fill receiver with the system's secrets.
 * `faults` is its BROKER_FAULTS; its probabilities stay mutable through `broker.faults.settings`.
 */
export async function startAnotherBroker(
  t: TestSystem,
  options: { faults?: string; index?: number } = {},
): Promise<{ broker: RunningBroker; client: BrokerClient; stop(): Promise<void> }> {
  const db = await createTestDatabase();
  const broker = await startBroker({
    pool: db.pool,
    config: {
      BROKER_FAULTS: faultSpec.parse(options.faults ?? ''),
      BROKER_LATENCY_MS: { min: 0, max: 0 },
      SIM_SEED: simulatedBrokerSeed(t.config.SIM_SEED, options.index ?? 1),
    },
    clock: alwaysOpenClock(),
    fillReceiverUrl: t.system.fillReceiverUrl,
    fillReceiverSecret: t.config.FILL_RECEIVER_SECRET,
    apiKey: t.config.BROKER_API_KEY,
    tickMs: 20,
    pushIntervalMs: 10,
  });
  return {
    broker,
    client: new BrokerClient({ baseUrl: broker.url, apiKey: t.config.BROKER_API_KEY, timeoutMs: 10_000 }),
    stop: async () => {
      await broker.close();
      await db.drop();
    },
  };
}
