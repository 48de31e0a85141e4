import { z } from 'zod';

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
});

export const CancelOrderMessage = z.object({
  type: z.literal('CancelOrder'),
  orderId: z.uuid(),
  accountId: z.uuid(),
});

export const OrderRequestMessage = z.discriminatedUnion('type', [SubmitOrderMessage, CancelOrderMessage]);

export type SubmitOrderMessage = z.infer<typeof SubmitOrderMessage>;
export type CancelOrderMessage = z.infer<typeof CancelOrderMessage>;
export type OrderRequestMessage = z.infer<typeof OrderRequestMessage>;

/** Created by the trading server, which owns the topic; keyed by account so one account's requests stay in order. */
export async function ensureOrderRequestsTopic(
  bus: { ensureTopics(topics: { name: string; partitions: number }[]): Promise<void> },
  partitions: number,
): Promise<void> {
  await bus.ensureTopics([{ name: ORDER_REQUESTS_TOPIC, partitions }]);
}
