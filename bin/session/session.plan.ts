import { preMarketOpen, sessionAt, type Session } from '../../broker-adapter/index.ts';

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
  orders: number;
  tradingDate: string;
  /** Simulated minutes between clock steps. */
  stepMinutes: number;
}

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META', 'PNNY'] as const;
const DAY_MINUTES = 16 * 60;
/** Share of the day's actions per session: most trading happens in regular hours. */
const SESSION_SHARE: Record<'pre' | 'regular' | 'post', number> = { pre: 0.12, regular: 0.76, post: 0.12 };

export function planSession(options: PlanOptions): PlannedStep[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const start = preMarketOpen(options.tradingDate);
  const steps: PlannedStep[] = [];
  for (let minute = 0, index = 0; minute <= DAY_MINUTES; minute += options.stepMinutes, index++) {
    const at = new Date(start.getTime() + minute * 60_000);
    steps.push({ index, at, session: minute === DAY_MINUTES ? 'closed' : sessionAt(at), actions: [] });
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
  return steps;
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
