import { z } from 'zod';
import { AccountEventSchema } from '../orders/account-event.schemas.ts';

export const OPS_EVENT_TYPES = ['alarm', 'parked'] as const;

export const OpsEventSchema = z
  .object({
    seq: z.number().int(),
    type: z.enum(OPS_EVENT_TYPES),
    at: z.string(),
    kind: z.string().describe('the alarm kind (FILL_OUTSIDE_TERMS, REPORT_REFUSED:…, …) or MESSAGE_PARKED'),
    detail: z.string().nullable(),
    orderId: z.string().nullable().optional(),
    execId: z.string().nullable().optional(),
    anomalyId: z.string().optional(),
    parkedId: z.string().optional(),
    consumer: z.string().optional(),
    topic: z.string().optional(),
    attempts: z.number().int().optional(),
  })
  .meta({ id: 'OpsEvent' });

export type OpsEventBody = z.infer<typeof OpsEventSchema>;

const seqCursor = z
  .string()
  .regex(/^\d{1,15}$/, 'since is an event number (0 for the beginning)')
  .transform(Number);

export const EventsQuery = z
  .object({
    since: seqCursor.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const AccountEventPageSchema = z
  .object({ events: z.array(AccountEventSchema), next: z.number().int().nullable() })
  .meta({ id: 'AccountEventPage' });

export const OpsEventPageSchema = z
  .object({ events: z.array(OpsEventSchema), next: z.number().int().nullable() })
  .meta({ id: 'OpsEventPage' });
