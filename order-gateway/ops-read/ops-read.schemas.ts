import { z } from 'zod';
import { AnomalySchema } from '../anomalies/anomaly.schemas.ts';
import { OrderSchema, OrderStatusSchema } from '../orders/order.schemas.ts';

const cursor = z
  .string()
  .regex(/^\d{1,18}$/, 'after is a cursor returned as "next"')
  .optional();

export const OpsOrdersQuery = z
  .object({
    accountId: z.uuid('accountId must be an account id').optional(),
    clientOrderId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'clientOrderId is 1-64 of A-Z a-z 0-9 . _ -')
      .optional(),
    symbol: z
      .string()
      .regex(/^[A-Z][A-Z0-9.]{0,9}$/, 'symbol is an upper-case ticker')
      .optional(),
    status: OrderStatusSchema.optional(),
    date: z.iso.date('date must be YYYY-MM-DD').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    after: cursor,
  })
  .strict();
export type OpsOrdersQuery = z.infer<typeof OpsOrdersQuery>;

export const OpsOrderListSchema = z
  .object({ orders: z.array(OrderSchema), next: z.string().nullable() })
  .meta({ id: 'OpsOrderList' });

export const TimelineEntrySchema = z.object({
  at: z.string(),
  source: z.enum(['order', 'request-server', 'broker', 'ledger', 'events', 'ops']),
  kind: z.string(),
  detail: z.string(),
});

export const OrderTimelineSchema = z
  .object({ order: OrderSchema, entries: z.array(TimelineEntrySchema) })
  .meta({ id: 'OrderTimeline' });

export const AlarmsQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(500).default(50), after: cursor })
  .strict();

export const AlarmListSchema = z
  .object({ alarms: z.array(AnomalySchema), next: z.string().nullable() })
  .meta({ id: 'AlarmList' });

export const OpsAccountsQuery = z
  .object({
    q: z.string().trim().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    after: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, 'after is a cursor returned as "next"')
      .optional(),
  })
  .strict();

export const OpsAccountListSchema = z
  .object({
    accounts: z.array(
      z.object({ accountId: z.string(), name: z.string(), createdAt: z.string(), openOrders: z.number().int() }),
    ),
    next: z.string().nullable(),
  })
  .meta({ id: 'OpsAccountList' });
