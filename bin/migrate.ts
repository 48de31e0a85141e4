import { answerUsage, createLogger, loadConfigOrExit } from '../platform/index.ts';
import { startInfrastructure } from './system.ts';

/** `npm run migrate`: applies every component's pending migrations, then exits. */
answerUsage(`
Usage: npm run migrate

Applies every component's pending migrations (ledger, broker-adapter, order-gateway, reconciler) to
DATABASE_URL, else to the embedded PostgreSQL in ./.data/pg, then exits. npm start and each separate
server apply the migrations they need at start as well.
`);
const config = loadConfigOrExit();
const logger = createLogger('migrate', config.LOG_LEVEL);
try {
  const infrastructure = await startInfrastructure(config, logger);
  await infrastructure.stop();
} catch (error) {
  logger.debug({ err: error }, 'migrations not applied');
  process.stderr.write(`Cannot migrate: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}\n`);
  process.exit(1);
}
process.stdout.write('migrations applied\n');
