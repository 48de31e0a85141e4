import { Decimal, dec } from '../../../platform/decimal.ts';
import { hash53, normalStream, randomStream } from './random.domain.ts';

export interface Instrument {
  symbol: string;
  name: string;
  /** The price at the start of the simulation. */
  startPrice: string;
  /** Annualised volatility of the random walk. */
  volatility: number;
  tradable: boolean;
}

/** docs/api.md's instruments, plus one under $1 to exercise four-decimal prices. */
export const INSTRUMENTS: readonly Instrument[] = [
  { symbol: 'AAPL', name: 'Apple Inc.', startPrice: '187.25', volatility: 0.25, tradable: true },
  { symbol: 'MSFT', name: 'Microsoft Corporation', startPrice: '415.10', volatility: 0.25, tradable: true },
  { symbol: 'NVDA', name: 'NVIDIA Corporation', startPrice: '121.40', volatility: 0.5, tradable: true },
  { symbol: 'TSLA', name: 'Tesla, Inc.', startPrice: '248.50', volatility: 0.6, tradable: true },
  { symbol: 'AMZN', name: 'Amazon.com, Inc.', startPrice: '182.30', volatility: 0.3, tradable: true },
  { symbol: 'GOOGL', name: 'Alphabet Inc. Class A', startPrice: '165.80', volatility: 0.3, tradable: true },
  { symbol: 'META', name: 'Meta Platforms, Inc.', startPrice: '512.60', volatility: 0.35, tradable: true },
  { symbol: 'PNNY', name: 'Penny Holdings Corp.', startPrice: '0.4213', volatility: 0.9, tradable: true },
];

/** One step of the walk per simulated minute; a regular session is 390 steps. */
export const PRICE_STEP_MS = 60_000;
const STEPS_PER_YEAR = 252 * 390;

/** Prices at or above $1 trade in cents, below $1 in hundredths of a cent (Reg NMS rule 612). */
export function roundToTick(price: Decimal): Decimal {
  return price.gte(1) ? price.toDecimalPlaces(2) : price.toDecimalPlaces(4);
}

export function isValidTick(price: Decimal): boolean {
  return price.gte(1) ? price.decimalPlaces() <= 2 : price.decimalPlaces() <= 4;
}

export interface PricePathOptions {
  seed: number;
  /** Step 0 of every path; earlier instants get the start price. */
  anchor: Date;
  instruments?: readonly Instrument[];
  /** Multiplies every volatility, e.g. to see limit orders fill within a short accelerated day. */
  volatilityScale?: number;
  /** Replayed prices per symbol, one per step (the last repeats); replaces the walk for that symbol. */
  replay?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Seeded geometric random walks, one per symbol, evaluated lazily and cached: the price of a symbol at
 * an instant depends only on the seed, the anchor and the instant.
 */
export class PricePath {
  private readonly options: PricePathOptions;
  private readonly bySymbol = new Map<string, Instrument>();
  private readonly logPrices = new Map<string, number[]>();
  private readonly draws = new Map<string, () => number>();

  constructor(options: PricePathOptions) {
    this.options = options;
    for (const instrument of options.instruments ?? INSTRUMENTS) this.bySymbol.set(instrument.symbol, instrument);
  }

  instruments(): readonly Instrument[] {
    return [...this.bySymbol.values()];
  }

  instrument(symbol: string): Instrument | undefined {
    return this.bySymbol.get(symbol);
  }

  /** The traded price of `symbol` at `at`, on the tick grid. */
  priceAt(symbol: string, at: Date): Decimal {
    const instrument = this.bySymbol.get(symbol);
    if (!instrument) throw new Error(`unknown symbol ${symbol}`);
    const step = Math.max(0, Math.floor((at.getTime() - this.options.anchor.getTime()) / PRICE_STEP_MS));
    const replay = this.options.replay?.get(symbol);
    if (replay && replay.length > 0) return roundToTick(dec(replay[Math.min(step, replay.length - 1)]!));
    const path = this.path(instrument, step);
    const price = dec(instrument.startPrice).mul(dec(Math.exp(path[step]!).toPrecision(15)));
    const floor = dec('0.0001');
    return roundToTick(price.lt(floor) ? floor : price);
  }

  /**
   * The lowest and highest prices traded after `from` up to and including `to`, counting only the
   * minutes for which `open` says the market was trading; null when there were none. A long stretch
   * is scanned at most `maxSteps` back from `to`.
   */
  rangeBetween(
    symbol: string,
    from: Date,
    to: Date,
    open: (at: Date) => boolean,
    maxSteps = 20_000,
  ): { low: Decimal; high: Decimal } | null {
    const anchor = this.options.anchor.getTime();
    const stepOf = (at: Date) => Math.max(0, Math.floor((at.getTime() - anchor) / PRICE_STEP_MS));
    const last = stepOf(to);
    const first = Math.max(stepOf(from) + 1, last - maxSteps);
    let range: { low: Decimal; high: Decimal } | null = null;
    for (let step = first; step <= last; step++) {
      const at = new Date(anchor + step * PRICE_STEP_MS);
      if (!open(at)) continue;
      const price = this.priceAt(symbol, at);
      range = range
        ? { low: Decimal.min(range.low, price), high: Decimal.max(range.high, price) }
        : { low: price, high: price };
    }
    return range;
  }

  private path(instrument: Instrument, step: number): number[] {
    let path = this.logPrices.get(instrument.symbol);
    let draw = this.draws.get(instrument.symbol);
    if (!path || !draw) {
      path = [0];
      draw = normalStream(randomStream(hash53(`${this.options.seed}|price|${instrument.symbol}`)));
      this.logPrices.set(instrument.symbol, path);
      this.draws.set(instrument.symbol, draw);
    }
    const sigma = (instrument.volatility * (this.options.volatilityScale ?? 1)) / Math.sqrt(STEPS_PER_YEAR);
    while (path.length <= step) {
      // Drift -sigma^2/2 keeps the expected price flat: no free lunch in the simulator.
      path.push(path[path.length - 1]! + sigma * draw() - (sigma * sigma) / 2);
    }
    return path;
  }
}

/**
 * A replay file: lines `symbol,price` in step order (a header line is skipped). Prices are decimal
 * strings; a symbol's n-th line is its price at step n.
 */
export function parseReplayCsv(text: string): Map<string, string[]> {
  const replay = new Map<string, string[]>();
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || (index === 0 && /symbol/i.test(trimmed))) continue;
    const [symbol, price] = trimmed.split(',').map((s) => s.trim());
    if (!symbol || !price || !/^\d+(\.\d+)?$/.test(price) || dec(price).lte(0)) {
      throw new Error(`replay line ${index + 1} is not "symbol,price": ${line}`);
    }
    const prices = replay.get(symbol) ?? [];
    prices.push(price);
    replay.set(symbol, prices);
  }
  return replay;
}
