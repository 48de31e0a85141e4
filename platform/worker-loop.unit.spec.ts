import { describe, expect, it } from 'vitest';
import { WorkerLoop } from './worker-loop.ts';

/** A promise the test settles. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every queued callback and timer of 0 ms run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A loop whose iterations the test observes: each one resolves the next of `iterations`. */
function observedLoop(work: (n: number) => Promise<number>, options: { backoffMs?: number } = {}) {
  const errors: number[] = [];
  let n = 0;
  const reached: Array<ReturnType<typeof deferred>> = [];
  const iteration = (i: number) => (reached[i] ??= deferred());
  const loop = new WorkerLoop({
    work: async () => {
      const i = n++;
      iteration(i).resolve();
      return work(i);
    },
    onError: (_error, attempt) => errors.push(attempt),
    backoff: { initialMs: options.backoffMs ?? 1, maxMs: options.backoffMs ?? 1 },
  });
  return { loop, errors, iteration: (i: number) => iteration(i).promise, count: () => n };
}

describe('the worker loop', () => {
  it('given an idle wait of a minute, when woken, then the next iteration runs at once', async () => {
    const { loop, iteration, count } = observedLoop(async () => 60_000);
    loop.start();
    await iteration(0);
    await settle();
    expect(count()).toBe(1);
    loop.wake();
    await iteration(1);
    await loop.stop();
  });

  it('skips the idle wait after a wake that came while it was working', async () => {
    const gate = deferred();
    const { loop, iteration } = observedLoop(async (n) => {
      if (n === 0) await gate.promise;
      return 60_000;
    });
    loop.start();
    await iteration(0);
    loop.wake();
    gate.resolve();
    await iteration(1);
    await loop.stop();
  });

  it('stop resolves only after the iteration under way has ended, and no iteration starts after it', async () => {
    const gate = deferred();
    let ended = false;
    const { loop, iteration, count } = observedLoop(async () => {
      await gate.promise;
      ended = true;
      return 0;
    });
    loop.start();
    await iteration(0);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(ended).toBe(true);
    expect(count()).toBe(1);
    expect(loop.running).toBe(false);
  });

  it('stop ends an idle wait of a minute', async () => {
    const { loop, iteration } = observedLoop(async () => 60_000);
    loop.start();
    await iteration(0);
    await loop.stop();
    expect(loop.running).toBe(false);
  });

  it('a failing iteration backs off, counting its attempts, and the loop goes on when the work works again', async () => {
    const { loop, iteration, errors } = observedLoop(async (n) => {
      if (n < 3) throw new Error('database away');
      return 60_000;
    });
    loop.start();
    await iteration(3);
    expect(errors).toEqual([1, 2, 3]);
    await loop.stop();
  });

  it('a wake does not cut short the wait after a failure, and a stop does', async () => {
    const { loop, iteration, count, errors } = observedLoop(
      async () => {
        throw new Error('database away');
      },
      { backoffMs: 60_000 },
    );
    loop.start();
    await iteration(0);
    await settle();
    loop.wake();
    await settle();
    expect(count()).toBe(1);
    expect(errors).toEqual([1]);
    await loop.stop();
    expect(count()).toBe(1);
  });

  it('tells the work when it is being stopped', async () => {
    const seen: boolean[] = [];
    const gate = deferred();
    const loop = new WorkerLoop({
      work: async (running) => {
        seen.push(running());
        await gate.promise;
        seen.push(running());
        return 0;
      },
      onError: () => {},
    });
    loop.start();
    await settle();
    const stopping = loop.stop();
    gate.resolve();
    await stopping;
    expect(seen).toEqual([true, false]);
  });
});
