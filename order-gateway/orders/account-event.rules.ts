import { dec } from '../../platform/decimal.ts';
import type { AccountEventType } from './account-event.schemas.ts';

/** What an event needs to know of an order's state, before or after a change. */
export interface OrderStateForEvents {
  status: string;
  filledQuantity: string;
  /** Quantity times price over the active fills: a correction may change it alone. */
  filledNotional: string;
  /** The refused cancel or replace, as the order body shows it (`lastRejection`). */
  lastRejection: { action: 'cancel' | 'replace'; at: string } | null;
}

const BY_STATUS: Readonly<Record<string, AccountEventType>> = {
  new: 'new',
  filled: 'fill',
  pending_cancel: 'pending_cancel',
  canceled: 'canceled',
  rejected: 'rejected',
  expired: 'expired',
  pending_replace: 'pending_replace',
  replaced: 'replaced',
};

/**
 * The event a client sees for one change of one order, or null when the client has nothing to see
 * (an acknowledgement after the first fill, a duplicate, a second cancel request). A fill is a fill
 * whatever the status around it; filled quantities that move without a new fill are a bust (less) or
 * a correction; a live status after a pending cancel or replace, or a new refusal, is that request
 * refused.
 */
export function accountEventTypeOf(
  before: OrderStateForEvents,
  after: OrderStateForEvents,
  cause: { fill: boolean },
): AccountEventType | null {
  if (cause.fill && !dec(after.filledQuantity).eq(dec(before.filledQuantity))) {
    return after.status === 'filled' ? 'fill' : 'partial_fill';
  }
  if (!cause.fill) {
    const quantity = dec(after.filledQuantity).comparedTo(dec(before.filledQuantity));
    if (quantity < 0) return 'trade_bust';
    if (quantity > 0 || !dec(after.filledNotional).eq(dec(before.filledNotional))) return 'trade_correct';
  }
  const refused = after.lastRejection !== null && after.lastRejection.at !== before.lastRejection?.at;
  if (refused) return after.lastRejection!.action === 'cancel' ? 'cancel_rejected' : 'replace_rejected';
  if (after.status === before.status) return null;
  if ((before.status === 'pending_cancel' || before.status === 'pending_replace') && isLive(after.status)) {
    return before.status === 'pending_cancel' ? 'cancel_rejected' : 'replace_rejected';
  }
  return BY_STATUS[after.status] ?? null;
}

function isLive(status: string): boolean {
  return status === 'new' || status === 'partially_filled';
}
