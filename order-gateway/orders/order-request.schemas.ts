import { z } from 'zod';
import { dec, formatQuantity } from '../../platform/decimal.ts';
import type { OrderRow } from './order.repository.ts';

/** What an order request is rebuilt from: the terms of the order's row. */
export type OrderTerms = Pick<
  OrderRow,
  | 'id'
  | 'account_id'
  | 'symbol'
  | 'side'
  | 'type'
  | 'quantity'
  | 'limit_price'
  | 'worst_price'
  | 'time_in_force'
  | 'extended_hours'
>;

/** Topic from the trading server (outbox) to the request server, keyed by account. */
export const ORDER_REQUESTS_TOPIC = 'order-requests';

export const SubmitOrderMessage = z.object({
  type: z.literal('SubmitOrder'),
  orderId: z.uuid(),
  accountId: z.uuid(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  orderType: z.enum(['market', 'limit']),
  quantity: z.string(),
  limitPrice: z.string().nullable(),
  /** Market orders only: the protection price that keeps the fill within the hold. */
  collarPrice: z.string().nullable(),
  timeInForce: z.enum(['day', 'gtc', 'ioc']),
  extendedHours: z.boolean(),
  /**
   * A day order's end on the market's clock (its session's close), so that one that never reached
   * the broker expires then; null for gtc and ioc, and unknown (null) in messages of older versions.
   */
  expiresAt: z.iso.datetime().nullable().default(null),
});

export const CancelOrderMessage = z.object({
  type: z.literal('CancelOrder'),
  orderId: z.uuid(),
  accountId: z.uuid(),
  /** The n-th cancel of the order: a later one replaces a refused earlier one, a redelivery does not. */
  requestNo: z.number().int().positive().default(1),
});

/** A cancel/replace of an acknowledged order: the new order's id (its client order id at the broker) and terms. */
export const ReplaceOrderMessage = z.object({
  type: z.literal('ReplaceOrder'),
  orderId: z.uuid(),
  accountId: z.uuid(),
  /** The n-th replace of the order: a later one takes over a refused earlier one, a redelivery does not. */
  requestNo: z.number().int().positive(),
  newOrderId: z.uuid(),
  /** The new total, the old order's fills included. */
  quantity: z.string(),
  limitPrice: z.string(),
  timeInForce: z.enum(['day', 'gtc', 'ioc']),
});

export const OrderRequestMessage = z.discriminatedUnion('type', [
  SubmitOrderMessage,
  CancelOrderMessage,
  ReplaceOrderMessage,
]);

export type SubmitOrderMessage = z.infer<typeof SubmitOrderMessage>;
export type CancelOrderMessage = z.infer<typeof CancelOrderMessage>;
export type ReplaceOrderMessage = z.infer<typeof ReplaceOrderMessage>;
export type OrderRequestMessage = z.infer<typeof OrderRequestMessage>;

/**
 * The order request as the trading server wrote it, rebuilt from the order's row: for a request the
 * outbox marked sent but the request server never stored (see the re-drive in request-server.ts).
 */
export function submitMessageOf(order: OrderTerms): SubmitOrderMessage {
  return {
    type: 'SubmitOrder',
    orderId: order.id,
    accountId: order.account_id,
    symbol: order.symbol,
    side: order.side,
    orderType: order.type,
    quantity: formatQuantity(dec(order.quantity)),
    limitPrice: order.limit_price === null ? null : dec(order.limit_price).toFixed(),
    collarPrice: order.type === 'market' ? dec(order.worst_price).toFixed() : null,
    timeInForce: order.time_in_force,
    extendedHours: order.extended_hours,
    // Its session is not stored with the order: the broker expires it if it goes out too late.
    expiresAt: null,
  };
}

/** Created by the trading server, which owns the topic; keyed by account so one account's requests stay in order. */
export async function ensureOrderRequestsTopic(
  bus: { ensureTopics(topics: { name: string; partitions: number }[]): Promise<void> },
  partitions: number,
): Promise<void> {
  await bus.ensureTopics([{ name: ORDER_REQUESTS_TOPIC, partitions }]);
}
