import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { createLedger } from '../ledger/index.ts';
import {
  ConfigError,
  configuredBrokers,
  DEFAULT_BROKER,
  createLogger,
  createPool,
  isDomainError,
  KafkaBus,
  loadConfig,
  migrate,
  startEmbeddedPostgres,
  runCommand,
  type Bus,
  type Lifecycle,
  type RunningPostgres,
} from '../platform/index.ts';
import {
  brokerStatements,
  createReconciler,
  renderRunReport,
  runAsCsv,
  runAsTable,
  type ReconcileProgress,
  type Run,
} from '../reconciler/index.ts';
import { runningStartEndpoints } from './start-endpoints.ts';
import { allMigrations } from './system.ts';

/*
 * `npm run reconcile -- --date YYYY-MM-DD [--repair] [--format table|json|csv] [--report FILE]`
 * Exit 0: no open breaks; 1: open breaks; 2: an error (bad flags included), with one clear line.
 * Database: DATABASE_URL, else the embedded one in ./.data/pg (joined when `npm start` runs it).
 * Broker: BROKER_URL and BROKER_API_KEY, else those a running `npm start` wrote to
 * .data/endpoints.json, else http://127.0.0.1:3200. Repair publishes on Kafka: KAFKA_BROKERS.
 */

class UsageError extends Error {}

const env = z.object({
  BROKER_URL: z.url("must be the broker's base URL, e.g. http://127.0.0.1:3200").default('http://127.0.0.1:3200'),
});

const program = new Command('reconcile')
  .description("Reconcile a New York trading date with the broker's statements")
  .requiredOption('--date <date>', 'the New York trading date, YYYY-MM-DD')
  .option('--repair', 'publish missing executions on the executions topic, then check again', false)
  .addOption(new Option('--format <format>', 'output').choices(['table', 'json', 'csv']).default('table'))
  .option('--report <file>', 'also write a self-contained HTML report of the run')
  .addHelpText(
    'after',
    `
Environment:
  DATABASE_URL   the system's PostgreSQL; unset: the embedded one in ./.data/pg (a running npm start's)
  BROKER_URL     the broker's statements; unset: the broker of an npm start running here on embedded
                 defaults (.data/endpoints.json), else http://127.0.0.1:3200
  KAFKA_BROKERS  needed by --repair: missing executions are published on Kafka for the system to apply
Exit status: 0 no open breaks, 1 open breaks, 2 an error.`,
  )
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

/** The embedded server that `npm start` runs, when it runs; else start it here. */
async function embeddedDatabase(): Promise<{ url: string; server?: RunningPostgres }> {
  const dir = resolve('.data', 'pg');
  const pidFile = resolve(dir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const port = readFileSync(pidFile, 'utf8').split('\n')[3]?.trim();
    if (port && /^\d+$/.test(port)) return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` };
  }
  const server = await startEmbeddedPostgres({ dir });
  return { url: server.url, server };
}

async function main({ onStop }: Lifecycle): Promise<number> {
  try {
    program.parse(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const options = program.opts<{ date: string; repair: boolean; format: 'table' | 'json' | 'csv'; report?: string }>();
  const config = loadConfig();
  const parsedEnv = env.safeParse(
    Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k === 'BROKER_URL' && v !== '')),
  );
  if (!parsedEnv.success) throw new ConfigError('BROKER_URL', parsedEnv.error.issues[0]!.message);
  // Unset: the broker of an `npm start` running here on embedded defaults, else the default.
  const started = process.env.BROKER_URL || config.DATABASE_URL ? undefined : runningStartEndpoints();
  const brokerUrl = started?.brokerUrl ?? parsedEnv.data.BROKER_URL;
  const brokerApiKey = config.generated.brokerApiKey ? started?.brokerApiKey : config.BROKER_API_KEY;
  if (!brokerApiKey) {
    throw new ConfigError(
      'BROKER_API_KEY',
      "is required: the broker's API key, as the broker at BROKER_URL was given it",
    );
  }
  if (options.repair && !config.KAFKA_BROKERS) {
    throw new UsageError(
      '--repair needs KAFKA_BROKERS: missing executions are published on Kafka for the running system to apply',
    );
  }
  const logger = createLogger('reconcile', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const database = config.DATABASE_URL ? { url: config.DATABASE_URL, server: undefined } : await embeddedDatabase();
  onStop(() => database.server?.stop());
  const bus: Bus | undefined = config.KAFKA_BROKERS
    ? new KafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'reconcile', logger, namespace: config.KAFKA_NAMESPACE })
    : undefined;
  onStop(() => bus?.close());
  const pool = createPool(database.url, { name: 'reconcile', max: 4 });
  onStop(() => pool.end());
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: '{phase} [{bar}] {value}/{total}', stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  onStop(() => bar?.stop());
  let phase = '';
  await migrate(database.url, allMigrations, logger);
  const reconciler = createReconciler({
    pool,
    // Every broker orders are routed to: BROKERS, else the one at BROKER_URL (or npm start's).
    brokers: (started ? [{ name: DEFAULT_BROKER, url: brokerUrl }] : configuredBrokers(config, brokerUrl)).map(
      (broker) => ({ name: broker.name, statements: brokerStatements({ baseUrl: broker.url, apiKey: brokerApiKey }) }),
    ),
    ledger: createLedger({ commissionBps: config.COMMISSION_BPS }),
    bus: options.repair ? bus : undefined,
    logger,
  });
  const onProgress = (progress: ReconcileProgress) => {
    if (!bar) return;
    if (progress.phase !== phase) {
      if (phase) bar.stop();
      phase = progress.phase;
      bar.start(Math.max(progress.total, 1), progress.done, { phase: progress.phase.padEnd(8) });
    } else {
      bar.setTotal(Math.max(progress.total, progress.done, 1));
      bar.update(progress.done);
    }
  };
  const run: Run = await reconciler.run(options.date, { repair: options.repair, onProgress });
  bar?.stop();
  if (options.report) writeFileSync(options.report, renderRunReport(run, await reconciler.timeline(run.id)));
  const output =
    options.format === 'json'
      ? `${JSON.stringify(run, null, 2)}\n`
      : options.format === 'csv'
        ? runAsCsv(run)
        : runAsTable(run);
  process.stdout.write(output);
  return run.status === 'breaks' ? 1 : 0;
}

await runCommand(main, {
  name: 'reconcile',
  failureCode: 2,
  describeFailure: (error) =>
    error instanceof UsageError || error instanceof ConfigError
      ? error.message
      : isDomainError(error)
        ? `${error.code}: ${error.message}`
        : `reconciliation failed: ${error instanceof Error ? error.message : String(error)}`,
});
