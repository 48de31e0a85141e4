import { z } from 'zod';

export const ParkedQuery = z
  .object({
    status: z.enum(['parked', 'replayed', 'all']).default('parked'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const ParkedIdParams = z.object({ id: z.string().max(100) });

export const ParkedMessageSchema = z
  .object({
    id: z.string(),
    consumer: z.string(),
    topic: z.string(),
    partition: z.number().int(),
    offset: z.string(),
    key: z.string(),
    value: z.string().describe('the message as it arrived'),
    headers: z.record(z.string(), z.string()),
    error: z.string().describe('why it could not be handled, the last time'),
    attempts: z.number().int(),
    status: z.enum(['parked', 'replayed']),
    parkedAt: z.string(),
    replayedAt: z.string().nullable(),
    replayedBy: z.string().nullable(),
  })
  .meta({ id: 'ParkedMessage' });

export const ParkedListSchema = z.object({ messages: z.array(ParkedMessageSchema) });
