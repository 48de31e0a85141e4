import { z } from 'zod';

export const ListAnomaliesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    after: z
      .string()
      .regex(/^\d{1,18}$/, 'after is a cursor returned as "next"')
      .optional(),
    kind: z
      .string()
      .regex(/^[A-Z_:]{1,64}$/, 'kind is an anomaly kind such as FILL_OUTSIDE_TERMS')
      .optional(),
  })
  .strict();

export const AnomalySchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    orderId: z.string().nullable(),
    execId: z.string().nullable(),
    detail: z.string(),
    /** What was offered to the order: the event, or the raw report when it could not be read. */
    event: z.unknown(),
    recordedAt: z.string(),
  })
  .meta({ id: 'Anomaly' });

export const AnomalyListSchema = z
  .object({ anomalies: z.array(AnomalySchema), next: z.string().nullable() })
  .meta({ id: 'AnomalyList' });

export type AnomalyView = z.infer<typeof AnomalySchema>;
