import type { ClockWindow, FaultProbabilities } from '../../../platform/config.ts';
import { newYorkMinuteOfDay } from '../../market-calendar/calendar.rules.ts';
import { unitFloat } from '../market/random.domain.ts';

export interface FaultSettings {
  seed: number;
  probabilities: FaultProbabilities;
  latencyMs: { min: number; max: number };
  /** Length of one outage window of real time; each window is down with probability `outage`. */
  outageWindowMs: number;
  /** `bust_after=HH:MM`: the broker busts every trade it made at or after this New York time. */
  bustAfter?: string | null;
  /**
   * Windows of the market's New York wall clock in which the broker is down, every day: an outage
   * that lands on a chosen moment of the trading day (the open) rather than at random.
   */
  outageWindows?: readonly ClockWindow[];
}

/** How long after a trade the broker's desk busts it (`bust_after`), on the simulated clock. */
export const BUST_DELAY_MS = 15 * 60_000;

/**
 * Every misbehaviour of the broker, decided by hashing the seed with what is decided and a stable
 * key (the client order id, a report's place in its order, a window of time). The same seed gives
 * the same faults for the same orders, however the requests interleave.
 */
export class FaultPlan {
  readonly settings: FaultSettings;

  constructor(settings: FaultSettings) {
    this.settings = settings;
  }

  private hit(kind: keyof FaultProbabilities, ...key: readonly (string | number)[]): boolean {
    const p = this.settings.probabilities[kind];
    return p > 0 && unitFloat(this.settings.seed, kind, ...key) < p;
  }

  /** The broker refuses the order (a risk or market-access check, as real brokers have). */
  rejects(clientOrderId: string): boolean {
    return this.hit('reject', clientOrderId);
  }

  /** The broker takes the order but its answer comes after the caller has given up. */
  losesAcknowledgement(clientOrderId: string): boolean {
    return this.hit('ack_timeout', clientOrderId);
  }

  /** The order fills in several executions instead of one. */
  fillsInParts(clientOrderId: string): boolean {
    return this.hit('partial', clientOrderId);
  }

  /** The n-th report of an order is never pushed; only the statements show it. */
  dropsReport(clientOrderId: string, reportIndex: number): boolean {
    return this.hit('drop_report', clientOrderId, reportIndex);
  }

  duplicatesReport(clientOrderId: string, reportIndex: number): boolean {
    return this.hit('duplicate', clientOrderId, reportIndex);
  }

  /** The report is held back so that later reports overtake it. */
  reordersReport(clientOrderId: string, reportIndex: number): boolean {
    return this.hit('reorder', clientOrderId, reportIndex);
  }

  /**
   * Whether the broker's API is down (503, nothing pushed): by chance at a real instant, or because
   * the market's clock reads a time inside one of the outage windows.
   */
  isOutage(realMs: number, marketAt?: Date): boolean {
    return this.inOutageWindow(marketAt) || this.hit('outage', Math.floor(realMs / this.settings.outageWindowMs));
  }

  /** Whether the market's clock at `marketAt` is inside an `outage=HH:MM-HH:MM` window. */
  inOutageWindow(marketAt: Date | undefined): boolean {
    const windows = this.settings.outageWindows ?? [];
    if (marketAt === undefined || windows.length === 0) return false;
    const minute = newYorkMinuteOfDay(marketAt);
    return windows.some((window) => minute >= window.from && minute < window.to);
  }

  /**
   * `bust_after`: trades made at or after that New York time of day are busted, and the desk does it
   * once each is at least BUST_DELAY_MS old (2024-08-05: the venue canceled every trade after a cutoff,
   * hours later). Null when the fault is off; otherwise the cutoff and the latest trade time to bust now.
   */
  bustsDue(now: Date): { after: string; madeBy: Date } | null {
    const after = this.settings.bustAfter;
    return after ? { after, madeBy: new Date(now.getTime() - BUST_DELAY_MS) } : null;
  }

  /** Latency of the n-th API call. */
  latencyMs(callIndex: number): number {
    const { min, max } = this.settings.latencyMs;
    return min + Math.floor(unitFloat(this.settings.seed, 'latency', callIndex) * (max - min + 1));
  }
}

export function noFaults(seed = 1): FaultPlan {
  return new FaultPlan({
    seed,
    probabilities: { ack_timeout: 0, duplicate: 0, reorder: 0, drop_report: 0, reject: 0, partial: 0, outage: 0 },
    latencyMs: { min: 0, max: 0 },
    outageWindowMs: 2_000,
  });
}
