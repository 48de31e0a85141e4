import { z } from 'zod';
import { BROKER_NAME } from '../../platform/index.ts';
import { BREAK_KINDS } from './reconciliation.rules.ts';

/** A run as docs/api.md shows it. `expected` is the broker's side, `actual` ours. */
export const BreakSchema = z
  .object({
    /** What `POST /v1/ops/breaks/{id}/resolve` takes. */
    id: z.string(),
    kind: z.enum(BREAK_KINDS),
    /** The broker whose statement it was found in; null for positions and cash (the sum across brokers) and for an execution no broker lists. */
    broker: z.string().nullable(),
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

/** A run in a listing: its counts without its breaks; a failed or running run too. */
export const RunSummarySchema = z
  .object({
    id: z.uuid(),
    date: z.iso.date(),
    status: z.enum(['running', 'clean', 'breaks', 'repaired', 'failed']),
    repair: z.boolean(),
    checked: z.object({ orders: z.number().int(), executions: z.number().int(), positions: z.number().int() }),
    breaksFound: z.number().int(),
    breaksOpen: z.number().int(),
    failure: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'ReconciliationRunSummary' });
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const RunListSchema = z
  .object({ runs: z.array(RunSummarySchema), next: z.string().nullable() })
  .meta({ id: 'ReconciliationRunList' });

/** A break with its run and, once an operator decided it, who, when and the note. */
export const BreakDetailSchema = BreakSchema.extend({
  runId: z.uuid(),
  date: z.iso.date(),
  /** Found by the first check, or by the check after a repair. */
  foundIn: z.enum(['check', 'recheck']),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  note: z.string().nullable(),
}).meta({ id: 'ReconciliationBreakDetail' });
export type BreakDetail = z.infer<typeof BreakDetailSchema>;

export const BreakListSchema = z
  .object({ breaks: z.array(BreakDetailSchema), next: z.string().nullable() })
  .meta({ id: 'ReconciliationBreakList' });

export const ListRunsQuery = z
  .object({
    date: z.iso.date('date must be YYYY-MM-DD').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    after: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, 'after is a cursor returned as "next"')
      .optional(),
  })
  .strict();

export const ListBreaksQuery = z
  .object({
    runId: z.uuid('runId must be a run id').optional(),
    status: z.enum(['open', 'closed', 'all']).default('open'),
    kind: z.enum(BREAK_KINDS).optional(),
    broker: z.string().regex(BROKER_NAME, 'broker is a broker name').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    after: z
      .string()
      .regex(/^\d{1,18}$/, 'after is a cursor returned as "next"')
      .optional(),
  })
  .strict();

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
