import { randomInt } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isTradingDay } from '../../broker-adapter/index.ts';
import { brokerFaultsVariable, faultSpec, latencyRange, SIMULATED_BROKERS } from '../../platform/index.ts';

export interface CliOptions {
  seed: number;
  accounts: number;
  orders: number;
  faults: string;
  /** Each simulated broker's faults (`--faults-<broker>`, else BROKER_FAULTS_<NAME>, else `--faults`). */
  brokerFaults: Record<string, string>;
  latency: string;
  report: string;
  date: string;
  stepMinutes: number;
  days: number;
}

/** A flag's value that cannot be used; the CLI prints the message as one line and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const wholeNumber = (min: number, max: number) => (raw: string) => {
  if (!/^\d{1,15}$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
};

const withSchema = (schema: typeof faultSpec | typeof latencyRange) => (raw: string) => {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues.map((issue) => issue.message).join('; '));
  return raw;
};

const tradingDate = (raw: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`)))
    throw new InvalidArgumentError('must be a date YYYY-MM-DD');
  if (!isTradingDay(raw)) throw new InvalidArgumentError('is not a US trading day (weekend or NYSE holiday)');
  return raw;
};

/**
 * Parses `npm run session -- [flags]`. Throws UsageError for any bad flag; returns null when help
 * was printed.
 */
export function parseSessionArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliOptions | null {
  const program = new Command('session')
    .description(
      'Runs one simulated US trading day through the whole system, reconciles with repair, checks every invariant.',
    )
    .option(
      '--seed <n>',
      'seed for prices, fills, faults and the clients (default: SIM_SEED or random)',
      wholeNumber(0, 999_999_999_999_999),
    )
    .option('--accounts <n>', 'client accounts', wholeNumber(1, 10_000), 20)
    .option(
      '--orders <n>',
      'client actions over the day (orders, cancels, sells, refused ones)',
      wholeNumber(1, 1_000_000),
      400,
    )
    .option(
      '--faults <spec>',
      'broker faults, as BROKER_FAULTS, e.g. duplicate=0.1,drop_report=0.02 or bust_after=14:00 (New York)',
      withSchema(faultSpec),
      env.BROKER_FAULTS ?? '',
    )
    .option(
      '--faults-primary <spec>',
      "the primary broker's faults instead of --faults, e.g. outage=09:30-09:47 (New York time: down for the first 17 minutes of the open)",
      withSchema(faultSpec),
    )
    .option('--faults-secondary <spec>', "the secondary broker's faults instead of --faults", withSchema(faultSpec))
    .option(
      '--latency <ms>',
      'simulated broker latency "min-max" ms, as BROKER_LATENCY_MS',
      withSchema(latencyRange),
      env.BROKER_LATENCY_MS ?? '2-20',
    )
    .option('--report <dir>', 'where summary.json and report.html go', 'session-report')
    .option('--date <yyyy-mm-dd>', 'the New York trading date to play', tradingDate, '2026-03-02')
    .option('--step-minutes <n>', 'simulated minutes between clock steps', wholeNumber(1, 240), 30)
    .option(
      '--days <n>',
      'consecutive trading days from --date, with the weekends and holidays between them (orders placed after each close, some canceled before the next open)',
      wholeNumber(1, 30),
      1,
    )
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .allowExcessArguments(false);
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return null;
      throw new UsageError(error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  const { faultsPrimary, faultsSecondary, ...options } = program.opts<
    Omit<CliOptions, 'seed' | 'brokerFaults'> & { seed?: number; faultsPrimary?: string; faultsSecondary?: string }
  >();
  const flags: Record<(typeof SIMULATED_BROKERS)[number], string | undefined> = {
    primary: faultsPrimary,
    secondary: faultsSecondary,
  };
  const brokerFaults: Record<string, string> = {};
  for (const name of SIMULATED_BROKERS) {
    const variable = brokerFaultsVariable(name);
    const spec = flags[name] ?? (env[variable] || undefined);
    // A flag was checked as it was read; a default from the environment is checked here.
    if (flags[name] === undefined && spec !== undefined && !faultSpec.safeParse(spec).success) {
      throw new UsageError(
        `${variable} (the default of --faults-${name}): ${faultSpec.safeParse(spec).error!.issues[0]!.message}`,
      );
    }
    brokerFaults[name] = spec ?? options.faults;
  }
  if (!faultSpec.safeParse(options.faults).success) {
    throw new UsageError(
      `BROKER_FAULTS (the default of --faults): ${faultSpec.safeParse(options.faults).error!.issues[0]!.message}`,
    );
  }
  const envSeed = env.SIM_SEED && /^\d{1,15}$/.test(env.SIM_SEED) ? Number(env.SIM_SEED) : undefined;
  if (options.report.trim() === '') throw new UsageError("option '--report <dir>' must not be empty");
  return { ...options, brokerFaults, seed: options.seed ?? envSeed ?? randomInt(1, 1_000_000) };
}
