import type { JournalEntry, Ledger } from '../../ledger/index.ts';
import type { Queryable } from '../../platform/index.ts';
import type { OrderView } from '../orders/order.schemas.ts';
import { currentStatusEntry, orderById, orderTimeline, type TimelineEntry } from './ops-read.repository.ts';

export interface OrderTimeline {
  order: OrderView;
  entries: TimelineEntry[];
  /** The ledger's entries of the order, with their postings, for a page that shows them whole. */
  journal: JournalEntry[];
}

/** An order's whole life: the gateway's records and the ledger's postings, oldest first. Null: no such order. */
export async function readOrderTimeline(db: Queryable, ledger: Ledger, orderId: string): Promise<OrderTimeline | null> {
  const order = await orderById(db, orderId);
  if (!order) return null;
  const [entries, journal] = await Promise.all([
    orderTimeline(db, order),
    ledger.journalOf(db, { holdId: order.id, execIds: order.fills.map((fill) => fill.execId) }),
  ]);
  for (const entry of journal) {
    entries.push({
      at: entry.at.toISOString(),
      source: 'ledger',
      kind: `posting ${entry.kind}`,
      detail: entry.postings.map((p) => `${p.accountId} ${p.asset} ${p.bucket} ${p.amount.toFixed()}`).join('; '),
    });
  }
  // A stable sort: entries of one instant keep the order in which they were gathered.
  entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  // Its last change may share an instant with the postings it caused; where it stands comes last.
  entries.push(currentStatusEntry(order));
  return { order, entries, journal };
}
