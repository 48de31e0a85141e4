import { z } from 'zod';
import { decimalOutput, decimalString } from '../../platform/decimal.schemas.ts';
import { ORDER_STATUSES } from './order.machine.ts';

/** Money and quantities travel as decimal strings; a JSON number is refused, not rounded. */
const positiveDecimal = (name: string, maxFractionDigits: number, max: string, example: string) =>
  decimalString({ name, sign: 'positive', maxFractionDigits, max, example });

export const PlaceOrderBody = z
  .object({
    clientOrderId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'clientOrderId is 1-64 characters of A-Z a-z 0-9 . _ -'),
    symbol: z.string().min(1).max(16),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit']),
    quantity: positiveDecimal('quantity', 6, '10000000', '10'),
    // The tick (2 or 4 decimals by price) is a business rule: 422 INVALID_PRICE_INCREMENT, not a 400.
    limitPrice: positiveDecimal('limitPrice', 18, '1000000', '187.25').optional(),
    timeInForce: z.enum(['day', 'gtc', 'ioc']).default('day'),
    extendedHours: z.boolean().default(false),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.type === 'limit' && body.limitPrice === undefined) {
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'limitPrice is required for a limit order' });
    }
    if (body.type === 'market' && body.limitPrice !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'limitPrice is not allowed on a market order' });
    }
  })
  .meta({ id: 'PlaceOrderRequest' });

export type PlaceOrderRequest = z.infer<typeof PlaceOrderBody>;

/** PATCH /v1/orders/{id}: the terms to change; the quantity is the new total, fills included. */
export const ReplaceOrderBody = z
  .object({
    quantity: positiveDecimal('quantity', 6, '10000000', '12').optional(),
    limitPrice: positiveDecimal('limitPrice', 18, '1000000', '186.50').optional(),
    timeInForce: z.enum(['day', 'gtc', 'ioc']).optional(),
    /** The new order's; idempotency key of the replace. Generated when absent. */
    clientOrderId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'clientOrderId is 1-64 characters of A-Z a-z 0-9 . _ -')
      .optional(),
  })
  .strict()
  .refine((body) => body.quantity !== undefined || body.limitPrice !== undefined || body.timeInForce !== undefined, {
    message: 'name at least one of quantity, limitPrice, timeInForce',
    path: ['quantity'],
  })
  .meta({ id: 'ReplaceOrderRequest' });

export type ReplaceOrderRequest = z.infer<typeof ReplaceOrderBody>;

export const OrderStatusSchema = z.enum(ORDER_STATUSES);

export const FillSchema = z.object({
  execId: z.string(),
  quantity: decimalOutput('4', 6),
  price: decimalOutput('187.20', 4),
  commission: decimalOutput('0.75', 2),
  at: z.string(),
});

export const OrderSchema = z
  .object({
    id: z.string(),
    clientOrderId: z.string(),
    accountId: z.string(),
    symbol: z.string(),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit']),
    quantity: decimalOutput('10', 6),
    limitPrice: decimalOutput('187.25', 4).nullable(),
    timeInForce: z.enum(['day', 'gtc', 'ioc']),
    extendedHours: z.boolean(),
    status: OrderStatusSchema,
    filledQuantity: decimalOutput('4', 6),
    averageFillPrice: decimalOutput('187.2000', 4).nullable(),
    commission: decimalOutput('0.75', 2),
    rejectReason: z.string().nullable(),
    /** The last cancel the broker refused (the order back to its live status), or null. */
    lastRejection: z
      .object({ action: z.enum(['cancel', 'replace']), code: z.string(), message: z.string(), at: z.string() })
      .nullable(),
    /** The order this one replaced (PATCH), or null. */
    replaces: z.string().nullable(),
    /** The order that replaced this one (status `replaced`), or null. */
    replacedBy: z.string().nullable(),
    /** The broker it was routed to (BROKERS), for life; null before it was sent. */
    brokerId: z.string().nullable(),
    fills: z.array(FillSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Order' });

export type OrderView = z.infer<typeof OrderSchema>;

export const OrderIdParams = z.object({ id: z.string().min(1).max(100) });

export const ListOrdersQuery = z
  .object({
    status: z.enum(['open', 'closed', 'all']).default('open'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    after: z
      .string()
      .regex(/^\d{1,18}$/, 'after is a cursor returned as "next"')
      .optional(),
  })
  .strict();

export const OrderListSchema = z
  .object({ orders: z.array(OrderSchema), next: z.string().nullable() })
  .meta({ id: 'OrderList' });
