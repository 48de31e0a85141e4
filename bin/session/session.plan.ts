import { isTradingDay, newYorkTime, preMarketOpen, sessionAt, type Session } from '../../broker-adapter/index.ts';

/**
 * The day a session plays, decided entirely by the seed before anything runs: the clock steps and,
 * for each step, the clients' actions in a fixed order. Prices and holdings are read at run time
 * (they are themselves seeded), so the same seed plays the same day.
 */

/** mulberry32: small, fast, and the same sequence on every machine for one seed. */
export function seededRandom(seed: number): () => number {
  // Seeds go up to 15 digits: fold the high bits in rather than drop them.
  let state = ((seed % 4_294_967_296) ^ Math.floor(seed / 4_294_967_296)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Version-4-shaped UUIDs from the seed: account and order ids are what the broker's seeded faults
 * key on, so they must be the same in every run of one seed.
 */
export function seededIds(seed: number): () => string {
  const random = seededRandom(seed + 0x5eed1d5);
  return () => {
    const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

/** What a client does at one step. Prices are relative to the last price when the step runs. */
export type PlannedAction =
  | { kind: 'market-buy'; account: number; symbol: string; quantity: string; timeInForce: 'day' | 'gtc' }
  | { kind: 'fractional-buy'; account: number; symbol: string; quantity: string }
  | {
      kind: 'limit-buy';
      account: number;
      symbol: string;
      quantity: string;
      priceFactor: number;
      timeInForce: 'day' | 'gtc' | 'ioc';
      extendedHours: boolean;
    }
  | { kind: 'sell-held'; account: number; fraction: number; limitFactor: number | null; extendedHours: boolean }
  | { kind: 'cancel'; account: number }
  | { kind: 'refused'; account: number; reason: RefusalKind };

export const REFUSAL_KINDS = [
  'INSUFFICIENT_BUYING_POWER',
  'INVALID_PRICE_INCREMENT',
  'UNKNOWN_SYMBOL',
  'FRACTIONAL_NOT_ALLOWED',
  'INSUFFICIENT_POSITION',
] as const;
export type RefusalKind = (typeof REFUSAL_KINDS)[number];

export interface PlannedStep {
  index: number;
  at: Date;
  session: Session;
  actions: PlannedAction[];
}

export interface PlanOptions {
  seed: number;
  accounts: number;
  /** Client actions of each trading day. */
  orders: number;
  /** The first trading date. */
  tradingDate: string;
  /** Simulated minutes between clock steps. */
  stepMinutes: number;
  /** Consecutive trading days, from `tradingDate`; the weekends and holidays between them are played too. */
  days?: number;
  /**
   * More steps each day, at these New York times (minutes past midnight): where a broker's outage
   * window starts and ends, so that orders are placed while it is down and again once it is back.
   */
  extraStepMinutes?: readonly number[];
}

/** `count` consecutive trading dates from `first` (a trading date itself). */
export function tradingDates(first: string, count: number): string[] {
  const dates: string[] = [];
  for (let date = first; dates.length < count; date = nextDate(date)) {
    if (isTradingDay(date)) dates.push(date);
  }
  return dates;
}

function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META', 'PNNY'] as const;
const DAY_MINUTES = 16 * 60;
/** 04:00 New York, where each day's steps start. */
const PRE_OPEN_MINUTE = 4 * 60;
/** Share of the day's actions per session: most trading happens in regular hours. */
const SESSION_SHARE: Record<'pre' | 'regular' | 'post', number> = { pre: 0.12, regular: 0.76, post: 0.12 };

/**
 * The session's steps: each trading day from 04:00 to 20:00 New York, and between two days the night:
 * orders placed after the close (they wait for the next open), a step at noon of each weekend day or
 * holiday, and at 03:00 before the next open, cancels of some of those orders.
 */
export function planSession(options: PlanOptions): PlannedStep[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const dates = tradingDates(options.tradingDate, options.days ?? 1);
  const steps: PlannedStep[] = [];
  const addStep = (at: Date, session: Session) => {
    const step: PlannedStep = { index: steps.length, at, session, actions: [] };
    steps.push(step);
    return step;
  };
  for (const [day, date] of dates.entries()) {
    const close = planDay(options, date, random, pick, addStep);
    const next = dates[day + 1];
    if (next) planNight(options, close, date, next, random, pick, addStep);
  }
  return steps;
}

type AddStep = (at: Date, session: Session) => PlannedStep;

function planDay(options: PlanOptions, date: string, random: () => number, pick: Pick, addStep: AddStep): PlannedStep {
  const start = preMarketOpen(date);
  const steps: PlannedStep[] = [];
  const minutes = new Set<number>();
  for (let minute = 0; minute <= DAY_MINUTES; minute += options.stepMinutes) minutes.add(minute);
  for (const extra of options.extraStepMinutes ?? []) {
    if (extra - PRE_OPEN_MINUTE > 0 && extra - PRE_OPEN_MINUTE < DAY_MINUTES) minutes.add(extra - PRE_OPEN_MINUTE);
  }
  for (const minute of [...minutes].sort((a, b) => a - b)) {
    const at = new Date(start.getTime() + minute * 60_000);
    steps.push(addStep(at, minute === DAY_MINUTES ? 'closed' : sessionAt(at)));
  }

  // Deal the actions to sessions by share, then round-robin over that session's steps.
  const bySession = (session: 'pre' | 'regular' | 'post') => steps.filter((step) => step.session === session);
  const pre = Math.round(options.orders * SESSION_SHARE.pre);
  const post = Math.round(options.orders * SESSION_SHARE.post);
  const counts = { pre, post, regular: Math.max(0, options.orders - pre - post) };
  for (const session of ['pre', 'regular', 'post'] as const) {
    const sessionSteps = bySession(session);
    if (sessionSteps.length === 0) continue;
    for (let i = 0; i < counts[session]; i++) {
      const step = sessionSteps[Math.floor((i * sessionSteps.length) / Math.max(1, counts[session]))]!;
      const account = Math.floor(random() * options.accounts);
      step.actions.push(
        session === 'regular' ? regularAction(random, pick, account) : extendedAction(random, pick, account, session),
      );
    }
  }
  return steps.at(-1)!;
}

/** Share of a day's actions placed after its close, to wait for the next open. */
const OVERNIGHT_SHARE = 0.06;

/**
 * After the close of `date` (the step `close`, 20:00): orders that wait for the next open; at noon of
 * each closed day between, nothing but the clock; at 03:00 before `next` opens, cancels of about half
 * of them, by the accounts that placed them (a cancel takes that account's newest open order).
 */
function planNight(
  options: PlanOptions,
  close: PlannedStep,
  date: string,
  next: string,
  random: () => number,
  pick: Pick,
  addStep: AddStep,
): void {
  const count = Math.max(2, Math.round(options.orders * OVERNIGHT_SHARE));
  const accounts: number[] = [];
  for (let i = 0; i < count; i++) {
    const account = Math.floor(random() * options.accounts);
    accounts.push(account);
    const symbol = pick(SYMBOLS);
    const quantity = String(1 + Math.floor(random() * 3));
    const roll = random();
    close.actions.push(
      roll < 0.5
        ? { kind: 'market-buy', account, symbol, quantity, timeInForce: 'day' }
        : {
            kind: 'limit-buy',
            account,
            symbol,
            quantity,
            priceFactor: roll < 0.75 ? 1.01 : 0.95,
            timeInForce: roll < 0.75 ? 'day' : 'gtc',
            extendedHours: false,
          },
    );
  }
  for (let day = nextDate(date); day !== next; day = nextDate(day)) addStep(newYorkTime(day, 12 * 60), 'closed');
  const beforeOpen = addStep(newYorkTime(next, 3 * 60), 'closed');
  for (const account of accounts.filter((_, i) => i % 2 === 0)) beforeOpen.actions.push({ kind: 'cancel', account });
}

type Pick = <T>(items: readonly T[]) => T;

function regularAction(random: () => number, pick: Pick, account: number): PlannedAction {
  const roll = random();
  const symbol = pick(SYMBOLS);
  const wholeQuantity = String(1 + Math.floor(random() * 5));
  if (roll < 0.2) return { kind: 'market-buy', account, symbol, quantity: wholeQuantity, timeInForce: 'day' };
  if (roll < 0.3) return { kind: 'fractional-buy', account, symbol, quantity: (0.01 + random() * 0.9).toFixed(4) };
  if (roll < 0.4)
    return {
      kind: 'limit-buy',
      account,
      symbol,
      quantity: wholeQuantity,
      priceFactor: 1.02,
      timeInForce: 'day',
      extendedHours: false,
    };
  if (roll < 0.48)
    return {
      kind: 'limit-buy',
      account,
      symbol,
      quantity: wholeQuantity,
      priceFactor: 0.97 + random() * 0.025,
      timeInForce: 'day',
      extendedHours: false,
    };
  if (roll < 0.53)
    return {
      kind: 'limit-buy',
      account,
      symbol,
      quantity: wholeQuantity,
      priceFactor: 0.9,
      timeInForce: 'gtc',
      extendedHours: false,
    };
  if (roll < 0.58)
    return {
      kind: 'limit-buy',
      account,
      symbol,
      quantity: wholeQuantity,
      priceFactor: random() < 0.5 ? 1.01 : 0.98,
      timeInForce: 'ioc',
      extendedHours: false,
    };
  if (roll < 0.62) return { kind: 'market-buy', account, symbol, quantity: wholeQuantity, timeInForce: 'gtc' };
  if (roll < 0.8)
    return {
      kind: 'sell-held',
      account,
      fraction: random() < 0.5 ? 1 : 0.5,
      limitFactor: random() < 0.3 ? 1.03 : null,
      extendedHours: false,
    };
  if (roll < 0.9) return { kind: 'cancel', account };
  return { kind: 'refused', account, reason: pick(REFUSAL_KINDS) };
}

function extendedAction(random: () => number, pick: Pick, account: number, session: 'pre' | 'post'): PlannedAction {
  const roll = random();
  const symbol = pick(SYMBOLS);
  const quantity = String(1 + Math.floor(random() * 3));
  if (roll < 0.45)
    return {
      kind: 'limit-buy',
      account,
      symbol,
      quantity,
      priceFactor: random() < 0.6 ? 1.01 : 0.98,
      timeInForce: 'day',
      extendedHours: true,
    };
  // Placed before the open, a plain market order waits for the regular session.
  if (roll < 0.6 && session === 'pre') return { kind: 'market-buy', account, symbol, quantity, timeInForce: 'day' };
  if (roll < 0.8) return { kind: 'sell-held', account, fraction: 1, limitFactor: 0.99, extendedHours: true };
  if (roll < 0.9) return { kind: 'cancel', account };
  return { kind: 'refused', account, reason: pick(REFUSAL_KINDS) };
}
