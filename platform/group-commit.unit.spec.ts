import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroupCommit, type ItemOutcome } from './group-commit.ts';

/** Lets every queued callback and timer of 0 ms run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('group commit', () => {
  it('given any arrivals, then every item gets its own answer, no batch exceeds its limits, and none waits while a slot is free', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        async (pauses, maxBatch, concurrency) => {
          let running = 0;
          let mostRunning = 0;
          const batches: number[][] = [];
          const commit = new GroupCommit<number, number>({
            maxBatch,
            concurrency,
            run: async (items) => {
              running++;
              mostRunning = Math.max(mostRunning, running);
              batches.push([...items]);
              await settle();
              running--;
              // Odd items are refused on their own; the others are answered with their double.
              return items.map((item): ItemOutcome<number> =>
                item % 2 === 1 ? { ok: false, error: new Error(`refused ${item}`) } : { ok: true, value: item * 2 },
              );
            },
          });
          const answers: Promise<string>[] = [];
          for (const [item, pause] of pauses.entries()) {
            answers.push(
              commit.submit(item).then(
                (value) => `ok ${value}`,
                (error: Error) => error.message,
              ),
            );
            for (let i = 0; i < pause; i++) await settle();
          }
          const got = await Promise.all(answers);
          expect(got).toEqual(pauses.map((_, item) => (item % 2 === 1 ? `refused ${item}` : `ok ${item * 2}`)));
          expect(batches.flat().sort((a, b) => a - b)).toEqual(pauses.map((_, item) => item));
          expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(maxBatch);
          expect(mostRunning).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('given a lone request, when nothing else runs, then it goes at once in a batch of its own', async () => {
    const batches: number[][] = [];
    const commit = new GroupCommit<number, number>({
      maxBatch: 10,
      concurrency: 1,
      run: async (items) => (batches.push([...items]), items.map((item) => ({ ok: true, value: item }))),
    });
    expect(await commit.submit(7)).toBe(7);
    expect(batches).toEqual([[7]]);
  });

  it('given requests arriving while a batch runs, then they go together in the next one', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const commit = new GroupCommit<number, number>({
      maxBatch: 10,
      concurrency: 1,
      run: async (items) => {
        batches.push([...items]);
        if (items[0] === 0) await first;
        return items.map((item) => ({ ok: true, value: item }));
      },
    });
    const answers = [0, 1, 2, 3].map((item) => commit.submit(item));
    await settle();
    release();
    expect(await Promise.all(answers)).toEqual([0, 1, 2, 3]);
    expect(batches).toEqual([[0], [1, 2, 3]]);
  });

  it('given a batch that fails as a whole, then every item of it gets the error and the next batch still runs', async () => {
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const commit = new GroupCommit<number, number>({
      maxBatch: 2,
      concurrency: 1,
      run: async (items) => {
        if (items[0] === 0) await first;
        if (items.includes(1)) throw new Error('database away');
        return items.map((item) => ({ ok: true, value: item }));
      },
    });
    // 0 goes alone; 1 and 2 arrive while it runs and fail together; 3 goes after them.
    const answers = [0, 1, 2, 3].map((item) =>
      commit.submit(item).then(
        (value) => value,
        (error: Error) => error.message,
      ),
    );
    await settle();
    release();
    expect(await Promise.all(answers)).toEqual([0, 'database away', 'database away', 3]);
  });
});
