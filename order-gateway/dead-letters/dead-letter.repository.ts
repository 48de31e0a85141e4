import {
  DomainError,
  isDependencyUnavailable,
  isRetryable,
  withDeadLetters,
  withTransaction,
  type BatchHandler,
  type Bus,
  type BusMessage,
  type Logger,
  type Pool,
  type Queryable,
} from '../../platform/index.ts';
import { INSERT_DEAD_LETTER, LIST_DEAD_LETTERS, LOCK_DEAD_LETTER, MARK_REPLAYED } from './dead-letter.sql.ts';

export interface DeadLetter {
  id: string;
  consumer: string;
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  error: string;
  attempts: number;
  parkedAt: Date;
  replayedAt: Date | null;
  replayedBy: string | null;
}

interface DeadLetterRow {
  id: string;
  consumer: string;
  topic: string;
  topic_partition: number;
  message_offset: string;
  message_key: Buffer;
  message_value: Buffer;
  headers: Buffer;
  error: string;
  attempts: number;
  parked_at: Date;
  replayed_at: Date | null;
  replayed_by: string | null;
}

/** Header on a replayed message: which dead letter it came from. */
export const REPLAY_OF_HEADER = 'x-replay-of';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Stores a poison message as it arrived; true if it is new (a second park of the same offset is not). */
export async function parkMessage(
  db: Queryable,
  input: { consumer: string; message: BusMessage; error: unknown; attempts: number },
): Promise<boolean> {
  const { message } = input;
  const { rowCount } = await db.query(INSERT_DEAD_LETTER, [
    input.consumer,
    message.topic,
    message.partition,
    message.offset,
    Buffer.from(message.key, 'utf8'),
    Buffer.from(message.value, 'utf8'),
    Buffer.from(JSON.stringify(message.headers), 'utf8'),
    describeError(input.error),
    input.attempts,
  ]);
  return (rowCount ?? 0) > 0;
}

export async function listDeadLetters(
  db: Queryable,
  options: { status: 'parked' | 'replayed' | 'all'; limit: number },
): Promise<DeadLetter[]> {
  const { rows } = await db.query<DeadLetterRow>(LIST_DEAD_LETTERS, [options.status, options.limit]);
  return rows.map(fromRow);
}

/**
 * Publishes a dead letter again on its topic, with its key (so its partition and order among its
 * key's messages are kept from now on), and marks it replayed, in one transaction: the publish
 * happens before the mark commits, so a failure leaves it parked; a crash between the two can send
 * it twice, which the consumer's idempotency (execId, order id) absorbs.
 */
export async function replayDeadLetter(pool: Pool, bus: Bus, id: string, operator: string): Promise<DeadLetter> {
  if (!UUID.test(id)) throw notFound(id);
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<DeadLetterRow>(LOCK_DEAD_LETTER, [id]);
    const row = rows[0];
    if (!row) throw notFound(id);
    if (row.replayed_at) {
      throw new DomainError('PARKED_MESSAGE_ALREADY_REPLAYED', 'this parked message was already replayed', {
        httpStatus: 409,
        details: { id, replayedAt: row.replayed_at.toISOString(), replayedBy: row.replayed_by },
      });
    }
    const letter = fromRow(row);
    await bus.publish(letter.topic, [
      { key: letter.key, value: letter.value, headers: { ...letter.headers, [REPLAY_OF_HEADER]: letter.id } },
    ]);
    const { rows: marked } = await tx.query<DeadLetterRow>(MARK_REPLAYED, [id, operator]);
    return fromRow(marked[0]!);
  });
}

function notFound(id: string): DomainError {
  return new DomainError('PARKED_MESSAGE_NOT_FOUND', 'no parked message with this id', {
    httpStatus: 404,
    details: { id },
  });
}

function fromRow(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    consumer: row.consumer,
    topic: row.topic,
    partition: row.topic_partition,
    offset: row.message_offset,
    key: row.message_key.toString('utf8'),
    value: row.message_value.toString('utf8'),
    headers: JSON.parse(row.headers.toString('utf8')) as Record<string, string>,
    error: row.error,
    attempts: row.attempts,
    parkedAt: row.parked_at,
    replayedAt: row.replayed_at,
    replayedBy: row.replayed_by,
  };
}

/** The error as one line of text that PostgreSQL can store (no NUL), with its SQLSTATE when it has one. */
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `${typeof code === 'string' ? `[${code}] ` : ''}${text}`
    .replaceAll(String.fromCharCode(0), '\\u0000')
    .slice(0, 4_000);
}

/** Attempts of one message before it is parked, unless a consumer says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * A consumer's batch handler with poison messages parked in `dead_letters` after `maxAttempts`
 * non-transient failures: logged at error level and counted (`onParked`, the alarm metric), then
 * skipped so that the partition moves on. PostgreSQL or the bus being away never counts.
 */
export function guardAgainstPoison(
  handle: BatchHandler,
  deps: {
    pool: Pool;
    logger: Logger;
    consumer: string;
    maxAttempts?: number;
    onParked?: (message: BusMessage) => void;
  },
): BatchHandler {
  return withDeadLetters(handle, {
    maxAttempts: deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    isTransient: (error) => isDependencyUnavailable(error) || isRetryable(error),
    park: async (message, error, attempts) => {
      const parked = await parkMessage(deps.pool, { consumer: deps.consumer, message, error, attempts });
      deps.logger.error(
        {
          alarm: 'MESSAGE_PARKED',
          consumer: deps.consumer,
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          key: message.key,
          attempts,
          err: error,
        },
        'message parked after repeated failures; its partition moves on (GET /v1/ops/parked to see it, replay after a fix)',
      );
      if (parked) deps.onParked?.(message);
    },
  });
}
