import {
  answerUsage,
  ConfigError,
  createLogger,
  createPool,
  loadConfigOrExit,
  migrate,
  runProcess,
} from '../platform/index.ts';
import { brokerAdapterMigrations } from '../broker-adapter/index.ts';
import { acceleratedClock, alwaysOpenClock, realClock, startBroker } from '../broker-adapter/simulator/index.ts';
import { loadProcessEnv } from './broker-process-env.ts';

/** The simulated broker as its own process: `node bin/broker.ts` (see README.md). */
answerUsage(`
Usage: node bin/broker.ts

The simulated US broker on its own, on HOST:BROKER_PORT (3200). It pushes execution reports to the
fill receiver at FILL_RECEIVER_URL (default http://127.0.0.1:3100), signed with FILL_RECEIVER_SECRET.
Needs DATABASE_URL, FILL_RECEIVER_SECRET and BROKER_API_KEY (its callers' bearer key). Clock:
BROKER_CLOCK (real, always-open, accelerated), BROKER_DAY_SECONDS, BROKER_TRADING_DATE; behaviour:
SIM_SEED, BROKER_FAULTS, BROKER_LATENCY_MS, COMMISSION_BPS.
`);
const config = loadConfigOrExit();
let env;
try {
  env = loadProcessEnv();
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL', 'is required to run the broker on its own');
  // Generated values would be known to this process alone: no caller could reach it, no push be taken.
  if (config.generated.brokerApiKey) {
    throw new ConfigError('BROKER_API_KEY', 'is required to run the broker on its own: the key its callers present');
  }
  if (config.generated.fillReceiverSecret) {
    throw new ConfigError(
      'FILL_RECEIVER_SECRET',
      'is required to run the broker on its own: the key it signs pushes with',
    );
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
// Read once here: a closure would not see the checks above narrow them.
const databaseUrl = config.DATABASE_URL;
const { BROKER_CLOCK, BROKER_DAY_SECONDS, BROKER_TRADING_DATE, BROKER_PORT, FILL_RECEIVER_URL } = env;
const logger = createLogger('sim-broker', config.LOG_LEVEL);
await runProcess(
  async (lifecycle) => {
    await migrate(databaseUrl, [brokerAdapterMigrations], logger);
    const pool = createPool(databaseUrl, { name: 'sim-broker' });
    lifecycle.onStop(() => pool.end());
    const clock =
      BROKER_CLOCK === 'accelerated'
        ? acceleratedClock({ daySeconds: BROKER_DAY_SECONDS, tradingDate: BROKER_TRADING_DATE })
        : BROKER_CLOCK === 'always-open'
          ? alwaysOpenClock()
          : realClock();
    const broker = await startBroker({
      pool,
      config,
      clock,
      logger,
      port: BROKER_PORT,
      host: config.HOST,
      fillReceiverUrl: FILL_RECEIVER_URL,
      fillReceiverSecret: config.FILL_RECEIVER_SECRET,
      apiKey: config.BROKER_API_KEY,
    });
    lifecycle.onStop(() => broker.close());
    process.stdout.write(`Simulated broker: ${broker.url} (seed ${config.SIM_SEED}, clock ${clock.kind})\n`);
  },
  { logger },
);
