import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_VARIABLES,
  ConfigError,
  brokerFaultsVariable,
  configuredBrokers,
  faultsOf,
  faultSpec,
  formatClockWindow,
  latencyRange,
  loadConfig,
  opsOperators,
  parseClockWindow,
  SIMULATED_BROKERS,
  simulatedBrokerSeed,
} from './config.ts';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('uses the defaults of docs/configuration.md on an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      COMMISSION_BPS: 10,
      BROKER_LATENCY_MS: { min: 2, max: 20 },
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.KAFKA_BROKERS).toBeUndefined();
    expect(config.OPS_API_KEY).toMatch(/^ops_[A-Za-z0-9_-]{32}$/);
    expect(config.generated).toEqual({ opsApiKey: true, seed: true, fillReceiverSecret: true, brokerApiKey: true });
    expect(config.FILL_RECEIVER_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(config.BROKER_API_KEY).toMatch(/^brk_[A-Za-z0-9_-]{32}$/);
    // Each start draws its own: two processes never share a generated secret by accident.
    expect(loadConfig({}).FILL_RECEIVER_SECRET).not.toBe(config.FILL_RECEIVER_SECRET);
    expect(Object.values(config.BROKER_FAULTS.probabilities).every((p) => p === 0)).toBe(true);
    expect(config.BROKER_FAULTS.outageWindows).toEqual([]);
    expect(config).toMatchObject({ RATE_LIMIT_PER_MINUTE: 1200, AUTH_FAILURES_PER_MINUTE: 60, MAX_OPEN_ORDERS: 1000 });
    expect(opsOperators(config)).toEqual([{ name: 'ops', key: config.OPS_API_KEY }]);
  });

  it('looks up a silent live order after OPEN_ORDER_CHECK_SECONDS, 5 by default, and refuses nonsense', () => {
    expect(loadConfig({}).OPEN_ORDER_CHECK_SECONDS).toBe(5);
    expect(loadConfig({ OPEN_ORDER_CHECK_SECONDS: '0.5' }).OPEN_ORDER_CHECK_SECONDS).toBe(0.5);
    for (const bad of ['0', '-1', 'soon', '3601']) {
      expect(errorOf({ OPEN_ORDER_CHECK_SECONDS: bad }).variable).toBe('OPEN_ORDER_CHECK_SECONDS');
    }
  });

  it('reads every variable it is given', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u:p@db:5432/orders',
      KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092,[::1]:9093',
      OPS_API_KEY: 'a-very-long-operator-key',
      FILL_RECEIVER_SECRET: 'a-shared-hmac-key-of-32-characters-or-more',
      BROKER_API_KEY: 'a-broker-api-key-0123',
      BROKER_FAULTS: 'ack_timeout=0.05,duplicate=0.1',
      BROKER_LATENCY_MS: '0-5',
      SIM_SEED: '42',
      COMMISSION_BPS: '25',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      KAFKA_BROKERS: ['kafka-1:9092', 'kafka-2:9092', '[::1]:9093'],
      OPS_API_KEY: 'a-very-long-operator-key',
      SIM_SEED: 42,
      COMMISSION_BPS: 25,
      BROKER_LATENCY_MS: { min: 0, max: 5 },
      FILL_RECEIVER_SECRET: 'a-shared-hmac-key-of-32-characters-or-more',
      BROKER_API_KEY: 'a-broker-api-key-0123',
      generated: { opsApiKey: false, seed: false, fillReceiverSecret: false, brokerApiKey: false },
    });
    expect(config.BROKER_FAULTS.probabilities).toMatchObject({ ack_timeout: 0.05, duplicate: 0.1, reject: 0 });
  });

  it('reads bust_after=HH:MM (New York time) beside the probabilities', () => {
    const config = loadConfig({ BROKER_FAULTS: 'duplicate=0.1,bust_after=14:05' });
    expect(config.BROKER_FAULTS).toMatchObject({ probabilities: { duplicate: 0.1 }, bustAfter: '14:05' });
    expect(loadConfig({}).BROKER_FAULTS.bustAfter).toBeNull();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '3.5'],
    ['KAFKA_BROKERS', ':::'],
    ['KAFKA_BROKERS', 'kafka'],
    ['KAFKA_BROKERS', 'kafka:0'],
    ['DATABASE_URL', 'mysql://x'],
    ['OPS_API_KEY', 'short'],
    ['FILL_RECEIVER_SECRET', 'too-short-for-an-hmac-key'],
    ['FILL_RECEIVER_SECRET', 'a secret with spaces in it, long enough'],
    ['BROKER_API_KEY', 'short'],
    ['BROKER_FAULTS', 'meteor=0.1'],
    ['BROKER_FAULTS', 'duplicate=1.5'],
    ['BROKER_FAULTS', 'duplicate'],
    ['BROKER_FAULTS', 'bust_after=25:00'],
    ['BROKER_FAULTS', 'bust_after=9:30'],
    ['BROKER_FAULTS', 'bust_after=0.5'],
    ['BROKER_FAULTS', 'outage=09:47-09:30'],
    ['BROKER_FAULTS', 'outage=09:30-09:30'],
    ['BROKER_FAULTS', 'outage=24:00-24:30'],
    ['BROKER_FAULTS', 'outage=9:30-9:47'],
    ['BROKER_FAULTS', 'outage=09:30'],
    ['BROKER_FAULTS', 'reject=09:30-09:47'],
    ['BROKER_LATENCY_MS', '20-2'],
    ['BROKER_LATENCY_MS', 'fast'],
    ['SIM_SEED', '-1'],
    ['COMMISSION_BPS', 'ten'],
    ['LOG_LEVEL', 'loud'],
    ['RATE_LIMIT_PER_MINUTE', '0'],
    ['RATE_LIMIT_PER_MINUTE', 'many'],
    ['AUTH_FAILURES_PER_MINUTE', '-1'],
    ['MAX_OPEN_ORDERS', '1.5'],
  ])('refuses %s=%s with one line naming the variable', (variable, value) => {
    const error = errorOf({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`Invalid configuration: ${variable} `)).toBe(true);
    expect(error.message).not.toContain('\n');
  });

  it('reads the limits and the named operators', () => {
    const config = loadConfig({
      OPS_API_KEY: 'the-ops-operator-key',
      OPS_API_KEYS: 'alice:alice-key-0123456789, bob:bob-key-0123456789:with-colon',
      RATE_LIMIT_PER_MINUTE: '50',
      AUTH_FAILURES_PER_MINUTE: '5',
      MAX_OPEN_ORDERS: '3',
    });
    expect(config).toMatchObject({ RATE_LIMIT_PER_MINUTE: 50, AUTH_FAILURES_PER_MINUTE: 5, MAX_OPEN_ORDERS: 3 });
    expect(opsOperators(config)).toEqual([
      { name: 'ops', key: 'the-ops-operator-key' },
      { name: 'alice', key: 'alice-key-0123456789' },
      { name: 'bob', key: 'bob-key-0123456789:with-colon' },
    ]);
  });

  const secret = 'sEcReT-value-0123456789';
  it.each([
    ['no colon', `${secret}`],
    ['an empty name', `:${secret}`],
    ['a short key', `alice:${secret.slice(0, 5)}`],
    ['a key with a space', `alice:${secret} x`],
    ['a name that is not a name', `al ice:${secret}`],
    ['name and key swapped', `${secret}:alice`],
    ['the reserved operator ops', `ops:${secret}`],
    ['one operator twice', `alice:${secret},alice:${secret}-2`],
    ['one key twice', `alice:${secret},bob:${secret}`],
    ['nothing but commas', ',,'],
  ])('refuses OPS_API_KEYS with %s in one line that names it and echoes no key', (_case, value) => {
    const error = errorOf({ OPS_API_KEYS: value });
    expect(error.variable).toBe('OPS_API_KEYS');
    expect(error.message.startsWith('Invalid configuration: OPS_API_KEYS ')).toBe(true);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain(secret.slice(0, 5));
  });

  it("refuses OPS_API_KEYS that gives OPS_API_KEY's key to another operator, without echoing it", () => {
    const error = errorOf({ OPS_API_KEY: secret, OPS_API_KEYS: `alice:${secret}` });
    expect(error.variable).toBe('OPS_API_KEYS');
    expect(error.message).not.toContain(secret.slice(0, 5));
  });

  it('never echoes the value of OPS_API_KEY', () => {
    expect(errorOf({ OPS_API_KEY: 'sEcReT' }).message).not.toContain('sEcReT');
  });

  describe('BROKERS', () => {
    it('lists named brokers in order of preference', () => {
      const config = loadConfig({ BROKERS: 'ibkr=https://api.example.com/v1/, alpaca_2=http://10.0.0.2:3200' });
      expect(config.BROKERS).toEqual([
        { name: 'ibkr', url: 'https://api.example.com/v1' },
        { name: 'alpaca_2', url: 'http://10.0.0.2:3200' },
      ]);
      expect(configuredBrokers(config, 'http://127.0.0.1:3200')).toBe(config.BROKERS);
    });

    it('unset: a process on its own has the one broker at BROKER_URL, named primary', () => {
      const config = loadConfig({});
      expect(config.BROKERS).toBeUndefined();
      expect(configuredBrokers(config, 'http://127.0.0.1:3200')).toEqual([
        { name: 'primary', url: 'http://127.0.0.1:3200' },
      ]);
      expect(SIMULATED_BROKERS).toEqual(['primary', 'secondary']);
    });

    it.each([
      ['no equals sign', 'primary', 'entry 1 must be name=url'],
      ['an upper-case name', 'p=http://a:1,Second=http://b:2', 'entry 2 must be name=url'],
      ['a name starting with a digit', '2nd=http://b:2', 'entry 1 must be name=url'],
      ['a name too long', `${'a'.repeat(33)}=http://b:2`, 'entry 1 must be name=url'],
      ['not a URL', 'primary=127.0.0.1:3200', 'entry 1 (primary) needs an http:// or https:// URL'],
      ['another scheme', 'primary=http://a:1,backup=ftp://b', 'entry 2 (backup) needs an http:// or https:// URL'],
      ['a name twice', 'a=http://a:1,b=http://b:1,a=http://c:1', 'entry 3: the broker a is named twice'],
      ['nothing listed', ' , ', 'must list at least one name=url'],
    ])('refuses %s in one line that names the entry', (_case, value, message) => {
      const error = errorOf({ BROKERS: value });
      expect(error.variable).toBe('BROKERS');
      expect(error.message.startsWith(`Invalid configuration: BROKERS ${message}`)).toBe(true);
    });

    it('never echoes a URL, which may carry credentials', () => {
      const error = errorOf({ BROKERS: 'primary=http://u:Zq7SECRET@a:1,secondary=ftp://u:Zq7SECRET@b' });
      expect(error.message).not.toContain('Zq7SECRET');
    });

    it("derives each simulated broker's seed from SIM_SEED: the first keeps it, the others differ", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 999_999_999_999_999 }), (seed) => {
          expect(simulatedBrokerSeed(seed, 0)).toBe(seed);
          const second = simulatedBrokerSeed(seed, 1);
          expect(second).toBe(simulatedBrokerSeed(seed, 1));
          expect(Number.isInteger(second) && second > 0 && second < 2 ** 31).toBe(true);
          expect(second).not.toBe(simulatedBrokerSeed(seed, 2));
        }),
      );
    });
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', KAFKA_BROKERS: '' });
    expect(config.PORT).toBe(3000);
    expect(config.KAFKA_BROKERS).toBeUndefined();
  });

  it('parses fault specs and latency ranges on their own, for the session flags', () => {
    expect(faultSpec.parse('reject=1, partial=0.3').probabilities.partial).toBe(0.3);
    expect(latencyRange.parse('7')).toEqual({ min: 7, max: 7 });
  });

  it('reads an outage as a probability or as windows of New York market time, several of them allowed', () => {
    expect(faultSpec.parse('outage=0.01')).toMatchObject({ probabilities: { outage: 0.01 }, outageWindows: [] });
    const spec = faultSpec.parse('duplicate=0.1, outage=09:30-09:47,outage=0.2, outage=15:59-24:00');
    expect(spec.probabilities).toMatchObject({ duplicate: 0.1, outage: 0.2 });
    expect(spec.outageWindows).toEqual([
      { from: 9 * 60 + 30, to: 9 * 60 + 47 },
      { from: 15 * 60 + 59, to: 24 * 60 },
    ]);
    expect(spec.outageWindows.map(formatClockWindow)).toEqual(['09:30-09:47', '15:59-24:00']);
    expect(errorOf({ BROKER_FAULTS: 'outage=09:47-09:30' }).message).toBe(
      'Invalid configuration: BROKER_FAULTS entry 1 (outage) needs a probability between 0 and 1, or a New York time window HH:MM-HH:MM that ends after it starts',
    );
  });

  it('parses every window of one day back to itself, and nothing that is not one', () => {
    const hhmm = (minutes: number) =>
      `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 0, max: 1440 }), (from, to) => {
        const window = parseClockWindow(`${hhmm(from)}-${hhmm(to)}`);
        expect(window).toEqual(from < to ? { from, to } : null);
        if (window) expect(formatClockWindow(window)).toBe(`${hhmm(from)}-${hhmm(to)}`);
      }),
    );
  });

  describe('BROKER_FAULTS_<NAME>', () => {
    it('gives one broker its own faults; the others keep BROKER_FAULTS', () => {
      const config = loadConfig({
        BROKER_FAULTS: 'duplicate=0.1',
        BROKER_FAULTS_PRIMARY: 'outage=09:30-09:47',
      });
      expect(faultsOf(config, 'primary')).toEqual(faultSpec.parse('outage=09:30-09:47'));
      expect(faultsOf(config, 'secondary')).toEqual(faultSpec.parse('duplicate=0.1'));
      expect(faultsOf(loadConfig({}), 'primary')).toEqual(faultSpec.parse(''));
    });

    it('knows the brokers of BROKERS when it is set, a dash in a name written as an underscore', () => {
      const config = loadConfig({
        BROKERS: 'ibkr=http://127.0.0.1:1,alpaca-us=http://127.0.0.1:2',
        BROKER_FAULTS_ALPACA_US: 'reject=1',
        BROKER_FAULTS_IBKR: '',
      });
      expect(faultsOf(config, 'alpaca-us').probabilities.reject).toBe(1);
      expect(faultsOf(config, 'ibkr').probabilities.reject).toBe(0);
      expect(brokerFaultsVariable('alpaca-us')).toBe('BROKER_FAULTS_ALPACA_US');
    });

    it('refuses a broker it does not know, and a bad spec, in one line naming the variable', () => {
      expect(errorOf({ BROKER_FAULTS_TERTIARY: 'reject=1' }).message).toBe(
        'Invalid configuration: BROKER_FAULTS_TERTIARY names no broker of this system (known: primary, secondary; the variable is BROKER_FAULTS_ and the name in capitals)',
      );
      expect(errorOf({ BROKERS: 'ibkr=http://127.0.0.1:1', BROKER_FAULTS_PRIMARY: 'reject=1' }).variable).toBe(
        'BROKER_FAULTS_PRIMARY',
      );
      expect(errorOf({ BROKER_FAULTS_SECONDARY: 'outage=09:47-09:30' }).message).toBe(
        'Invalid configuration: BROKER_FAULTS_SECONDARY entry 1 (outage) needs a probability between 0 and 1, or a New York time window HH:MM-HH:MM that ends after it starts',
      );
      const secret = 'Zq7SECRETqZ';
      expect(errorOf({ BROKER_FAULTS_PRIMARY: `duplicate=${secret}` }).message).not.toContain(secret);
    });
  });

  describe('never echoes a value it refuses', () => {
    const MARKER = 'Zq7SECRETqZ';
    const refusal = (variable: string, value: string): ConfigError | null => {
      try {
        loadConfig({ [variable]: value });
        return null;
      } catch (error) {
        if (error instanceof ConfigError) return error;
        throw error;
      }
    };

    it.each([
      ['DATABASE_URL', `mysql://orders:${MARKER}@db:3306/orders`],
      ['DATABASE_URL', `postgres://orders:${MARKER} @db:5432/orders`],
      ['OPS_API_KEY', MARKER],
      ['OPS_API_KEY', `${MARKER} ${MARKER} ${MARKER}`],
      ['FILL_RECEIVER_SECRET', MARKER],
      ['BROKER_API_KEY', `${MARKER} x`],
      ['KAFKA_BROKERS', `kafka-1:9092,${MARKER}`],
      ['KAFKA_BROKERS', `${MARKER}:0`],
      ['KAFKA_NAMESPACE', `${MARKER}!`],
      ['BROKER_FAULTS', `duplicate=0.1,${MARKER}=0.2`],
      ['BROKER_FAULTS', `duplicate=${MARKER}`],
      ['BROKER_LATENCY_MS', MARKER],
      ['BROKERS', `primary=http://u:${MARKER}@a:1,${MARKER}=x`],
      ['SIM_SEED', MARKER],
      ['PORT', MARKER],
      ['KAFKA_PARTITIONS', MARKER],
      ['COMMISSION_BPS', MARKER],
      ['LOG_LEVEL', MARKER],
    ])('%s: names the variable, not the value', (variable, value) => {
      const error = refusal(variable, value);
      expect(error?.variable).toBe(variable);
      expect(error!.message).not.toContain(MARKER);
    });

    it('for every variable, whatever the value', () => {
      fc.assert(
        fc.property(fc.constantFrom(...CONFIG_VARIABLES), fc.string(), fc.string(), (variable, before, after) => {
          const error = refusal(variable, `${before}${MARKER}${after}`);
          if (error) expect(error.message).not.toContain(MARKER);
        }),
        { numRuns: 500 },
      );
    });
  });
});
