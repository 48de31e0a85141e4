import { z } from 'zod';
import { decimalOutput } from '../../platform/decimal.schemas.ts';
import { CashSchema } from '../accounts/account.schemas.ts';
import { FillSchema, OrderSchema } from './order.schemas.ts';

/**
 * What a client of an account can see happen (docs/api.md, "Events"). `replaced`, `replace_rejected`,
 * `trade_bust` and `trade_correct` belong to order replace and trade busts (issue 14): they are part
 * of the schema so that clients can rely on them, and are written through the same append function.
 */
export const ACCOUNT_EVENT_TYPES = [
  'accepted',
  'new',
  'partial_fill',
  'fill',
  'pending_cancel',
  'canceled',
  'cancel_rejected',
  'pending_replace',
  'replaced',
  'replace_rejected',
  'rejected',
  'expired',
  'trade_bust',
  'trade_correct',
] as const;

export type AccountEventType = (typeof ACCOUNT_EVENT_TYPES)[number];

export const PositionSchema = z.object({
  symbol: z.string(),
  quantity: decimalOutput('10', 6),
  available: decimalOutput('10', 6),
  held: decimalOutput('0', 6),
  averageCost: decimalOutput('187.2500', 4),
});

export const AccountEventSchema = z
  .object({
    seq: z.number().int().describe("the account's event number: starts at 1, grows by one per event"),
    type: z.enum(ACCOUNT_EVENT_TYPES),
    at: z.string(),
    order: OrderSchema.describe('the order as this event left it'),
    fill: FillSchema.optional().describe('partial_fill, fill, trade_bust, trade_correct: the fill concerned'),
    cash: CashSchema.optional().describe("the account's cash when the event was written"),
    position: PositionSchema.nullable()
      .optional()
      .describe("the account's position in the order's symbol when the event was written (null: none)"),
  })
  .meta({ id: 'AccountEvent' });

export type AccountEventBody = z.infer<typeof AccountEventSchema>;
