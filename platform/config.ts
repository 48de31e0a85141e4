import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import { brokerRateLimits } from './broker-rate-limits.ts';

/**
 * The process environment of docs/configuration.md, read once at start with zod.
 * A bad value stops the process with one line that names the variable.
 */

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

// host:port, where host is a name, an IPv4 address or a bracketed IPv6 address.
const brokerAddress = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

const kafkaBrokers = z.string().transform((raw, ctx) => {
  const brokers = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (brokers.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one host:port' });
    return z.NEVER;
  }
  for (const [i, broker] of brokers.entries()) {
    const match = brokerAddress.exec(broker);
    const brokerPort = match ? Number(match[1]) : 0;
    if (!match || brokerPort < 1 || brokerPort > 65535) {
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} is not host:port` });
      return z.NEVER;
    }
  }
  return brokers;
});

export const FAULT_KINDS = [
  'ack_timeout',
  'duplicate',
  'reorder',
  'drop_report',
  'reject',
  'partial',
  'outage',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultProbabilities = Record<FaultKind, number>;

const noFaults = (): FaultProbabilities =>
  Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as FaultProbabilities;

/** A span of the market's New York wall clock in minutes past midnight: `from` included, `to` not. */
export interface ClockWindow {
  from: number;
  to: number;
}

/** A simulated broker's faults: a probability of each, and the windows of market time it is down. */
export interface FaultSpec {
  probabilities: FaultProbabilities;
  /** `outage=HH:MM-HH:MM` (New York time of the market's clock, every day): down, whatever `outage`'s probability. */
  outageWindows: ClockWindow[];
  /** `bust_after=HH:MM` (New York time): the broker busts every trade it made at or after it, some time after. */
  bustAfter: string | null;
}

const NEW_YORK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

const CLOCK_WINDOW = /^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$/;

/** `09:30-09:47` as minutes past midnight; null when it is not a window within one day (24:00 may end one). */
export function parseClockWindow(raw: string): ClockWindow | null {
  const match = CLOCK_WINDOW.exec(raw);
  if (!match) return null;
  const [fromHour, fromMinute, toHour, toMinute] = match.slice(1).map(Number) as [number, number, number, number];
  if (fromHour > 23 || fromMinute > 59 || toMinute > 59 || toHour > 24 || (toHour === 24 && toMinute > 0)) return null;
  const window = { from: fromHour * 60 + fromMinute, to: toHour * 60 + toMinute };
  return window.from < window.to ? window : null;
}

/** `09:30-09:47` again, for logs and reports. */
export function formatClockWindow(window: ClockWindow): string {
  const hhmm = (minutes: number) =>
    `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return `${hhmm(window.from)}-${hhmm(window.to)}`;
}

/**
 * Parses `ack_timeout=0.05,duplicate=0.1,outage=09:30-09:47,bust_after=13:00`; shared by BROKER_FAULTS,
 * BROKER_FAULTS_<NAME> and the session's `--faults` flags. `outage` takes a probability (per window
 * of real time) or a window of market time, and may be given more than once.
 */
export const faultSpec = z.string().transform((raw, ctx): FaultSpec => {
  const faults: FaultSpec = { probabilities: noFaults(), outageWindows: [], bustAfter: null };
  for (const [i, part] of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .entries()) {
    const [name, value, ...rest] = part.split('=');
    if (name === 'bust_after') {
      if (rest.length > 0 || !NEW_YORK_TIME.test(value?.trim() ?? '')) {
        ctx.addIssue({ code: 'custom', message: `entry ${i + 1} (bust_after) needs a New York time HH:MM` });
        return z.NEVER;
      }
      faults.bustAfter = value!.trim();
      continue;
    }
    if (!(FAULT_KINDS as readonly string[]).includes(name ?? '')) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${i + 1} names an unknown fault (known: ${FAULT_KINDS.join(', ')})`,
      });
      return z.NEVER;
    }
    const window = name === 'outage' && rest.length === 0 && value !== undefined ? parseClockWindow(value) : null;
    if (window) {
      faults.outageWindows.push(window);
      continue;
    }
    const probability = Number(value);
    if (rest.length > 0 || value === undefined || value.trim() === '' || !(probability >= 0 && probability <= 1)) {
      const wanted =
        name === 'outage'
          ? 'a probability between 0 and 1, or a New York time window HH:MM-HH:MM that ends after it starts'
          : 'a probability between 0 and 1';
      ctx.addIssue({ code: 'custom', message: `entry ${i + 1} (${name}) needs ${wanted}` });
      return z.NEVER;
    }
    faults.probabilities[name as FaultKind] = probability;
  }
  return faults;
});

/** `2-20` or `5`: a range of simulated broker latency in milliseconds. */
export const latencyRange = z.string().transform((raw, ctx) => {
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(raw);
  const min = match ? Number(match[1]) : NaN;
  const max = match ? Number(match[2] ?? match[1]) : NaN;
  if (!match || min > max || max > 60_000) {
    ctx.addIssue({ code: 'custom', message: `must be "min-max" milliseconds with min <= max <= 60000` });
    return z.NEVER;
  }
  return { min, max };
});

const opsKey = z
  .string()
  .min(16, 'must be at least 16 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** The operator that OPS_API_KEY names; OPS_API_KEYS adds others. */
export const DEFAULT_OPERATOR = 'ops';

export interface OpsOperator {
  name: string;
  key: string;
}

/**
 * `name:key,name:key`: one key per named operator, so every ops action is recorded with who did it.
 * Issues name the entry by its position, never by its text: a name and a key swapped would echo the key.
 */
const opsApiKeys = z.string().transform((raw, ctx) => {
  const operators: OpsOperator[] = [];
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const at = `entry ${index + 1}`;
    const colon = entry.indexOf(':');
    const name = colon < 0 ? '' : entry.slice(0, colon);
    const key = colon < 0 ? '' : entry.slice(colon + 1);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      ctx.addIssue({
        code: 'custom',
        message: `${at} must be name:key, the name 1-64 characters of A-Z a-z 0-9 . _ -`,
      });
      return z.NEVER;
    }
    if (name === DEFAULT_OPERATOR) {
      ctx.addIssue({ code: 'custom', message: `${at}: the operator "${DEFAULT_OPERATOR}" is OPS_API_KEY's` });
      return z.NEVER;
    }
    const checked = opsKey.safeParse(key);
    if (!checked.success) {
      ctx.addIssue({ code: 'custom', message: `${at}: its key ${checked.error.issues[0]!.message}` });
      return z.NEVER;
    }
    if (operators.some((other) => other.name === name)) {
      ctx.addIssue({ code: 'custom', message: `${at}: its operator is named twice` });
      return z.NEVER;
    }
    if (operators.some((other) => other.key === key)) {
      ctx.addIssue({ code: 'custom', message: `${at}: its key is another operator's` });
      return z.NEVER;
    }
    operators.push({ name, key });
  }
  if (operators.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one name:key' });
    return z.NEVER;
  }
  return operators;
});

/** A broker this system routes to: its name (what orders, metrics and ops call it) and its API's base URL. */
export interface BrokerEndpoint {
  name: string;
  url: string;
}

/** The broker a process without BROKERS knows (at BROKER_URL), and the first of `npm start`'s. */
export const DEFAULT_BROKER = 'primary';
/** The brokers `npm start` simulates, in order of preference. */
export const SIMULATED_BROKERS = [DEFAULT_BROKER, 'secondary'] as const;

export const BROKER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * `name=url,name=url`, in order of preference. A name becomes part of metric labels, URL paths and
 * variable names (BROKER_FAULTS_<NAME>), hence its narrow alphabet. Entries are named by position:
 * a URL may carry credentials.
 */
const brokerList = z.string().transform((raw, ctx) => {
  const brokers: BrokerEndpoint[] = [];
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const at = `entry ${index + 1}`;
    const equals = entry.indexOf('=');
    const name = equals < 0 ? '' : entry.slice(0, equals).trim();
    const url = equals < 0 ? '' : entry.slice(equals + 1).trim();
    if (!BROKER_NAME.test(name)) {
      ctx.addIssue({
        code: 'custom',
        message: `${at} must be name=url, the name 1-32 characters of a-z 0-9 _ - starting with a letter`,
      });
      return z.NEVER;
    }
    if (!z.url({ protocol: /^https?$/ }).safeParse(url).success) {
      ctx.addIssue({ code: 'custom', message: `${at} (${name}) needs an http:// or https:// URL` });
      return z.NEVER;
    }
    if (brokers.some((other) => other.name === name)) {
      ctx.addIssue({ code: 'custom', message: `${at}: the broker ${name} is named twice` });
      return z.NEVER;
    }
    brokers.push({ name, url: url.replace(/\/+$/, '') });
  }
  if (brokers.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one name=url' });
    return z.NEVER;
  }
  return brokers;
});

/**
 * The brokers of a process that runs on its own: BROKERS, else the one broker at BROKER_URL,
 * named `primary`, as before there were several.
 */
export function configuredBrokers(config: Pick<Config, 'BROKERS'>, brokerUrl: string): BrokerEndpoint[] {
  return config.BROKERS ?? [{ name: DEFAULT_BROKER, url: brokerUrl }];
}

/**
 * The seed of the simulated broker at `index` in order of preference. The first keeps SIM_SEED
 * itself, so a seed's behaviour with one broker is unchanged; the others get their own stream
 * (two brokers on one seed would fault and fill in lockstep).
 */
export function simulatedBrokerSeed(simSeed: number, index: number): number {
  if (index === 0) return simSeed;
  // A multiplicative hash (Knuth's) keeps derived seeds apart and within 31 bits.
  return ((simSeed + index * 0x9e3779b1) >>> 0) % 2 ** 31 || 1;
}

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 1200;
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 60;
export const DEFAULT_MAX_OPEN_ORDERS = 1000;

const positiveCount = z.coerce
  .number({ error: 'must be a whole number' })
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(1_000_000_000, 'must be at most 1000000000');

const seed = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a whole number of at most 15 digits')
  .transform(Number);

const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection string')
    .optional(),
  KAFKA_BROKERS: kafkaBrokers.optional(),
  KAFKA_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 . _ -')
    .optional(),
  KAFKA_PARTITIONS: z.coerce.number().int('must be a whole number').min(1).max(1000).default(6),
  OPS_API_KEY: opsKey.optional(),
  OPS_API_KEYS: opsApiKeys.optional(),
  RATE_LIMIT_PER_MINUTE: positiveCount.default(DEFAULT_RATE_LIMIT_PER_MINUTE),
  AUTH_FAILURES_PER_MINUTE: positiveCount.default(DEFAULT_AUTH_FAILURES_PER_MINUTE),
  MAX_OPEN_ORDERS: positiveCount.default(DEFAULT_MAX_OPEN_ORDERS),
  FILL_RECEIVER_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  BROKERS: brokerList.optional(),
  BROKER_API_KEY: z
    .string()
    .min(16, 'must be at least 16 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  BROKER_FAULTS: faultSpec.prefault(''),
  BROKER_LATENCY_MS: latencyRange.prefault('2-20'),
  BROKER_RATE_LIMITS: brokerRateLimits.optional(),
  SIM_SEED: seed.optional(),
  COMMISSION_BPS: z.coerce.number().int('must be a whole number of basis points').min(0).max(10_000).default(10),
  // Silence after which a live order is looked up at its broker; fractions are for tests.
  OPEN_ORDER_CHECK_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0.1, 'must be between 0.1 and 3600 seconds')
    .max(3600, 'must be between 0.1 and 3600 seconds')
    .default(5),
  // Event streams (GET /v1/events): the comment line that keeps a connection open, and how many
  // bytes a client may leave unread before it is cut off. Fractions of a second are for tests.
  EVENTS_HEARTBEAT_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0.1, 'must be between 0.1 and 3600 seconds')
    .max(3600, 'must be between 0.1 and 3600 seconds')
    .default(15),
  EVENTS_CLIENT_BUFFER_BYTES: z.coerce
    .number({ error: 'must be a whole number of bytes' })
    .int('must be a whole number of bytes')
    .min(1024, 'must be between 1024 and 1073741824 bytes')
    .max(1024 * 1024 * 1024, 'must be between 1024 and 1073741824 bytes')
    .default(1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every variable this module reads. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as readonly (keyof typeof envSchema.shape)[];

export type Config = Omit<
  z.infer<typeof envSchema>,
  'OPS_API_KEY' | 'SIM_SEED' | 'FILL_RECEIVER_SECRET' | 'BROKER_API_KEY'
> & {
  OPS_API_KEY: string;
  SIM_SEED: number;
  /** HMAC key of the broker's pushes to the fill receiver; generated when unset (then only one process can know it). */
  FILL_RECEIVER_SECRET: string;
  /** What callers of the broker's API present; generated when unset (then only one process can know it). */
  BROKER_API_KEY: string;
  /**
   * Faults of the simulated brokers that have their own (BROKER_FAULTS_<NAME>), by broker name; the
   * others have BROKER_FAULTS (`faultsOf`).
   */
  brokerFaults: Readonly<Record<string, FaultSpec>>;
  /**
   * Which values were generated here: the ops key and seed are printed at start; a generated secret
   * or broker key only works inside this process, so a component run alone refuses to start on one.
   */
  generated: { opsApiKey: boolean; seed: boolean; fillReceiverSecret: boolean; brokerApiKey: boolean };
};

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, detail: string) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Reads configuration from an environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable is treated as unset, as shells and compose files often export them empty.
  const present = Object.fromEntries(
    Object.keys(envSchema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // The value itself is never echoed: it may be a password or a key (DATABASE_URL, OPS_API_KEY, ...),
    // and this line ends up in terminals, CI logs and journald.
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const { OPS_API_KEY, SIM_SEED, FILL_RECEIVER_SECRET, BROKER_API_KEY, ...rest } = parsed.data;
  if (OPS_API_KEY !== undefined && rest.OPS_API_KEYS?.some((operator) => operator.key === OPS_API_KEY)) {
    throw new ConfigError(
      'OPS_API_KEYS',
      `operator ${DEFAULT_OPERATOR}'s key (OPS_API_KEY) is given to another operator`,
    );
  }
  return {
    ...rest,
    OPS_API_KEY: OPS_API_KEY ?? `ops_${randomBytes(24).toString('base64url')}`,
    SIM_SEED: SIM_SEED ?? randomInt(1, 2 ** 31),
    FILL_RECEIVER_SECRET: FILL_RECEIVER_SECRET ?? randomBytes(32).toString('base64url'),
    BROKER_API_KEY: BROKER_API_KEY ?? `brk_${randomBytes(24).toString('base64url')}`,
    brokerFaults: brokerFaultOverrides(env, rest.BROKERS?.map((broker) => broker.name) ?? SIMULATED_BROKERS),
    generated: {
      opsApiKey: OPS_API_KEY === undefined,
      seed: SIM_SEED === undefined,
      fillReceiverSecret: FILL_RECEIVER_SECRET === undefined,
      brokerApiKey: BROKER_API_KEY === undefined,
    },
  };
}

/** Where one simulated broker's own faults are read from: `BROKER_FAULTS_` and its name in capitals, `-` as `_`. */
export function brokerFaultsVariable(name: string): string {
  return `BROKER_FAULTS_${name.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * Every BROKER_FAULTS_<NAME> in the environment, each for a broker this process knows (BROKERS, else
 * the simulated `primary` and `secondary`): a variable for no such broker is a mistake worth stopping
 * for, since its faults would silently not happen.
 */
function brokerFaultOverrides(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, FaultSpec> {
  const byVariable = new Map(names.map((name) => [brokerFaultsVariable(name), name]));
  const overrides: Record<string, FaultSpec> = {};
  const variables = Object.keys(env)
    .filter((key) => key.startsWith('BROKER_FAULTS_') && env[key] !== undefined && env[key] !== '')
    .sort();
  for (const variable of variables) {
    const name = byVariable.get(variable);
    if (name === undefined) {
      throw new ConfigError(
        variable,
        `names no broker of this system (known: ${names.join(', ')}; the variable is BROKER_FAULTS_ and the name in capitals)`,
      );
    }
    const parsed = faultSpec.safeParse(env[variable]);
    if (!parsed.success) throw new ConfigError(variable, parsed.error.issues[0]!.message);
    overrides[name] = parsed.data;
  }
  return overrides;
}

/** One simulated broker's faults: its own BROKER_FAULTS_<NAME>, else BROKER_FAULTS. */
export function faultsOf(config: Pick<Config, 'BROKER_FAULTS' | 'brokerFaults'>, name: string): FaultSpec {
  return config.brokerFaults[name] ?? config.BROKER_FAULTS;
}

/** Every operator and its key: OPS_API_KEY's operator first, then OPS_API_KEYS'. */
export function opsOperators(config: Pick<Config, 'OPS_API_KEY' | 'OPS_API_KEYS'>): OpsOperator[] {
  return [{ name: DEFAULT_OPERATOR, key: config.OPS_API_KEY }, ...(config.OPS_API_KEYS ?? [])];
}

/** For entry points: load, or print the one clear line and exit 1. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
