import { acceleratedClock, alwaysOpenClock, realClock } from '../broker-adapter/simulator/index.ts';
import { answerUsage, createLogger, loadConfigOrExit, runProcess } from '../platform/index.ts';
import { writeStartEndpoints } from './start-endpoints.ts';
import { loadStartEnv } from './start-env.ts';
import { startInfrastructure, startSystem } from './system.ts';

/** `npm start`: the whole system in one process on embedded defaults. */
answerUsage(`
Usage: npm start

Starts the whole system in one process: the trading API on HOST:PORT (127.0.0.1:3000), the request
server, a simulated broker and its fill receiver on free ports, the outbox relay and the execution
consumer. PostgreSQL: DATABASE_URL, else embedded in ./.data/pg. Bus: Kafka on KAFKA_BROKERS, else
in-process. Prints the trading URL, the ops key and an \`export\` line for a second terminal;
runs until SIGINT or SIGTERM. Variables: docs/configuration.md.
`);
const config = loadConfigOrExit();
if (config.BROKERS) {
  // npm start's brokers are simulated here and push to a fill receiver on a free port: brokers
  // elsewhere could not reach it. BROKERS is for the components run on their own.
  process.stderr.write(
    'Invalid configuration: BROKERS is for components run on their own; npm start simulates its brokers (primary, secondary)\n',
  );
  process.exit(1);
}
const env = loadStartEnv();
const logger = createLogger('order-routing', config.LOG_LEVEL);
const clock =
  env.BROKER_CLOCK === 'accelerated'
    ? acceleratedClock({ daySeconds: env.BROKER_DAY_SECONDS })
    : env.BROKER_CLOCK === 'always-open'
      ? alwaysOpenClock()
      : realClock();

await runProcess(
  async (lifecycle) => {
    const infrastructure = await startInfrastructure(config, logger);
    lifecycle.onStop(() => infrastructure.stop());
    const system = await startSystem({
      config,
      logger,
      pool: infrastructure.pool,
      bus: infrastructure.bus,
      clock,
      port: config.PORT,
      host: config.HOST,
      databaseUrl: infrastructure.databaseUrl,
    });
    lifecycle.onStop(() => system.stop());
    // On embedded defaults, `npm run reconcile` in another terminal finds the broker by this file.
    if (!config.DATABASE_URL) {
      lifecycle.onStop(
        writeStartEndpoints({
          pid: process.pid,
          tradingUrl: system.url,
          brokerUrl: system.broker.url,
          brokerApiKey: config.BROKER_API_KEY,
          databaseUrl: infrastructure.databaseUrl,
        }),
      );
    }
    process.stdout.write(`Trading API: ${system.url}\n`);
    process.stdout.write(
      `Ops API key: ${config.OPS_API_KEY}${config.generated.opsApiKey ? ' (generated; set OPS_API_KEY to fix it)' : ''}\n`,
    );
    process.stdout.write(
      `Simulation seed: ${config.SIM_SEED}; market clock: ${clock.kind}; simulated brokers: ${system.brokers
        .map(({ name, broker }) => `${name} ${broker.url}`)
        .join(', ')}\n`,
    );
    process.stdout.write(
      `Bus: ${infrastructure.bus.kind}; database: ${config.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL in ./.data/pg'}\n`,
    );
    // What a second terminal needs: the README's first order and `npm run reconcile` read these.
    const secondTerminal = {
      TRADING_URL: system.url,
      OPS_API_KEY: config.OPS_API_KEY,
      BROKER_URL: system.broker.url,
      BROKER_API_KEY: config.BROKER_API_KEY,
      DATABASE_URL: infrastructure.databaseUrl,
      ...(config.KAFKA_BROKERS ? { KAFKA_BROKERS: config.KAFKA_BROKERS.join(',') } : {}),
      ...(config.KAFKA_NAMESPACE ? { KAFKA_NAMESPACE: config.KAFKA_NAMESPACE } : {}),
    };
    process.stdout.write(
      `In a second terminal:\nexport ${Object.entries(secondTerminal)
        .map(([name, value]) => `${name}=${shellQuoted(value)}`)
        .join(' ')}\n`,
    );
  },
  { logger },
);

function shellQuoted(value: string): string {
  return /^[A-Za-z0-9_./:@,+=-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}
