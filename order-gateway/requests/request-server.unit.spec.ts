import { describe, expect, it } from 'vitest';
import { tradableIn, unknownBackoffMs } from './request-server.ts';

describe('request server rules', () => {
  it.each([
    ['regular', false, true],
    ['regular', true, true],
    ['pre', false, false],
    ['pre', true, true],
    ['post', false, false],
    ['post', true, true],
    ['closed', false, false],
    ['closed', true, false],
  ] as const)(
    'in the %s session an order with extendedHours=%s may go to the broker: %s',
    (session, extendedHours, expected) => {
      expect(tradableIn(session, extendedHours)).toBe(expected);
    },
  );

  it('backs off from 100 ms, doubling, to at most 5 s, with jitter of up to half', () => {
    for (let attempts = 1; attempts <= 12; attempts++) {
      const base = Math.min(5_000, 100 * 2 ** (attempts - 1));
      for (let i = 0; i < 50; i++) {
        const wait = unknownBackoffMs(attempts);
        expect(wait).toBeGreaterThanOrEqual(base / 2);
        expect(wait).toBeLessThanOrEqual(base);
      }
    }
  });
});
