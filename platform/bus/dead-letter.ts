import type { BatchHandler, BusMessage } from './bus.ts';

export interface DeadLetterOptions {
  /** Attempts of one message, the first included, before it is parked. */
  maxAttempts: number;
  /**
   * Failures that say nothing about the message (PostgreSQL or the bus away, a serialization
   * failure): retried for as long as it takes, never counted, never parked.
   */
  isTransient: (error: unknown) => boolean;
  /** Sets the message aside with its error, durably; the partition moves on once this returns. */
  park: (message: BusMessage, error: unknown, attempts: number) => Promise<void>;
}

/** In-memory attempt counts are a bound, not a record: past this many, the oldest are forgotten. */
const MAX_TRACKED = 10_000;

/**
 * Wraps a batch handler so that one poison message cannot hold its partition for ever. When a
 * batch fails for a non-transient reason, its messages are handled one at a time to find the one
 * that fails (those before it are handled again, alone: consumers are idempotent, by execId and
 * order id). The failing message is retried through the bus, with its backoff, until it has failed
 * `maxAttempts` times; then it is parked and skipped. A transient failure is thrown as it is, and
 * the bus retries the batch for as long as the dependency is away.
 */
export function withDeadLetters(handle: BatchHandler, options: DeadLetterOptions): BatchHandler {
  const attempts = new Map<string, number>();
  // Parked, but still in a batch the bus will deliver again until the batch gets through.
  const parked = new Set<string>();
  const forget = (messages: readonly BusMessage[]) => {
    for (const message of messages) {
      attempts.delete(keyOf(message));
      parked.delete(keyOf(message));
    }
  };
  const run = async (messages: readonly BusMessage[]): Promise<void> => {
    const pending = messages.filter((message) => !parked.has(keyOf(message)));
    try {
      if (pending.length > 0) await handle(pending);
    } catch (error) {
      if (options.isTransient(error)) throw error;
      if (pending.length > 1) {
        for (const message of pending) await run([message]);
        forget(messages);
        return;
      }
      const message = pending[0]!;
      const key = keyOf(message);
      const failures = (attempts.get(key) ?? 0) + 1;
      if (failures < options.maxAttempts) {
        remember(attempts, key, failures);
        throw error;
      }
      await options.park(message, error, failures);
      attempts.delete(key);
      remember(parked, key);
      return;
    }
    forget(messages);
  };
  return run;
}

/** Adds to a bounded memory: past MAX_TRACKED entries, the oldest is forgotten. */
function remember(memory: Map<string, number> | Set<string>, key: string, value = 0): void {
  if (memory.size >= MAX_TRACKED) memory.delete(memory.keys().next().value!);
  if (memory instanceof Map) memory.set(key, value);
  else memory.add(key);
}

function keyOf(message: BusMessage): string {
  return `${message.topic}/${message.partition}/${message.offset}`;
}
