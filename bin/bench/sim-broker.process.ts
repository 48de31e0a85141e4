import { alwaysOpenClock, startBroker } from '../../broker-adapter/simulator/index.ts';
import { createPool, loadConfigOrExit, runProcess, silentLogger } from '../../platform/index.ts';

/*
 * The simulated broker as the e2e benchmark runs it: its own process (the broker is someone else's
 * machine in production, so its CPU is not the system's), always open, matching every 20 ms and
 * pushing reports every 10 ms as the in-process benchmark did. `node sim-broker.process.ts <port>
 * <fill receiver url>`; the rest comes from the configuration the benchmark hands every process.
 */
const [portArg, fillReceiverUrl] = process.argv.slice(2);
const config = loadConfigOrExit();
await runProcess(async (lifecycle) => {
  const pool = createPool(config.DATABASE_URL!, { name: 'sim-broker', max: 10 });
  lifecycle.onStop(() => pool.end());
  const broker = await startBroker({
    pool,
    config,
    clock: alwaysOpenClock(),
    logger: silentLogger,
    port: Number(portArg),
    host: '127.0.0.1',
    fillReceiverUrl: fillReceiverUrl!,
    fillReceiverSecret: config.FILL_RECEIVER_SECRET,
    apiKey: config.BROKER_API_KEY,
    tickMs: 20,
    pushIntervalMs: 10,
  });
  lifecycle.onStop(() => broker.close());
  process.stdout.write(`Simulated broker: ${broker.url}\n`);
});
