import { EventEmitter } from 'node:events';
import type { Bus, BusMessage, ConsumeOptions, ConsumerLag, OutgoingMessage, Subscription, TopicSpec } from './bus.ts';
import { partitionFor, retryDelayMs } from './bus.ts';

/** The retained tail of one partition: `messages[0]` has offset `base`; `publishedAt` runs beside it. */
interface PartitionLog {
  base: number;
  messages: BusMessage[];
  publishedAt: number[];
}

interface Topic {
  partitions: PartitionLog[];
  /** Consumer groups that have consumed this topic: a message goes once each of them committed it. */
  groups: Set<string>;
}

/**
 * A Kafka-shaped log held in memory, for one process on embedded defaults. It keeps per-key order,
 * consumer-group offsets and at-least-once redelivery, but not durability: what the process has
 * not yet handled is lost with it, which is why what must survive a crash (orders) leaves the
 * database through the outbox, and what arrives from the broker is recoverable by reconciliation.
 * A message is dropped once every group that consumes its topic has committed past it and it is
 * older than `retainCommittedMs`, so memory holds the backlog, not the day. The grace plays Kafka's
 * retention: a group that subscribes moments after the others still reads from the beginning (a
 * topic nobody has consumed yet keeps everything).
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
  private readonly retainCommittedMs: number;
  private readonly now: () => number;

  constructor(defaultPartitions = 1, options: { retainCommittedMs?: number; now?: () => number } = {}) {
    this.defaultPartitions = defaultPartitions;
    this.retainCommittedMs = options.retainCommittedMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    for (const { name, partitions } of topics) {
      if (!this.topics.has(name)) {
        this.topics.set(name, newTopic(partitions));
      }
    }
  }

  async publish(topicName: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const topic = this.topic(topicName);
    for (const message of messages) {
      const partition = partitionFor(message.key, topic.partitions.length);
      const log = topic.partitions[partition]!;
      log.publishedAt.push(this.now());
      log.messages.push({
        topic: topicName,
        partition,
        offset: String(log.base + log.messages.length),
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
    for (const topicName of options.topics) this.topic(topicName).groups.add(options.groupId);
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
            const log = topic.partitions[partition]!;
            // A group that comes after the others have dropped the start begins at what is left.
            const from = Math.max(offsets.get(slot) ?? 0, log.base);
            const batch = log.messages.slice(from - log.base, from - log.base + maxBatchSize);
            if (batch.length === 0) continue;
            handledSomething = true;
            for (let attempt = 1; running; attempt++) {
              try {
                await options.handleBatch(batch);
                offsets.set(slot, from + batch.length);
                this.dropCommitted(topic, topicName, partition);
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

  /** Messages held for a topic (all partitions): what some group has not committed yet. */
  retained(topicName: string): number {
    return this.topics.get(topicName)?.partitions.reduce((sum, log) => sum + log.messages.length, 0) ?? 0;
  }

  async isHealthy(): Promise<boolean> {
    return !this.closed;
  }

  async consumerLag(): Promise<ConsumerLag[]> {
    const lags: ConsumerLag[] = [];
    for (const [topicName, topic] of this.topics) {
      for (const group of topic.groups) {
        const offsets = this.committed.get(group);
        let lag = 0;
        topic.partitions.forEach((log, partition) => {
          const end = log.base + log.messages.length;
          lag += end - Math.max(offsets?.get(`${topicName}/${partition}`) ?? 0, log.base);
        });
        lags.push({ group, topic: topicName, lag });
      }
    }
    return lags;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = newTopic(this.defaultPartitions);
      this.topics.set(name, topic);
    }
    return topic;
  }

  /** Drops the head of a partition that every group consuming the topic has committed, past the grace. */
  private dropCommitted(topic: Topic, topicName: string, partition: number): void {
    const log = topic.partitions[partition]!;
    let upTo = Infinity;
    for (const group of topic.groups) {
      upTo = Math.min(upTo, this.committed.get(group)?.get(`${topicName}/${partition}`) ?? 0);
    }
    const cutoff = this.now() - this.retainCommittedMs;
    let drop = 0;
    while (drop < upTo - log.base && log.publishedAt[drop]! <= cutoff) drop++;
    if (drop === 0) return;
    log.messages.splice(0, drop);
    log.publishedAt.splice(0, drop);
    log.base += drop;
  }

  private async pause(ms: number, stillRunning: () => boolean): Promise<void> {
    const until = Date.now() + ms;
    while (stillRunning() && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(25, until - Date.now())));
    }
  }
}

function newTopic(partitions: number): Topic {
  return {
    partitions: Array.from({ length: partitions }, () => ({ base: 0, messages: [], publishedAt: [] })),
    groups: new Set(),
  };
}
