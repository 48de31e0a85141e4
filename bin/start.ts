import { buildApp } from '../order-gateway/index.ts';
import { createLogger, isDatabaseReachable, loadConfigOrExit } from '../platform/index.ts';
import { startInfrastructure } from './system.ts';

/** `npm start`: the whole system in one process on embedded defaults. */
const config = loadConfigOrExit();
const logger = createLogger('order-routing', config.LOG_LEVEL);
const infrastructure = await startInfrastructure(config, logger);
const { pool, bus } = infrastructure;

const app = await buildApp({
  logger,
  checks: {
    postgres: () => isDatabaseReachable(pool),
    ...(bus.kind === 'kafka' ? { kafka: () => bus.isHealthy() } : {}),
  },
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // Whatever is still closing after this long is abandoned; CONTRACT.md promises a prompt exit.
  setTimeout(() => process.exit(1), 4_500).unref();
  await app.close();
  await infrastructure.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  await app.listen({ port: config.PORT, host: config.HOST });
} catch (error) {
  process.stderr.write(`Cannot listen on ${config.HOST}:${config.PORT}: ${(error as Error).message}\n`);
  await infrastructure.stop();
  process.exit(1);
}
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.PORT;
process.stdout.write(`Trading API: http://${config.HOST}:${port}\n`);
process.stdout.write(`Ops API key: ${config.OPS_API_KEY}${config.generated.opsApiKey ? ' (generated; set OPS_API_KEY to fix it)' : ''}\n`);
process.stdout.write(`Simulation seed: ${config.SIM_SEED}\n`);
process.stdout.write(`Bus: ${bus.kind}; database: ${config.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL in ./.data/pg'}\n`);
