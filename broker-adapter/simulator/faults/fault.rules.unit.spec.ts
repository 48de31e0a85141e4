import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultSpec } from '../../../platform/config.ts';
import { FaultPlan } from './fault.rules.ts';

const planOf = (spec: string, seed = 7) => {
  const { probabilities, outageWindows } = faultSpec.parse(spec);
  return new FaultPlan({ seed, probabilities, outageWindows, latencyMs: { min: 0, max: 0 }, outageWindowMs: 1_000 });
};

const MINUTE = 60_000;

describe('an outage window of market time', () => {
  const open = planOf('outage=09:30-09:47');

  it('is New York time: 09:30 is 14:30 UTC in winter and 13:30 UTC in summer', () => {
    expect(open.isOutage(0, new Date('2026-11-24T14:30:00Z'))).toBe(true);
    expect(open.isOutage(0, new Date('2026-11-24T13:30:00Z'))).toBe(false);
    expect(open.isOutage(0, new Date('2026-07-14T13:30:00Z'))).toBe(true);
    expect(open.isOutage(0, new Date('2026-07-14T14:30:00Z'))).toBe(false);
  });

  it('starts at its first minute and ends before its last, every day', () => {
    const day = (date: string, hhmmss: string) => new Date(`${date}T${hhmmss}-05:00`);
    for (const date of ['2026-03-02', '2026-11-24', '2026-12-25']) {
      expect(open.isOutage(0, day(date, '09:29:59'))).toBe(false);
      expect(open.isOutage(0, day(date, '09:30:00'))).toBe(true);
      expect(open.isOutage(0, day(date, '09:46:59'))).toBe(true);
      expect(open.isOutage(0, day(date, '09:47:00'))).toBe(false);
    }
  });

  it('decides by the market clock alone: inside, down at any real instant; outside, up at any real instant', () => {
    const start = Date.parse('2026-11-24T14:30:00Z');
    fc.assert(
      fc.property(fc.integer({ min: -60, max: 60 }), fc.integer({ min: 0, max: 2 ** 40 }), (minute, realMs) => {
        const at = new Date(start + minute * MINUTE);
        expect(open.isOutage(realMs, at)).toBe(minute >= 0 && minute < 17);
      }),
    );
  });

  it('adds to the probability form, which keeps working on real time with or without a market clock', () => {
    const both = planOf('outage=0.5,outage=09:30-09:47', 3);
    const chance = planOf('outage=0.5', 3);
    const noon = new Date('2026-11-24T17:00:00Z');
    const windows = Array.from({ length: 200 }, (_, w) => w * 1_000);
    for (const realMs of windows) {
      expect(both.isOutage(realMs, noon)).toBe(chance.isOutage(realMs));
      expect(chance.isOutage(realMs, noon)).toBe(chance.isOutage(realMs));
      expect(both.isOutage(realMs, new Date('2026-11-24T14:40:00Z'))).toBe(true);
    }
    expect(windows.some((realMs) => chance.isOutage(realMs))).toBe(true);
    expect(windows.every((realMs) => chance.isOutage(realMs))).toBe(false);
  });

  it('without a market instant, only the probability counts', () => {
    expect(open.isOutage(0)).toBe(false);
    expect(open.inOutageWindow(undefined)).toBe(false);
  });
});
