import { z } from 'zod';
import { OpsOrdersQuery } from '../order-gateway/index.ts';

/** An empty field of a GET form is no filter, not an invalid value. */
const blankAsMissing = (value: unknown) => (value === '' ? undefined : value);

export const SignInBody = z
  .object({
    key: z.string().trim().min(1, 'enter your ops key').max(200),
    _csrf: z.string().max(200),
  })
  .strict();

export const CsrfOnlyBody = z.object({ _csrf: z.string().max(200) }).strict();

export const ResolveForm = z
  .object({
    note: z.string().trim().min(1, 'the note must say what was decided').max(2000),
    _csrf: z.string().max(200),
  })
  .strict();

export const StartRunForm = z
  .object({
    date: z.iso.date('date must be YYYY-MM-DD'),
    repair: z.enum(['on', 'true']).optional(),
    _csrf: z.string().max(200),
  })
  .strict();

export const RunIdParams = z.object({ id: z.uuid('not a run id') });
export const BreakIdParams = z.object({ id: z.string().regex(/^[1-9]\d{0,17}$/, 'not a break id') });
export const OrderIdParams = z.object({ id: z.uuid('not an order id') });

export const RunsQuery = z
  .object({
    date: z.preprocess(blankAsMissing, z.iso.date('date must be YYYY-MM-DD').optional()),
    after: z.preprocess(
      blankAsMissing,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,200}$/)
        .optional(),
    ),
  })
  .strict();

export const OrdersPageQuery = z.preprocess(
  (query) =>
    typeof query === 'object' && query !== null
      ? Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ''))
      : query,
  OpsOrdersQuery.extend({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
);

export const AccountsPageQuery = z
  .object({
    q: z.preprocess(blankAsMissing, z.string().trim().min(1).max(200).optional()),
    after: z.preprocess(
      blankAsMissing,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,200}$/)
        .optional(),
    ),
  })
  .strict();
