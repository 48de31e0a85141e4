import { answerUsage, createLogger, firstLine, loadConfigOrExit, runCommand } from '../platform/index.ts';
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
await runCommand(
  async ({ onStop }) => {
    const infrastructure = await startInfrastructure(config, logger);
    onStop(() => infrastructure.stop());
    process.stdout.write('migrations applied\n');
    return 0;
  },
  { name: 'migrate', logger, describeFailure: (error) => `Cannot migrate: ${firstLine(error)}` },
);
