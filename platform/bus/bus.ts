/**
 * The message bus between components: Kafka in production, an in-process log for the embedded
 * default. Both keep Kafka's guarantees that the rest of the system relies on:
 * - messages with the same key go to the same partition and are consumed in publish order;
 * - a consumer group commits a batch only after its handler has returned, so delivery is
 *   at-least-once and a restarted consumer resumes after the last committed batch;
 * - a handler that throws gets the same batch again (with backoff); nothing is skipped.
 */

export interface TopicSpec {
  name: string;
  partitions: number;
}

export interface OutgoingMessage {
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface BusMessage {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: kept as a decimal string. */
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * A message's value as JSON, or the raw text when it is not JSON, so that a schema check of a
 * poison message says what arrived instead of throwing.
 */
export function messageJson(message: BusMessage): unknown {
  try {
    return JSON.parse(message.value);
  } catch {
    return message.value;
  }
}

export type BatchHandler = (messages: readonly BusMessage[]) => Promise<void>;

export interface ConsumeOptions {
  groupId: string;
  topics: readonly string[];
  handleBatch: BatchHandler;
  /** Largest batch handed to the handler at once. */
  maxBatchSize?: number;
  /** Called when a handler attempt fails, before it is retried. */
  onHandlerError?: (error: unknown, attempt: number, messages: readonly BusMessage[]) => void;
}

export interface Subscription {
  /** Stops taking new batches, waits for the one in hand, and leaves the group. */
  stop(): Promise<void>;
}

export interface Bus {
  readonly kind: 'kafka' | 'in-process';
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Resolves once the bus has the messages durably (for Kafka: acknowledged by all in-sync replicas). */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Subscription>;
  isHealthy(): Promise<boolean>;
  /**
   * Per consumer group and topic, the messages published and not yet committed, summed over the
   * partitions: for the groups that consume in this process. Optional: a bus that cannot tell has none.
   */
  consumerLag?(): Promise<ConsumerLag[]>;
  close(): Promise<void>;
}

export interface ConsumerLag {
  group: string;
  topic: string;
  lag: number;
}

/** Delay before retry `attempt` (1-based) of a failed handler: exponential, capped, with jitter. */
export function retryDelayMs(attempt: number, initialMs = 50, maxMs = 5_000): number {
  const base = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

/** Kafka's default partitioner is murmur2; any stable hash serves the in-process bus. */
export function partitionFor(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
