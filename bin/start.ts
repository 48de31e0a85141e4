import { acceleratedClock, alwaysOpenClock, realClock } from '../broker-adapter/index.ts';
import { createLogger, loadConfigOrExit, stopOnSignals } from '../platform/index.ts';
import { loadStartEnv } from './start-env.ts';
import { startInfrastructure, startSystem } from './system.ts';

/** `npm start`: the whole system in one process on embedded defaults. */
const config = loadConfigOrExit();
const env = loadStartEnv();
const logger = createLogger('order-routing', config.LOG_LEVEL);
let infrastructure: Awaited<ReturnType<typeof startInfrastructure>>;
try {
  infrastructure = await startInfrastructure(config, logger);
} catch (error) {
  // One line, never a stack: PostgreSQL unreachable, its data directory in use or out of reach.
  logger.debug({ err: error }, 'infrastructure did not start');
  process.stderr.write(`Cannot start: ${firstLine(error)}\n`);
  process.exit(1);
}
const clock =
  env.BROKER_CLOCK === 'accelerated'
    ? acceleratedClock({ daySeconds: env.BROKER_DAY_SECONDS })
    : env.BROKER_CLOCK === 'always-open'
      ? alwaysOpenClock()
      : realClock();

let system: Awaited<ReturnType<typeof startSystem>>;
try {
  system = await startSystem({
    config,
    logger,
    pool: infrastructure.pool,
    bus: infrastructure.bus,
    clock,
    port: config.PORT,
    host: config.HOST,
  });
} catch (error) {
  process.stderr.write(`Cannot start: ${firstLine(error)}\n`);
  await infrastructure.stop();
  process.exit(1);
}

stopOnSignals(
  async () => {
    await system.stop();
    await infrastructure.stop();
  },
  { logger },
);

process.stdout.write(`Trading API: ${system.url}\n`);
process.stdout.write(
  `Ops API key: ${config.OPS_API_KEY}${config.generated.opsApiKey ? ' (generated; set OPS_API_KEY to fix it)' : ''}\n`,
);
process.stdout.write(
  `Simulation seed: ${config.SIM_SEED}; market clock: ${clock.kind}; simulated broker: ${system.broker.url}\n`,
);
process.stdout.write(
  `Bus: ${infrastructure.bus.kind}; database: ${config.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL in ./.data/pg'}\n`,
);

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] || String(error);
}
