import { createLogger, loadConfigOrExit } from '../platform/index.ts';
import { startInfrastructure } from './system.ts';

/** `npm run migrate`: applies every component's pending migrations, then exits. */
const config = loadConfigOrExit();
const logger = createLogger('migrate', config.LOG_LEVEL);
const infrastructure = await startInfrastructure(config, logger);
await infrastructure.stop();
process.stdout.write('migrations applied\n');
