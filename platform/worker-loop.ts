import { Backoff } from './backoff.ts';

export interface WorkerLoopOptions {
  /**
   * One iteration (fetch and handle); returns how long to wait before the next one, 0 to go on at
   * once. `running()` turns false when the loop is being stopped, for work that loops inside.
   */
  work: (running: () => boolean) => Promise<number>;
  /** A failed iteration, before the loop waits `waitMs` (longer each consecutive time) and tries again. */
  onError: (error: unknown, attempt: number, waitMs: number) => void;
  /** The wait after a failure: `initialMs` doubling to `maxMs`, with jitter (platform/backoff.ts). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A wait before the first iteration. */
  startDelayMs?: number;
}

/**
 * The one worker loop (fetch → handle → wait; `wake()` cuts the wait short; `stop()` drains), after
 * pg-boss's Worker. An iteration that throws never ends the loop: it backs off, and a wake does not
 * cut that wait short (it would hammer a dependency that is away), only a stop does.
 */
export class WorkerLoop {
  private active = false;
  private loop: Promise<void> | undefined;
  /** Ends the current wait; set only while the loop waits. */
  private endWait: (() => void) | undefined;
  /** A wake that came while the loop was working: its next idle wait is skipped. */
  private woken = false;

  private readonly options: WorkerLoopOptions;

  constructor(options: WorkerLoopOptions) {
    this.options = options;
  }

  get running(): boolean {
    return this.active;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.woken = false;
    this.loop = this.run();
  }

  /** Something arrived: do not sit out the idle wait. */
  wake(): void {
    if (!this.active) return;
    if (this.endWait) this.endWait();
    else this.woken = true;
  }

  /** Resolves once the iteration under way (if any) has ended; no iteration starts after it is called. */
  async stop(): Promise<void> {
    this.active = false;
    this.endWait?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(this.options.backoff);
    const running = () => this.active;
    if (this.options.startDelayMs) await this.wait(this.options.startDelayMs, false);
    while (this.active) {
      let waitMs: number;
      try {
        waitMs = await this.options.work(running);
        backoff.succeeded();
      } catch (error) {
        const failedWaitMs = backoff.failed();
        this.options.onError(error, backoff.attempts, failedWaitMs);
        await this.wait(failedWaitMs, false);
        continue;
      }
      if (this.woken) {
        this.woken = false;
        continue;
      }
      if (waitMs > 0) await this.wait(waitMs, true);
    }
  }

  private wait(ms: number, wakeable: boolean): Promise<void> {
    if (!this.active) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.endWait = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      // A stop ends any wait; a wake only an idle one (after a failure it is kept for later).
      this.endWait = wakeable
        ? done
        : () => {
            if (!this.active) done();
            else this.woken = true;
          };
    });
  }
}
