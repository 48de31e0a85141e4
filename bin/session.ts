import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { ConfigError, createLogger, loadConfig, runCommand } from '../platform/index.ts';
import { parseSessionArgs, UsageError, type CliOptions } from './session/session.options.ts';
import { writeReport } from './session/session.report.ts';
import { runSession, type SessionProgress } from './session/session.runner.ts';

/**
 * `npm run session -- [flags]`: one simulated trading day end to end. Logs and progress go to
 * stderr; the last stdout line is the summary JSON. Exit 0 only with no open break and no
 * violated invariant; 1 otherwise or on failure; 2 on a bad flag or bad configuration.
 */
let cli: CliOptions | null;
let config: ReturnType<typeof loadConfig>;
try {
  cli = parseSessionArgs(process.argv.slice(2));
  // The simulated brokers' settings come from the flags (whose defaults are these variables).
  const brokerVariables = Object.keys(process.env).filter((key) => key.startsWith('BROKER_FAULTS_'));
  config = loadConfig({
    ...process.env,
    ...Object.fromEntries(brokerVariables.map((key) => [key, undefined])),
    SIM_SEED: undefined,
    BROKER_FAULTS: undefined,
    BROKER_LATENCY_MS: undefined,
  });
} catch (error) {
  if (error instanceof UsageError || error instanceof ConfigError) {
    process.stderr.write(`session: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
if (cli === null) process.exit(0);

const interactive = process.stderr.isTTY === true;
// On a terminal the progress bar owns stderr; only warnings and worse interrupt it.
const logger = createLogger('session', process.env.LOG_LEVEL ?? (interactive ? 'warn' : 'info'));
const bar = interactive
  ? new cliProgress.SingleBar(
      {
        format: 'session |{bar}| {phase} step {value}/{total} · orders {orders} · fills {fills} · open breaks {breaks}',
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    )
  : null;
let barStarted = false;
const onProgress = (p: SessionProgress) => {
  if (!bar) return;
  const payload = { phase: p.phase, orders: p.orders, fills: p.fills, breaks: p.breaksOpen ?? '-' };
  if (!barStarted) {
    bar.start(p.steps, p.step, payload);
    barStarted = true;
  } else {
    bar.update(p.step, payload);
  }
};

await runCommand(
  async ({ signal, onStop }) => {
    onStop(() => bar?.stop());
    try {
      const { summary, data } = await runSession({
        seed: cli.seed,
        accounts: cli.accounts,
        orders: cli.orders,
        faults: cli.faults,
        brokerFaults: cli.brokerFaults,
        latency: cli.latency,
        tradingDate: cli.date,
        stepMinutes: cli.stepMinutes,
        days: cli.days,
        databaseUrl: config.DATABASE_URL,
        kafkaBrokers: config.KAFKA_BROKERS,
        logger,
        onProgress,
        signal,
      });
      bar?.stop();
      const written = await writeReport(resolve(cli.report), summary, data);
      process.stderr.write(`session: report ${written.reportPath}\n`);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return summary.breaksOpen === 0 && summary.invariantViolations === 0 ? 0 : 1;
    } catch (error) {
      bar?.stop();
      logger.error({ err: error }, 'session failed');
      // The last stdout line is always JSON, a failure's included, for scripts that read it.
      process.stdout.write(
        `${JSON.stringify({ seed: cli.seed, error: error instanceof Error ? error.message : String(error) })}\n`,
      );
      throw error;
    }
  },
  {
    name: 'session',
    describeFailure: (error) => `session: FAILED: ${error instanceof Error ? error.message : String(error)}`,
  },
);
