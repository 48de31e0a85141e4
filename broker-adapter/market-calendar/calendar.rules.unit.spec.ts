import { describe, expect, it } from 'vitest';
import { dayOrderExpiry, nextClose, nextOpen, nyseHolidays, sessionAt, tradingDateOf } from './calendar.rules.ts';

describe('the US session calendar', () => {
  it.each([
    ['2026-11-24T08:59:00Z', 'closed'], // 03:59 New York (EST, UTC-5)
    ['2026-11-24T09:00:00Z', 'pre'],
    ['2026-11-24T14:29:00Z', 'pre'],
    ['2026-11-24T14:30:00Z', 'regular'],
    ['2026-11-24T20:59:59Z', 'regular'],
    ['2026-11-24T21:00:00Z', 'post'],
    ['2026-11-25T01:00:00Z', 'closed'],
    ['2026-07-15T13:30:00Z', 'regular'], // 09:30 New York in summer time (UTC-4)
    ['2026-11-28T15:00:00Z', 'closed'], // Saturday
    ['2026-11-26T15:00:00Z', 'closed'], // Thanksgiving
  ])('at %s the session is %s', (at, session) => {
    expect(sessionAt(new Date(at))).toBe(session);
  });

  it('knows the NYSE holidays of 2026, including observed ones', () => {
    expect([...nyseHolidays(2026)].sort()).toEqual([
      '2026-01-01',
      '2026-01-19',
      '2026-02-16',
      '2026-04-03',
      '2026-05-25',
      '2026-06-19',
      '2026-07-03',
      '2026-09-07',
      '2026-11-26',
      '2026-12-25',
    ]);
  });

  it('finds the next open and close across a holiday and a weekend', () => {
    const wednesdayEvening = new Date('2026-11-25T23:00:00Z');
    expect(nextOpen(wednesdayEvening).toISOString()).toBe('2026-11-27T14:30:00.000Z');
    expect(nextClose(wednesdayEvening).toISOString()).toBe('2026-11-27T21:00:00.000Z');
    expect(tradingDateOf(new Date('2026-11-25T03:00:00Z'))).toBe('2026-11-24');
  });

  it('expires a day order at the close, or at the end of post-market when it may trade then', () => {
    const morning = new Date('2026-11-24T15:00:00Z');
    expect(dayOrderExpiry(morning, false).toISOString()).toBe('2026-11-24T21:00:00.000Z');
    expect(dayOrderExpiry(morning, true).toISOString()).toBe('2026-11-25T01:00:00.000Z');
    expect(dayOrderExpiry(new Date('2026-11-24T22:00:00Z'), false).toISOString()).toBe('2026-11-25T21:00:00.000Z');
  });
});
