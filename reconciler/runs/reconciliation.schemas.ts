import { z } from 'zod';
import { BREAK_KINDS } from './reconciliation.rules.ts';

/** A run as docs/api.md shows it. `expected` is the broker's side, `actual` ours. */
export const BreakSchema = z
  .object({
    /** What `POST /v1/ops/breaks/{id}/resolve` takes. */
    id: z.string(),
    kind: z.enum(BREAK_KINDS),
    symbol: z.string().nullable(),
    orderId: z.string().nullable(),
    execId: z.string().nullable(),
    expected: z.string().nullable(),
    actual: z.string().nullable(),
    resolution: z.string().nullable(),
    /** False once repaired or resolved by an operator. */
    open: z.boolean(),
  })
  .meta({ id: 'ReconciliationBreak' });
export type Break = z.infer<typeof BreakSchema>;

export const RunSchema = z
  .object({
    id: z.uuid(),
    date: z.iso.date(),
    status: z.enum(['clean', 'breaks', 'repaired']),
    checked: z.object({ orders: z.number().int(), executions: z.number().int(), positions: z.number().int() }),
    breaks: z.array(BreakSchema),
  })
  .meta({ id: 'ReconciliationRun' });
export type Run = z.infer<typeof RunSchema>;

export const StartRunBody = z
  .object({
    date: z.iso.date('must be a date YYYY-MM-DD'),
    repair: z.boolean().default(false),
  })
  .strict();

export const RunIdParams = z.object({ id: z.string() });

export const BreakIdParams = z.object({ id: z.string().max(100) });

export const ResolveBreakBody = z
  .object({ note: z.string().trim().min(1, 'note must say what was decided').max(2000) })
  .strict();

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }),
});
