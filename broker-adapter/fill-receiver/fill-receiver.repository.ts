import { withTransaction, type Pool, type Queryable } from '../../platform/database.ts';
import * as sql from './fill-receiver.sql.ts';

/** A hole wider than this is recorded only at its top end: a wild sequence must not fill the table. */
const MAX_GAP_RECORDED = 10_000;

export interface SequenceGap {
  /** The broker whose sequence has the hole: each numbers its own reports. */
  broker: string;
  sequence: number;
  detectedAt: Date;
  filledAt: Date | null;
}

/**
 * Records that reports reached the bus: opens a gap for every lower number not seen yet when the
 * highest jumps ahead, and closes the gaps that late reports fill. One transaction for a whole batch.
 */
export async function recordReceived(
  pool: Pool,
  received: readonly { sequence: number; execId: string }[],
  broker: string,
): Promise<void> {
  if (received.length === 0) return;
  await withTransaction(pool, async (tx) => {
    await tx.query(sql.LOCK_SEQUENCE_BOOK, [broker]);
    const { rows } = await tx.query<{ highest: string }>(sql.HIGHEST_RECEIVED, [broker]);
    const highest = Number(rows[0]!.highest);
    const inserted = await tx.query<{ sequence: string }>(sql.INSERT_RECEIVED, [
      broker,
      received.map((r) => r.sequence),
      received.map((r) => r.execId),
    ]);
    if (inserted.rowCount === 0) return;
    const newSequences = inserted.rows.map((row) => Number(row.sequence));
    const top = Math.max(...newSequences);
    if (top > highest + 1) {
      await tx.query(sql.INSERT_GAPS, [broker, Math.max(highest + 1, top - MAX_GAP_RECORDED), top - 1]);
    }
    await tx.query(sql.FILL_GAPS, [broker, newSequences]);
  });
}

/** Sequence numbers the broker used that never reached us (so far): the reconciler's leads. */
export async function openSequenceGaps(db: Queryable): Promise<SequenceGap[]> {
  const { rows } = await db.query<{ broker: string; sequence: string; detected_at: Date }>(sql.OPEN_GAPS);
  return rows.map((row) => ({
    broker: row.broker,
    sequence: Number(row.sequence),
    detectedAt: row.detected_at,
    filledAt: null,
  }));
}

export async function allSequenceGaps(db: Queryable): Promise<SequenceGap[]> {
  const { rows } = await db.query<{ broker: string; sequence: string; detected_at: Date; filled_at: Date | null }>(
    sql.ALL_GAPS,
  );
  return rows.map((row) => ({
    broker: row.broker,
    sequence: Number(row.sequence),
    detectedAt: row.detected_at,
    filledAt: row.filled_at,
  }));
}
