import { describe, expect, it } from 'vitest';
import { ConfigError, faultSpec, latencyRange, loadConfig } from './config.ts';

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
  it('uses the defaults of CONTRACT.md on an empty environment', () => {
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
    expect(config.generated).toEqual({ opsApiKey: true, seed: true });
    expect(Object.values(config.BROKER_FAULTS).every((p) => p === 0)).toBe(true);
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
      generated: { opsApiKey: false, seed: false },
    });
    expect(config.BROKER_FAULTS).toMatchObject({ ack_timeout: 0.05, duplicate: 0.1, reject: 0 });
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
    ['BROKER_FAULTS', 'meteor=0.1'],
    ['BROKER_FAULTS', 'duplicate=1.5'],
    ['BROKER_FAULTS', 'duplicate'],
    ['BROKER_LATENCY_MS', '20-2'],
    ['BROKER_LATENCY_MS', 'fast'],
    ['SIM_SEED', '-1'],
    ['COMMISSION_BPS', 'ten'],
    ['LOG_LEVEL', 'loud'],
  ])('refuses %s=%s with one line naming the variable', (variable, value) => {
    const error = errorOf({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`Invalid configuration: ${variable} `)).toBe(true);
    expect(error.message).not.toContain('\n');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', KAFKA_BROKERS: '' });
    expect(config.PORT).toBe(3000);
    expect(config.KAFKA_BROKERS).toBeUndefined();
  });

  it('parses fault specs and latency ranges on their own, for the session flags', () => {
    expect(faultSpec.parse('reject=1, partial=0.3').partial).toBe(0.3);
    expect(latencyRange.parse('7')).toEqual({ min: 7, max: 7 });
  });
});
