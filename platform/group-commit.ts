/**
 * Group commit: requests that arrive while earlier ones are being written wait, and go together in the
 * next batch (up to `maxBatch`), which `run` writes in one transaction. Nothing waits for a timer: a
 * lone request goes at once, and under load the batch is whatever arrived during the last one, so the
 * batch grows with the load and the wait stays one transaction long. At most `concurrency` batches
 * run at once.
 *
 * `run` answers each item on its own (a value, or an error for that item alone); if it throws, every
 * item of the batch gets that error.
 */
export type ItemOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface GroupCommitOptions<I, O> {
  run(items: readonly I[]): Promise<readonly ItemOutcome<O>[]>;
  maxBatch: number;
  concurrency: number;
  /** Told of each batch's size when it starts (a metric). */
  onBatch?: (size: number) => void;
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export class GroupCommit<I, O> {
  private readonly queue: Waiting<I, O>[] = [];
  private running = 0;

  private readonly options: GroupCommitOptions<I, O>;

  constructor(options: GroupCommitOptions<I, O>) {
    this.options = options;
    if (!(options.maxBatch >= 1) || !(options.concurrency >= 1)) {
      throw new Error('a group commit needs maxBatch and concurrency of at least 1');
    }
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.startBatches();
    });
  }

  private startBatches(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running++;
      void this.runBatch(batch).finally(() => {
        this.running--;
        this.startBatches();
      });
    }
  }

  private async runBatch(batch: Waiting<I, O>[]): Promise<void> {
    this.options.onBatch?.(batch.length);
    let outcomes: readonly ItemOutcome<O>[];
    try {
      outcomes = await this.options.run(batch.map((waiting) => waiting.item));
      if (outcomes.length !== batch.length) throw new Error('a group commit answered a batch with the wrong count');
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) waiting.resolve(outcome.value);
      else waiting.reject(outcome.error);
    });
  }
}
