import { DomainError } from '../../platform/index.ts';

/**
 * What the trading server needs to know of the market: the instruments with their last prices, and
 * the session clock. The broker is the source (as a real broker's market-data API would be); this
 * port keeps the trading server independent of how it is reached.
 */
export interface Instrument {
  symbol: string;
  name: string;
  lastPrice: string;
  tradable: boolean;
}

export type Session = 'pre' | 'regular' | 'post' | 'closed';

export interface MarketClock {
  now: string;
  session: Session;
  nextOpen: string;
  nextClose: string;
}

export interface MarketData {
  instruments(): Promise<Instrument[]>;
  clock(): Promise<MarketClock>;
}

/**
 * Keeps the last answer for `ttlMs`, so that placing an order does not cost a round trip to the
 * broker; a failed refresh falls back to the last answer rather than failing the request.
 */
export function cachedMarketData(source: MarketData, ttlMs = 250): MarketData {
  const cache = <T>(load: () => Promise<T>) => {
    let value: { at: number; data: T } | undefined;
    let inflight: Promise<T> | undefined;
    return async (): Promise<T> => {
      if (value && Date.now() - value.at < ttlMs) return value.data;
      inflight ??= load()
        .then((data) => {
          value = { at: Date.now(), data };
          return data;
        })
        .catch((error: unknown) => {
          if (value) return value.data;
          throw new DomainError('MARKET_DATA_UNAVAILABLE', 'market data is unavailable; try again shortly', {
            httpStatus: 503,
            details: { cause: error instanceof Error ? error.message : String(error) },
          });
        })
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    };
  };
  return { instruments: cache(() => source.instruments()), clock: cache(() => source.clock()) };
}
