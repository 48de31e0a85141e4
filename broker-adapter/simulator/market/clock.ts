import { nextClose, nextOpen, preMarketOpen, sessionAt, type Session } from '../../market-calendar/calendar.rules.ts';

/**
 * The broker's idea of "now". Everything in the simulator reads time through one of these, so a
 * whole trading day can run in a minute and tests can step time by hand.
 */
export interface SimClock {
  readonly kind: 'real' | 'always-open' | 'accelerated' | 'manual';
  now(): Date;
  /** The session at `at`; an always-open clock never closes. */
  session(at: Date): Session;
}

export interface MarketClockView {
  now: string;
  session: Session;
  nextOpen: string;
  nextClose: string;
}

export function describeClock(clock: SimClock, at: Date = clock.now()): MarketClockView {
  return {
    now: at.toISOString(),
    session: clock.session(at),
    nextOpen: nextOpen(at).toISOString(),
    nextClose: nextClose(at).toISOString(),
  };
}

export function realClock(): SimClock {
  return { kind: 'real', now: () => new Date(), session: sessionAt };
}

/** Real time, but every moment is regular hours: for trying the system at night or on a weekend. */
export function alwaysOpenClock(): SimClock {
  return { kind: 'always-open', now: () => new Date(), session: () => 'regular' };
}

/** The trading day from pre-market open to post-market close: 16 hours. */
export const TRADING_DAY_MS = 16 * 3_600_000;

export interface AcceleratedClockOptions {
  /** The trading date (YYYY-MM-DD, New York) to start at, at 04:00 New York. */
  tradingDate?: string;
  /** Or any instant to start at. */
  startAt?: Date;
  /** Real seconds that one trading day (04:00–20:00 New York) takes. */
  daySeconds: number;
  /** The real time source; tests may pass their own. */
  realNow?: () => number;
}

/** Simulated time running `TRADING_DAY_MS / daySeconds` times faster than real time. */
export function acceleratedClock(options: AcceleratedClockOptions): SimClock & { readonly factor: number } {
  if (!(options.daySeconds > 0)) throw new Error('daySeconds must be positive');
  const realNow = options.realNow ?? Date.now;
  const start = options.startAt ?? (options.tradingDate ? preMarketOpen(options.tradingDate) : new Date());
  const realStart = realNow();
  const factor = TRADING_DAY_MS / (options.daySeconds * 1000);
  return {
    kind: 'accelerated',
    factor,
    now: () => new Date(start.getTime() + Math.floor((realNow() - realStart) * factor)),
    session: sessionAt,
  };
}

/** A clock that moves only when told to: for tests. */
export interface ManualClock extends SimClock {
  set(at: Date): void;
  advance(ms: number): void;
}

export function manualClock(start: Date): ManualClock {
  let current = start.getTime();
  return {
    kind: 'manual',
    now: () => new Date(current),
    session: sessionAt,
    set: (at) => {
      current = at.getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}
