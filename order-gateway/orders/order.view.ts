import type { AccountBalances } from '../../ledger/index.ts';
import { dec, formatCash, formatQuantity } from '../../platform/index.ts';
import type { NewAccountEvent } from './account-event.repository.ts';
import type { AccountEventBody } from './account-event.schemas.ts';
import type { FillRow, OrderRow } from './order.repository.ts';
import type { OrderView } from './order.schemas.ts';

/** An order as the API shows it (docs/api.md): its row and its fills, every amount formatted. */
export function toView(row: OrderRow, fills: readonly FillRow[]): OrderView {
  const filled = dec(row.filled_quantity);
  return {
    id: row.id,
    clientOrderId: row.client_order_id,
    accountId: row.account_id,
    symbol: row.symbol,
    side: row.side,
    type: row.type,
    quantity: formatQuantity(dec(row.quantity)),
    limitPrice: row.limit_price === null ? null : formatPrice(row.limit_price),
    timeInForce: row.time_in_force,
    extendedHours: row.extended_hours,
    status: row.status,
    filledQuantity: formatQuantity(filled),
    averageFillPrice: filled.isZero() ? null : dec(row.filled_notional).dividedBy(filled).toFixed(4),
    commission: formatCash(dec(row.commission)),
    rejectReason: row.reject_reason,
    lastRejection: row.snapshot.context.lastRejection ?? null,
    replaces: row.replaces,
    replacedBy: row.replaced_by,
    brokerId: row.broker_id,
    fills: fills.map((fill) => ({
      execId: fill.exec_id,
      quantity: formatQuantity(dec(fill.quantity)),
      price: formatPrice(fill.price),
      commission: formatCash(dec(fill.commission)),
      at: fill.executed_at.toISOString(),
      state: fill.state,
      ...(fill.corrects ? { corrects: fill.corrects } : {}),
    })),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** An event of the order's account, without its number; cash and position as `balances` has them. */
export function eventBody(
  type: NewAccountEvent['type'],
  order: OrderView,
  balances: AccountBalances,
): Omit<AccountEventBody, 'seq'> {
  const position = balances.positions.find((candidate) => candidate.symbol === order.symbol);
  return {
    type,
    at: order.updatedAt,
    order,
    cash: {
      currency: 'USD',
      total: formatCash(balances.cash.total),
      available: formatCash(balances.cash.available),
      held: formatCash(balances.cash.held),
    },
    position: position
      ? {
          symbol: position.symbol,
          quantity: formatQuantity(position.quantity),
          available: formatQuantity(position.available),
          held: formatQuantity(position.held),
          averageCost: position.averageCost.toFixed(4),
        }
      : null,
  };
}

/** Prices as quoted: two decimals at or above $1, up to four below ("187.20", "0.4125"). */
function formatPrice(value: string): string {
  const price = dec(value);
  return price.gte(1)
    ? price.toFixed(Math.max(2, Math.min(4, price.decimalPlaces())))
    : price.toFixed(Math.max(2, price.decimalPlaces()));
}
