import { retryDelayMs } from './bus/bus.ts';

/**
 * The wait of a worker loop whose step failed (PostgreSQL or the bus away): 100 ms doubling to 5 s,
 * with jitter, so an outage costs a few attempts a second at first and one every few seconds later,
 * and the loop resumes by itself within seconds of the dependency's return.
 */
export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(options: { initialMs?: number; maxMs?: number } = {}) {
    this.initialMs = options.initialMs ?? 100;
    this.maxMs = options.maxMs ?? 5_000;
  }

  /** Counts one more failure and returns how long to wait before the next attempt. */
  failed(): number {
    this.failures++;
    return retryDelayMs(this.failures, this.initialMs, this.maxMs);
  }

  succeeded(): void {
    this.failures = 0;
  }

  /** Consecutive failures so far (0 after a success): logs say how long an outage has lasted. */
  get attempts(): number {
    return this.failures;
  }
}

/** Waits `ms`, or less if `stillWaiting` turns false (a loop being stopped must not sit out a long backoff). */
export async function pauseWhile(ms: number, stillWaiting: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (stillWaiting() && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - Date.now())));
  }
}
