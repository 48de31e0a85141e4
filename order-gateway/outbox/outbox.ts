import type { Bus, Logger, Pool, Queryable } from '../../platform/index.ts';
import { withTransaction, WorkerLoop } from '../../platform/index.ts';
import {
  INSERT_OUTBOX,
  INSERT_OUTBOX_MANY,
  MARK_SENT,
  PRUNE_SENT,
  TRY_RELAY_LOCK,
  UNSENT_BATCH,
} from './outbox.sql.ts';

/** Writes a message in the caller's transaction: it leaves only if that transaction commits. */
export async function addToOutbox(
  tx: Queryable,
  message: { topic: string; key: string; payload: unknown },
): Promise<void> {
  await tx.query(INSERT_OUTBOX, [message.topic, message.key, JSON.stringify(message.payload)]);
}

/** addToOutbox for several messages in one statement, in the order given. */
export async function addManyToOutbox(
  tx: Queryable,
  messages: readonly { topic: string; key: string; payload: unknown }[],
): Promise<void> {
  if (messages.length === 0) return;
  await tx.query({
    name: 'outbox_insert_many',
    text: INSERT_OUTBOX_MANY,
    values: [messages.map((m) => m.topic), messages.map((m) => m.key), messages.map((m) => JSON.stringify(m.payload))],
  });
}

/**
 * Moves committed outbox rows to the bus and marks them sent. A crash between publish and mark
 * sends them again: consumers are idempotent, so at-least-once is enough.
 */
export function createOutboxRelay(deps: { pool: Pool; bus: Bus; logger: Logger; pollMs?: number; batchSize?: number }) {
  const pollMs = deps.pollMs ?? 100;
  const batchSize = deps.batchSize ?? 500;
  let rounds = 0;

  async function relayOnce(): Promise<number> {
    return withTransaction(deps.pool, async (tx) => {
      const { rows: lock } = await tx.query<{ locked: boolean }>(TRY_RELAY_LOCK);
      if (!lock[0]?.locked) return 0;
      const { rows } = await tx.query<{ id: string; topic: string; message_key: string; payload: unknown }>(
        UNSENT_BATCH,
        [batchSize],
      );
      if (rows.length === 0) return 0;
      const byTopic = new Map<string, { key: string; value: string }[]>();
      for (const row of rows) {
        const list = byTopic.get(row.topic) ?? [];
        list.push({ key: row.message_key, value: JSON.stringify(row.payload) });
        byTopic.set(row.topic, list);
      }
      for (const [topic, messages] of byTopic) await deps.bus.publish(topic, messages);
      await tx.query(MARK_SENT, [rows.map((row) => row.id)]);
      return rows.length;
    });
  }

  const loop = new WorkerLoop({
    work: async () => {
      const moved = await relayOnce();
      if (++rounds % 600 === 0) await deps.pool.query(PRUNE_SENT);
      return moved === 0 ? pollMs : 0;
    },
    // PostgreSQL or the bus away: wait longer each time; the rows stay unsent until it works.
    onError: (error, attempt, waitMs) =>
      deps.logger.warn({ err: error, attempt, waitMs }, 'outbox relay failed; will retry'),
  });

  return {
    relayOnce,
    /** Called after a commit that wrote to the outbox, so the relay does not wait for its next poll. */
    wake: () => loop.wake(),
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
