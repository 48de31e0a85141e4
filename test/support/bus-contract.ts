import { afterAll, describe, expect, it } from 'vitest';
import type { Bus, BusMessage, Subscription } from '../../platform/index.ts';
import { uniqueName } from './names.ts';

/**
 * The guarantees every Bus implementation gives (see platform/bus/bus.ts), as one suite that runs
 * against the in-process bus and against real Kafka.
 */
export function describeBusContract(label: string, makeBus: () => Bus) {
  describe(`Bus contract: ${label}`, () => {
    const bus = makeBus();
    const subscriptions: Subscription[] = [];
    afterAll(async () => {
      await Promise.all(subscriptions.map((s) => s.stop().catch(() => undefined)));
      await bus.close();
    });

    async function newTopic(partitions = 3) {
      const topic = uniqueName('contract');
      await bus.ensureTopics([{ name: topic, partitions }]);
      return topic;
    }

    async function consume(
      groupId: string,
      topic: string,
      handle: (messages: readonly BusMessage[]) => Promise<void>,
      maxBatchSize?: number,
    ) {
      const subscription = await bus.consume({ groupId, topics: [topic], handleBatch: handle, maxBatchSize });
      subscriptions.push(subscription);
      return subscription;
    }

    it('delivers messages of one key in the order they were published', async () => {
      const topic = await newTopic(3);
      const keys = ['acct-1', 'acct-2', 'acct-3', 'acct-4', 'acct-5'];
      const total = 250;
      for (let start = 0; start < total; start += 25) {
        await bus.publish(
          topic,
          Array.from({ length: 25 }, (_, i) => ({ key: keys[(start + i) % keys.length]!, value: String(start + i) })),
        );
      }
      const seen = new Map<string, number[]>();
      let count = 0;
      await consume(
        uniqueName('group'),
        topic,
        async (messages) => {
          for (const m of messages) {
            seen.set(m.key, [...(seen.get(m.key) ?? []), Number(m.value)]);
            count++;
          }
        },
        7,
      );
      const distinct = () => new Set([...seen.values()].flat()).size;
      await waitFor(() => distinct() >= total);
      // Delivery is at least once: a rebalance may deliver an uncommitted batch again. What must hold
      // is that every message arrives and that no message arrives before one published ahead of it
      // under its key, so the first arrivals of a key are in publication order.
      expect(count).toBeGreaterThanOrEqual(total);
      for (const key of keys) {
        const firstArrivals = [...new Set(seen.get(key) ?? [])];
        expect(firstArrivals).toHaveLength(total / keys.length);
        expect(firstArrivals).toEqual([...firstArrivals].sort((a, b) => a - b));
      }
    });

    it('retries a failing handler with the same batch and never skips it', async () => {
      const topic = await newTopic(1);
      await bus.publish(
        topic,
        Array.from({ length: 30 }, (_, i) => ({ key: 'k', value: String(i) })),
      );
      const handled: number[] = [];
      let failuresLeft = 3;
      await consume(
        uniqueName('group'),
        topic,
        async (messages) => {
          if (messages.some((m) => m.value === '12') && failuresLeft > 0) {
            failuresLeft--;
            throw new Error('handler failed');
          }
          handled.push(...messages.map((m) => Number(m.value)));
        },
        5,
      );
      await waitFor(() => handled.length >= 30);
      expect(failuresLeft).toBe(0);
      // Nothing lost, nothing out of order, and a failed batch was not half-applied.
      expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => i));
    });

    it('a consumer restarted mid-stream resumes after its last commit', async () => {
      const topic = await newTopic(2);
      const groupId = uniqueName('group');
      const values = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % 4}`, value: String(from + i) }));
      await bus.publish(topic, values(0, 40));

      const firstRun: number[] = [];
      const first = await consume(
        groupId,
        topic,
        async (messages) => {
          firstRun.push(...messages.map((m) => Number(m.value)));
        },
        4,
      );
      // Distinct values: a commit that fails (say, while the group coordinator is still being
      // elected) legitimately redelivers, so a raw count could pass 40 before all 40 were handled.
      await waitFor(() => new Set(firstRun).size >= 40);
      await first.stop();

      await bus.publish(topic, values(40, 40));
      const secondRun: number[] = [];
      await consume(
        groupId,
        topic,
        async (messages) => {
          secondRun.push(...messages.map((m) => Number(m.value)));
        },
        4,
      );
      await waitFor(() => secondRun.length >= 40);
      // Everything the first run finished was committed: the second starts where it stopped.
      expect([...secondRun].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => 40 + i));
    });

    it('redelivers a batch whose handler had not returned when the consumer stopped (at-least-once)', async () => {
      const topic = await newTopic(1);
      const groupId = uniqueName('group');
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: String(i) })),
      );
      let release!: () => void;
      const blocked = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started = false;
      const first = await consume(
        groupId,
        topic,
        async () => {
          started = true;
          await blocked;
          throw new Error('process died before finishing');
        },
        10,
      );
      await waitFor(() => started);
      const stopping = first.stop();
      release();
      await stopping;

      const redelivered: number[] = [];
      await consume(
        groupId,
        topic,
        async (messages) => {
          redelivered.push(...messages.map((m) => Number(m.value)));
        },
        10,
      );
      await waitFor(() => redelivered.length >= 10);
      expect(redelivered).toEqual(Array.from({ length: 10 }, (_, i) => i));
    });

    it('keeps consumer groups independent of each other', async () => {
      const topic = await newTopic(1);
      await bus.publish(topic, [{ key: 'k', value: 'only' }]);
      const a: string[] = [];
      const b: string[] = [];
      await consume(uniqueName('group-a'), topic, async (m) => void a.push(...m.map((x) => x.value)));
      await consume(uniqueName('group-b'), topic, async (m) => void b.push(...m.map((x) => x.value)));
      await waitFor(() => a.length === 1 && b.length === 1);
      expect([a, b]).toEqual([['only'], ['only']]);
    });
  });
}

export async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
