import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Producer,
} from 'kafkajs';
import { DependencyUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Bus, BusMessage, ConsumeOptions, ConsumerLag, OutgoingMessage, Subscription, TopicSpec } from './bus.ts';
import { retryDelayMs } from './bus.ts';

export interface KafkaBusOptions {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
  /**
   * Prefix of every topic and consumer group this bus touches, so that several systems (test
   * files, sessions) can share one Kafka cluster without reading each other's messages.
   */
  namespace?: string;
  /**
   * Longest wait for Kafka to acknowledge a publish before it fails as unavailable (the message may
   * still land: callers publish at least once and consumers are idempotent). Bounded so that the
   * fill receiver answers 503 before the broker's push times out, and the outbox relay's
   * transaction does not wait on a broker that is away.
   */
  publishTimeoutMs?: number;
}

/**
 * The bus on Apache Kafka through kafkajs. Producers wait for acks from all in-sync replicas;
 * consumers commit offsets by hand, after the handler returns.
 */
export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private producer: Producer | undefined;
  private producerReady: Promise<Producer> | undefined;
  private admin: Admin | undefined;
  private readonly consumers = new Set<Subscription>();
  /** The groups that consume in this process, and their topics: whose lag this process reports. */
  private readonly groups = new Map<string, readonly string[]>();
  private readonly prefix: string;
  private readonly publishTimeoutMs: number;

  constructor(options: KafkaBusOptions) {
    this.logger = options.logger;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 3_000;
    this.prefix = options.namespace ? `${options.namespace}.` : '';
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 100, retries: 8 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log }) => {
          const { message, ...extra } = log;
          // kafkajs reports every reconnect attempt as an error; they are expected during outages.
          this.logger[level <= logLevel.ERROR ? 'warn' : 'debug']({ kafka: extra }, message);
        },
    });
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    const admin = await this.getAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(this.prefix + topic.name));
    if (missing.length > 0) {
      // A topic another process created meanwhile makes this return false, not throw.
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((topic) => ({ topic: this.prefix + topic.name, numPartitions: topic.partitions })),
      });
    }
    // kafkajs' own waitForLeaders can fail on a busy broker with "does not host this topic-partition"
    // while metadata propagates; wait for every partition's leader here instead.
    const names = topics.map((topic) => this.prefix + topic.name);
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: names });
        if (
          metadata.topics.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0))
        )
          return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leaders after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Fails with DependencyUnavailableError when Kafka does not acknowledge within `publishTimeoutMs`
   * (seconds, not minutes): the caller keeps what it was sending (outbox rows stay unsent,
   * the fill receiver answers 503 and the broker pushes again), so an outage pauses the flow.
   */
  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      const send = async () => {
        const producer = await this.getProducer();
        await producer.send({
          topic: this.prefix + topic,
          acks: -1,
          messages: messages.map((message) => ({ key: message.key, value: message.value, headers: message.headers })),
        });
      };
      await withTimeout(send(), this.publishTimeoutMs);
    } catch (error) {
      throw new DependencyUnavailableError('bus', { cause: error });
    }
  }

  async consume(options: ConsumeOptions): Promise<Subscription> {
    const consumer: Consumer = this.kafka.consumer({
      groupId: this.prefix + options.groupId,
      // A crashed member holds its partitions until its session times out: keep that short, since
      // the handler heartbeats between retries and a slow batch is redelivered, never lost.
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 200,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    const maxBatchSize = options.maxBatchSize ?? 500;
    let running = true;
    let inFlight: Promise<void> | undefined;
    // kafkajs restarts a consumer that crashed on a retriable error (a broker away) by itself; say so.
    consumer.on(consumer.events.CRASH, (event) => {
      this.logger.warn(
        { err: event.payload.error, restart: event.payload.restart, groupId: event.payload.groupId },
        'Kafka consumer crashed',
      );
    });
    await consumer.connect();
    for (const topic of options.topics) {
      await consumer.subscribe({ topic: this.prefix + topic, fromBeginning: true });
    }
    /** One batch of one partition: handled (retrying), then committed, a chunk at a time. */
    const handle = async (payload: EachBatchPayload): Promise<void> => {
      const { batch } = payload;
      const all: BusMessage[] = batch.messages.map((message) => ({
        topic: batch.topic.slice(this.prefix.length),
        partition: batch.partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        headers: Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, value?.toString() ?? '']),
        ),
      }));
      const live = () => running && payload.isRunning() && !payload.isStale();
      for (let start = 0; start < all.length && live(); start += maxBatchSize) {
        const chunk = all.slice(start, start + maxBatchSize);
        for (let attempt = 1; ; attempt++) {
          if (!live()) return;
          try {
            await options.handleBatch(chunk);
            break;
          } catch (error) {
            options.onHandlerError?.(error, attempt, chunk);
            await sleepWhile(retryDelayMs(attempt), live);
            await payload.heartbeat().catch(() => undefined);
          }
        }
        const last = chunk[chunk.length - 1]!;
        // Commit exactly what the handler finished, before taking the next chunk.
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
        payload.resolveOffset(last.offset);
        await payload.heartbeat();
      }
    };
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const work = handle(payload);
        inFlight = work;
        try {
          await work;
        } finally {
          inFlight = undefined;
        }
      },
    });
    const subscription: Subscription = {
      stop: async () => {
        running = false;
        this.consumers.delete(subscription);
        // Let the batch in hand finish and commit what it handled before leaving the group.
        await inFlight?.catch(() => undefined);
        await consumer.disconnect();
      },
    };
    this.consumers.add(subscription);
    this.groups.set(options.groupId, options.topics);
    return subscription;
  }

  async consumerLag(): Promise<ConsumerLag[]> {
    const admin = await this.getAdmin();
    const lags: ConsumerLag[] = [];
    for (const [group, topics] of this.groups) {
      for (const topic of topics) {
        const [ends, committed] = await Promise.all([
          withTimeout(admin.fetchTopicOffsets(this.prefix + topic), 2_000),
          withTimeout(admin.fetchOffsets({ groupId: this.prefix + group, topics: [this.prefix + topic] }), 2_000),
        ]);
        const done = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
        let lag = 0n;
        for (const end of ends) {
          // -1: the group has committed nothing on this partition yet; it starts from the earliest.
          const at = done.get(end.partition) ?? -1n;
          lag += BigInt(end.high) - (at < 0n ? BigInt(end.low) : at);
        }
        lags.push({ group, topic, lag: Number(lag) });
      }
    }
    return lags;
  }

  async isHealthy(): Promise<boolean> {
    try {
      const admin = await this.getAdmin();
      await withTimeout(admin.describeCluster(), 2_000);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    await this.producer?.disconnect();
    await this.admin?.disconnect();
  }

  private getProducer(): Promise<Producer> {
    this.producerReady ??= (async () => {
      const producer = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
        // Few retries: a broker that stays away is the caller's to wait out, with its own backoff.
        retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2_000 },
      });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().catch((error: unknown) => {
      this.producerReady = undefined;
      throw error;
    });
    return this.producerReady;
  }

  private async getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }
}

async function sleepWhile(ms: number, condition: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (condition() && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - Date.now())));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
