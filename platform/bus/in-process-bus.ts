import { EventEmitter } from 'node:events';
import type { Bus, BusMessage, ConsumeOptions, OutgoingMessage, Subscription, TopicSpec } from './bus.ts';
import { partitionFor, retryDelayMs } from './bus.ts';

interface Topic {
  partitions: BusMessage[][];
}

/**
 * A Kafka-shaped log held in memory, for one process on embedded defaults. It keeps per-key order,
 * consumer-group offsets and at-least-once redelivery, but not durability: what the process has
 * not yet handled is lost with it, which is why what must survive a crash (orders) leaves the
 * database through the outbox, and what arrives from the broker is recoverable by reconciliation.
 */
export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  private readonly topics = new Map<string, Topic>();
  /** group → "topic/partition" → next offset to hand out */
  private readonly committed = new Map<string, Map<string, number>>();
  private readonly activeGroups = new Set<string>();
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private closed = false;

  private readonly defaultPartitions: number;

  constructor(defaultPartitions = 1) {
    this.defaultPartitions = defaultPartitions;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    for (const { name, partitions } of topics) {
      if (!this.topics.has(name)) {
        this.topics.set(name, { partitions: Array.from({ length: partitions }, () => []) });
      }
    }
  }

  async publish(topicName: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const topic = this.topic(topicName);
    for (const message of messages) {
      const partition = partitionFor(message.key, topic.partitions.length);
      const log = topic.partitions[partition]!;
      log.push({
        topic: topicName,
        partition,
        offset: String(log.length),
        key: message.key,
        value: message.value,
        headers: { ...message.headers },
      });
    }
    this.appended.emit('append');
  }

  async consume(options: ConsumeOptions): Promise<Subscription> {
    const membership = `${options.groupId}\u0000${options.topics.join(',')}`;
    if (this.activeGroups.has(membership)) {
      throw new Error(`consumer group ${options.groupId} already has a consumer in this process`);
    }
    this.activeGroups.add(membership);
    const offsets = this.committed.get(options.groupId) ?? new Map<string, number>();
    this.committed.set(options.groupId, offsets);
    const maxBatchSize = options.maxBatchSize ?? 500;
    let running = true;
    let wake: () => void = () => undefined;
    const onAppend = () => wake();
    this.appended.on('append', onAppend);

    const loop = async () => {
      while (running) {
        let handledSomething = false;
        for (const topicName of options.topics) {
          const topic = this.topic(topicName);
          for (let partition = 0; partition < topic.partitions.length && running; partition++) {
            const slot = `${topicName}/${partition}`;
            const from = offsets.get(slot) ?? 0;
            const batch = topic.partitions[partition]!.slice(from, from + maxBatchSize);
            if (batch.length === 0) continue;
            handledSomething = true;
            for (let attempt = 1; running; attempt++) {
              try {
                await options.handleBatch(batch);
                offsets.set(slot, from + batch.length);
                break;
              } catch (error) {
                options.onHandlerError?.(error, attempt, batch);
                await this.pause(retryDelayMs(attempt), () => running);
              }
            }
          }
        }
        if (!handledSomething && running) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      }
    };
    const done = loop();
    return {
      stop: async () => {
        running = false;
        wake();
        await done;
        this.appended.off('append', onAppend);
        this.activeGroups.delete(membership);
      },
    };
  }

  async isHealthy(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = { partitions: Array.from({ length: this.defaultPartitions }, () => []) };
      this.topics.set(name, topic);
    }
    return topic;
  }

  private async pause(ms: number, stillRunning: () => boolean): Promise<void> {
    const until = Date.now() + ms;
    while (stillRunning() && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(25, until - Date.now())));
    }
  }
}
