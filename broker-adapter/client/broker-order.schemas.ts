import { z } from 'zod';
import { dec } from '../../platform/decimal.ts';
import { decimalString } from '../../platform/decimal.schemas.ts';
import { ExecutionReport, ORDER_STATUSES } from '../executions/execution-report.schemas.ts';

// One pass that stops at the first failure: nothing parses a value that is not a decimal.
const positive = decimalString({ sign: 'positive' });

/**
 * An order as our request server sends it to the broker. The broker answers a malformed one with
 * 400; a well-formed one it cannot take (unknown symbol, bad tick, fractional limit order...) is
 * recorded as a rejected order with a reason, as a real broker's risk layer does.
 */
export const BrokerOrderRequest = z
  .object({
    /** OUR order id: globally unique; the broker never makes a second order for it. */
    clientOrderId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9._-]'),
    /** Our account id (FIX tag 1), echoed on every report. */
    account: z.string().min(1).max(64),
    symbol: z.string().regex(/^[A-Z][A-Z0-9.]{0,11}$/, 'must be an upper-case ticker'),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit']),
    quantity: positive.refine((value) => dec(value).decimalPlaces() <= 6, 'at most 6 fractional digits'),
    limitPrice: positive.optional(),
    /** Market orders: never fill a buy above / a sell below this (our hold can never be exceeded). */
    collarPrice: positive.optional(),
    timeInForce: z.enum(['day', 'gtc', 'ioc']).default('day'),
    extendedHours: z.boolean().default(false),
  })
  .strict()
  .superRefine((order, ctx) => {
    if (order.type === 'limit' && order.limitPrice === undefined) {
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'required for a limit order' });
    }
    if (order.type === 'market' && order.limitPrice !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['limitPrice'], message: 'not allowed on a market order' });
    }
    if (order.type === 'limit' && order.collarPrice !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['collarPrice'], message: 'only for market orders' });
    }
  });
export type BrokerOrderRequest = z.input<typeof BrokerOrderRequest>;
export type ParsedOrderRequest = z.output<typeof BrokerOrderRequest>;

/**
 * A cancel/replace (FIX 35=G): the new order's client order id and its terms. `quantity` is the new
 * total, the old order's fills included; what is left after them is the new order's quantity.
 */
export const BrokerReplaceRequest = z
  .object({
    clientOrderId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of [A-Za-z0-9._-]'),
    quantity: positive.refine((value) => dec(value).decimalPlaces() <= 6, 'at most 6 fractional digits'),
    limitPrice: positive.optional(),
    timeInForce: z.enum(['day', 'gtc', 'ioc']).optional(),
  })
  .strict();
export type BrokerReplaceRequest = z.infer<typeof BrokerReplaceRequest>;

/** The simulated broker's operations desk: a trade's corrected terms (what it now is), at least one. */
export const TradeCorrectionRequest = z
  .object({
    quantity: positive.refine((value) => dec(value).decimalPlaces() <= 6, 'at most 6 fractional digits').optional(),
    price: positive.refine((value) => dec(value).decimalPlaces() <= 4, 'at most 4 fractional digits').optional(),
  })
  .strict()
  .refine((terms) => terms.quantity !== undefined || terms.price !== undefined, 'give a quantity or a price');
export type TradeCorrectionRequest = z.infer<typeof TradeCorrectionRequest>;

export const BrokerOrder = z.object({
  brokerOrderId: z.string(),
  clientOrderId: z.string(),
  account: z.string(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  type: z.enum(['market', 'limit']),
  quantity: z.string(),
  limitPrice: z.string().nullable(),
  collarPrice: z.string().nullable(),
  timeInForce: z.enum(['day', 'gtc', 'ioc']),
  extendedHours: z.boolean(),
  status: z.enum(ORDER_STATUSES),
  cumulativeQuantity: z.string(),
  leavesQuantity: z.string(),
  averagePrice: z.string(),
  rejectReason: z.string().nullable(),
  /** A replacement: the broker id of the order it replaced (absent from older brokers' answers). */
  replaces: z.string().nullable().default(null),
  /** Day orders: when they expire; null for gtc and ioc. */
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type BrokerOrder = z.infer<typeof BrokerOrder>;

export const STATEMENT_KINDS = ['executions', 'orders', 'positions', 'cash'] as const;
export type StatementKind = (typeof STATEMENT_KINDS)[number];

/** Statement dates are New York trading dates. */
export const StatementDate = z.iso.date();

export const ExecutionsStatement = z.object({ date: z.string(), executions: z.array(ExecutionReport) });
export const OrdersStatement = z.object({ date: z.string(), orders: z.array(BrokerOrder) });
export const PositionsStatement = z.object({
  date: z.string(),
  positions: z.array(z.object({ symbol: z.string(), quantity: z.string() })),
});
export const CashStatement = z.object({
  date: z.string(),
  currency: z.literal('USD'),
  /** Net trade cash flow since the first trade: sells minus buys; each order's fills cost round(Σ qty × price) to the cent. */
  balance: z.string(),
  /** That day's buys and sells, in cash. */
  bought: z.string(),
  sold: z.string(),
});
export type ExecutionsStatement = z.infer<typeof ExecutionsStatement>;
export type OrdersStatement = z.infer<typeof OrdersStatement>;
export type PositionsStatement = z.infer<typeof PositionsStatement>;
export type CashStatement = z.infer<typeof CashStatement>;
export interface Statements {
  executions: ExecutionsStatement;
  orders: OrdersStatement;
  positions: PositionsStatement;
  cash: CashStatement;
}

export const InstrumentView = z.object({
  symbol: z.string(),
  name: z.string(),
  lastPrice: z.string(),
  tradable: z.boolean(),
});
export type InstrumentView = z.infer<typeof InstrumentView>;

export const ClockView = z.object({
  now: z.string(),
  session: z.enum(['pre', 'regular', 'post', 'closed']),
  nextOpen: z.string(),
  nextClose: z.string(),
});
export type ClockView = z.infer<typeof ClockView>;
