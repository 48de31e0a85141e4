import type { Queryable } from '../../platform/index.ts';
import type { AnomalyView } from './anomaly.schemas.ts';
import { LIST_ANOMALIES } from './anomaly.sql.ts';

interface AnomalyRow {
  id: string;
  kind: string;
  order_id: string | null;
  exec_id: string | null;
  detail: string;
  event: unknown;
  recorded_at: Date;
}

/** Anomalies newest first: a page of `limit` and the cursor of the next page, or null. */
export async function listAnomalies(
  q: Queryable,
  query: { limit: number; after?: string | undefined; kinds?: readonly string[] | undefined },
): Promise<{ anomalies: AnomalyView[]; next: string | null }> {
  const { rows } = await q.query<AnomalyRow>(LIST_ANOMALIES, [
    query.after ?? null,
    query.kinds ?? null,
    query.limit + 1,
  ]);
  const page = rows.slice(0, query.limit);
  return {
    anomalies: page.map((row) => ({
      id: row.id,
      kind: row.kind,
      orderId: row.order_id,
      execId: row.exec_id,
      detail: row.detail,
      event: row.event,
      recordedAt: row.recorded_at.toISOString(),
    })),
    next: rows.length > query.limit ? page[page.length - 1]!.id : null,
  };
}
