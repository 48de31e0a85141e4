import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

function errorOf(value: string): ConfigError {
  try {
    loadConfig({ BROKER_RATE_LIMITS: value });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('BROKER_RATE_LIMITS', () => {
  it('is no limit when unset', () => {
    expect(loadConfig({}).BROKER_RATE_LIMITS).toBeUndefined();
  });

  it('reads each broker its rate and burst; the burst defaults to one second of the rate', () => {
    const limits = loadConfig({ BROKER_RATE_LIMITS: 'primary=200:50, secondary=0.5 ,third=12.5' }).BROKER_RATE_LIMITS;
    expect(limits && Object.fromEntries(limits)).toEqual({
      primary: { perSecond: 200, burst: 50 },
      secondary: { perSecond: 0.5, burst: 1 },
      third: { perSecond: 12.5, burst: 13 },
    });
  });

  it.each([
    ['no rate', 'primary', 'entry 1 must be name=perSecond[:burst]'],
    ['a bad name', 'primary=10,Second=5', 'entry 2 must be name=perSecond[:burst]'],
    ['a rate of zero', 'primary=0', 'entry 1 (primary) needs a rate per second above 0'],
    ['a negative rate', 'primary=-5', 'entry 1 (primary) needs a rate per second above 0'],
    ['a rate that is not a number', 'primary=fast', 'entry 1 (primary) needs a rate per second above 0'],
    ['a rate too high', 'primary=1e9', 'entry 1 (primary) needs a rate per second above 0'],
    ['a fractional burst', 'primary=10:2.5', 'entry 1 (primary) needs a burst that is a whole number'],
    ['a burst of zero', 'primary=10:0', 'entry 1 (primary) needs a burst that is a whole number'],
    ['an empty burst', 'primary=10:', 'entry 1 (primary) needs a burst that is a whole number'],
    ['two colons', 'primary=10:5:5', 'entry 1 (primary) needs a burst that is a whole number'],
    ['one broker twice', 'primary=10,primary=20', 'entry 2: the broker primary is limited twice'],
    ['nothing but commas', ',,', 'must list at least one name=perSecond[:burst]'],
  ])('refuses %s in one line naming the variable and the entry', (_case, value, detail) => {
    const error = errorOf(value);
    expect(error.variable).toBe('BROKER_RATE_LIMITS');
    expect(error.message).toContain(`Invalid configuration: BROKER_RATE_LIMITS ${detail}`);
    expect(error.message).not.toContain('\n');
  });
});
