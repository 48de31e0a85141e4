import { afterEach, describe, expect, it } from 'vitest';
import { describeBusContract } from '../../test/support/bus-contract.ts';
import type { BusMessage, Subscription } from './bus.ts';
import { InProcessBus } from './in-process-bus.ts';

describeBusContract('in-process', () => new InProcessBus());

describe('in-process bus retention', () => {
  const subscriptions: Subscription[] = [];
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
  });

  async function consumeAll(bus: InProcessBus, groupId: string, topic: string, seen: string[]) {
    const subscription = await bus.consume({
      groupId,
      topics: [topic],
      maxBatchSize: 3,
      handleBatch: async (messages: readonly BusMessage[]) => {
        seen.push(...messages.map((m) => `${m.partition}/${m.offset}:${m.value}`));
      },
    });
    subscriptions.push(subscription);
    return subscription;
  }

  it('keeps a message until every group consuming its topic has committed it, then drops it', async () => {
    const bus = new InProcessBus(2, { retainCommittedMs: 0 });
    await bus.ensureTopics([{ name: 't', partitions: 2 }]);
    // The slow group has joined the topic, then stopped: it holds what it has not committed.
    const slow: string[] = [];
    await (await consumeAll(bus, 'slow', 't', slow)).stop();
    subscriptions.splice(0);
    const fast: string[] = [];
    await consumeAll(bus, 'fast', 't', fast);
    await bus.publish(
      't',
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: String(i) })),
    );
    await waitFor(() => fast.length === 20);
    expect(bus.retained('t')).toBe(20);

    const slowSubscription = await consumeAll(bus, 'slow', 't', slow);
    await waitFor(() => slow.length === 20);
    expect(bus.retained('t')).toBe(0);

    // Stopped again, the slow group holds what comes next, whatever the fast group did.
    await slowSubscription.stop();
    subscriptions.splice(subscriptions.indexOf(slowSubscription), 1);
    await bus.publish('t', [{ key: 'k1', value: 'later' }]);
    await waitFor(() => fast.length === 21);
    expect(bus.retained('t')).toBe(1);

    // It comes back and resumes after its committed offset: nothing skipped, nothing twice.
    await consumeAll(bus, 'slow', 't', slow);
    await waitFor(() => slow.length === 21);
    expect(bus.retained('t')).toBe(0);
    expect(new Set(slow).size).toBe(21);
    expect(slow.at(-1)).toBe(fast.at(-1));
    // Offsets go on counting after the dropped messages: the later one follows its partition's 20 first.
    const [partition, offset] = slow.at(-1)!.split(':')[0]!.split('/');
    const earlierInPartition = slow.slice(0, 20).filter((entry) => entry.startsWith(`${partition}/`)).length;
    expect(Number(offset)).toBe(earlierInPartition);
  });

  it('keeps what every group committed for the grace, so a group subscribing just after still reads it', async () => {
    let now = 1_000_000;
    const bus = new InProcessBus(1, { retainCommittedMs: 10_000, now: () => now });
    await bus.publish('t', [{ key: 'k', value: 'early' }]);
    const first: string[] = [];
    await consumeAll(bus, 'first', 't', first);
    await waitFor(() => first.length === 1);
    expect(bus.retained('t')).toBe(1);
    const second: string[] = [];
    await consumeAll(bus, 'second', 't', second);
    await waitFor(() => second.length === 1);
    expect(second).toEqual(first);
    // Past the grace, the next commit on the partition drops it.
    now += 10_001;
    await bus.publish('t', [{ key: 'k', value: 'late' }]);
    await waitFor(() => first.length === 2 && second.length === 2);
    expect(bus.retained('t')).toBe(1);
  });

  it('keeps everything on a topic that no group consumes yet', async () => {
    const bus = new InProcessBus(1);
    await bus.publish('nobody', [{ key: 'k', value: '1' }]);
    expect(bus.retained('nobody')).toBe(1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('in-process bus consumer lag', () => {
  it('counts per group what was published and not committed, across partitions and after the head is dropped', async () => {
    const bus = new InProcessBus(3, { retainCommittedMs: 0 });
    await bus.ensureTopics([{ name: 't', partitions: 3 }]);
    const stuck = await bus.consume({
      groupId: 'stuck',
      topics: ['t'],
      handleBatch: () => Promise.reject(new Error('cannot apply')),
    });
    const seen: string[] = [];
    const fast = await bus.consume({
      groupId: 'fast',
      topics: ['t'],
      handleBatch: async (messages) => {
        seen.push(...messages.map((m) => m.value));
      },
    });
    try {
      await bus.publish(
        't',
        Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
      );
      await waitFor(() => seen.length === 12);
      const lag = await bus.consumerLag();
      expect(lag.sort((a, b) => a.group.localeCompare(b.group))).toEqual([
        { group: 'fast', topic: 't', lag: 0 },
        { group: 'stuck', topic: 't', lag: 12 },
      ]);
    } finally {
      await Promise.all([stuck.stop(), fast.stop()]);
    }
  });
});
