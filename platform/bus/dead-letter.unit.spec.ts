import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BusMessage } from './bus.ts';
import { withDeadLetters } from './dead-letter.ts';

class Transient extends Error {}

const message = (offset: number): BusMessage => ({
  topic: 't',
  partition: 0,
  offset: String(offset),
  key: 'k',
  value: String(offset),
  headers: {},
});

/**
 * Drives a wrapped handler as a bus does: the same batch again after every throw, until it returns.
 * The inner handler applies a batch all or nothing (one transaction) and fails on a poison message
 * every time, and on the first `outage` calls whatever the batch holds.
 */
function run(options: { size: number; poison: Set<number>; outage: number; maxAttempts: number }) {
  const applied = new Map<number, number>();
  const parked: Array<{ offset: number; attempts: number }> = [];
  let calls = 0;
  const handler = withDeadLetters(
    async (messages) => {
      calls++;
      if (calls <= options.outage) throw new Transient('database away');
      if (messages.some((m) => options.poison.has(Number(m.offset)))) throw new Error('cannot store');
      for (const m of messages) applied.set(Number(m.offset), (applied.get(Number(m.offset)) ?? 0) + 1);
    },
    {
      maxAttempts: options.maxAttempts,
      isTransient: (error) => error instanceof Transient,
      park: async (m, _error, attempts) => void parked.push({ offset: Number(m.offset), attempts }),
    },
  );
  return { applied, parked, handler };
}

async function deliverUntilDone(handler: (m: readonly BusMessage[]) => Promise<void>, batch: BusMessage[]) {
  let redeliveries = 0;
  for (;;) {
    try {
      await handler(batch);
      return redeliveries;
    } catch {
      redeliveries++;
      if (redeliveries > 10_000) throw new Error('never got past the batch');
    }
  }
}

describe('withDeadLetters', () => {
  it('parks exactly the poison messages, each after maxAttempts failures, and applies every other one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.nat(11), { maxLength: 4 }),
        fc.nat(6),
        fc.integer({ min: 1, max: 5 }),
        async (size, poisonAt, outage, maxAttempts) => {
          const poison = new Set(poisonAt.filter((i) => i < size));
          const { applied, parked, handler } = run({ size, poison, outage, maxAttempts });
          const batch = Array.from({ length: size }, (_, i) => message(i));
          const redeliveries = await deliverUntilDone(handler, batch);

          expect(parked.map((p) => p.offset).sort((a, b) => a - b)).toEqual([...poison].sort((a, b) => a - b));
          for (const p of parked) expect(p.attempts).toBe(maxAttempts);
          for (let i = 0; i < size; i++) {
            if (!poison.has(i)) expect(applied.get(i) ?? 0).toBeGreaterThanOrEqual(1);
          }
          // Bounded: the outage, plus fewer than maxAttempts tries of each poison message.
          expect(redeliveries).toBeLessThanOrEqual(outage + poison.size * (maxAttempts - 1));
        },
      ),
    );
  });

  it('never counts a transient failure: an outage longer than the bound parks nothing', async () => {
    const { parked, applied, handler } = run({ size: 3, poison: new Set(), outage: 50, maxAttempts: 3 });
    await deliverUntilDone(handler, [message(0), message(1), message(2)]);
    expect(parked).toEqual([]);
    expect([...applied.keys()].sort()).toEqual([0, 1, 2]);
  });
});
