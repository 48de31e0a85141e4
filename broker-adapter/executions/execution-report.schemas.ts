import { z } from 'zod';
import { DECIMAL_PATTERN, dec } from '../../platform/decimal.ts';
import { decimalString } from '../../platform/decimal.schemas.ts';

/**
 * The execution report (FIX tag 35=8, simplified): the one message the broker sends about an order,
 * and exactly what travels as JSON on the `executions` topic, keyed by `account`.
 *
 * - `execId` (FIX 17) is unique per report across the broker; a duplicate delivery repeats it.
 * - `brokerOrderId` (37) is the broker's id; `clientOrderId` (11) is OUR order id; `account` (1) is
 *   our account id. All three are echoed on every report of the order.
 * - `execType` (150) says what happened: `new` (accepted), `trade` (a fill), `pending_cancel`
 *   (cancel request accepted), `canceled`, `rejected`, `expired` (a day order at the close), or
 *   `cancel_rejected` (the cancel came too late: the order filled first; `rejectReason` says why and
 *   `orderStatus` is the order's status, unchanged), or `replaced` (a cancel/replace took effect: the
 *   order is final, and `replacedBy` names the order that carries on, with its quantity: what the new
 *   total leaves after this order's fills).
 * - `trade_cancel` (FIX 150=H, a bust) and `trade_correct` (150=G) undo or amend an earlier `trade`
 *   of the order, named by `refExecId` (FIX 19). A bust carries `lastQuantity`/`lastPrice` "0"; a
 *   correct carries the trade's new `lastQuantity` and `lastPrice` (what the trade now is, not a
 *   difference). `cumulativeQuantity`/`averagePrice`/`orderStatus` are the order's after it.
 * - `orderStatus` (39) is the order's status after this report. A fill after a cancel request keeps
 *   `pending_cancel` until the cancel is settled, as FIX does.
 * - Decimals are strings matching DECIMAL_PATTERN. Quantities have at most 6 fractional digits.
 *   `lastQuantity`/`lastPrice` (32/31) are the fill of a `trade` report and "0" on every other kind.
 *   Prices are on the tick grid: 2 decimals at or above $1, 4 below. `averagePrice` (6) is
 *   sum(qty × price) / cumulativeQuantity rounded half-up to 4 decimals, "0" before any fill.
 * - `cumulativeQuantity` (14) + `leavesQuantity` (151) = `orderQuantity` (38) while the order is
 *   live; once it is final (filled, canceled, rejected, expired) `leavesQuantity` is "0".
 * - `transactTime` (60) is ISO-8601 UTC. `sequence` (34-like) counts every report the broker
 *   creates, from 1 with no holes: a hole seen by the fill receiver is a report not (yet) delivered.
 */

// One pass that stops at the first failure: nothing parses a value that is not a decimal.
const nonNegative = decimalString({ sign: 'non-negative' });
const positive = decimalString({ sign: 'positive' });

export const EXEC_TYPES = [
  'new',
  'trade',
  'pending_cancel',
  'canceled',
  'rejected',
  'expired',
  'cancel_rejected',
  'replaced',
  'trade_cancel',
  'trade_correct',
] as const;
/** The reports that undo or amend an earlier trade rather than report a new one. */
export const TRADE_CORRECTION_TYPES: readonly ExecType[] = ['trade_cancel', 'trade_correct'];
export const ORDER_STATUSES = [
  'new',
  'partially_filled',
  'filled',
  'pending_cancel',
  'canceled',
  'rejected',
  'expired',
  'replaced',
] as const;
export type ExecType = (typeof EXEC_TYPES)[number];
export type BrokerOrderStatus = (typeof ORDER_STATUSES)[number];
export const FINAL_ORDER_STATUSES: readonly BrokerOrderStatus[] = [
  'filled',
  'canceled',
  'rejected',
  'expired',
  'replaced',
];

const id = z.string().min(1).max(128);

const QUANTITY_FIELDS = [
  'lastQuantity',
  'lastPrice',
  'cumulativeQuantity',
  'leavesQuantity',
  'averagePrice',
  'orderQuantity',
] as const;

export const ExecutionReport = z
  .object({
    execId: id,
    brokerOrderId: id,
    clientOrderId: id,
    account: id,
    symbol: z.string().regex(/^[A-Z][A-Z0-9.]{0,11}$/, 'must be an upper-case ticker'),
    side: z.enum(['buy', 'sell']),
    execType: z.enum(EXEC_TYPES),
    orderStatus: z.enum(ORDER_STATUSES),
    lastQuantity: nonNegative,
    lastPrice: nonNegative,
    cumulativeQuantity: nonNegative,
    leavesQuantity: nonNegative,
    averagePrice: nonNegative,
    orderQuantity: positive,
    rejectReason: z.string().max(500).nullable().default(null),
    /** `replaced` reports only: the order that carries on (FIX's ClOrdID beside OrigClOrdID). */
    replacedBy: z.object({ brokerOrderId: id, clientOrderId: id, quantity: positive }).nullish(),
    /** `trade_cancel`/`trade_correct` only: the execId of the trade they bust or correct. */
    refExecId: id.nullish(),
    transactTime: z.iso.datetime({ offset: false }),
    sequence: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    /**
     * The broker it came from, as our side marked it (the fill receiver by the push's path and
     * signature, the open-order check by whom it asked); a broker's own push never sets it.
     */
    broker: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/)
      .optional(),
  })
  .superRefine((report, ctx) => {
    // zod runs this even when a field failed above; the cross-field rules need every field valid.
    if (!QUANTITY_FIELDS.every((field) => typeof report[field] === 'string' && DECIMAL_PATTERN.test(report[field]))) {
      return;
    }
    const q = (value: string) => dec(value);
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (q(report.cumulativeQuantity).gt(q(report.orderQuantity))) {
      issue('cumulativeQuantity', 'exceeds orderQuantity');
    }
    const final = FINAL_ORDER_STATUSES.includes(report.orderStatus);
    const expectedLeaves = final ? q('0') : q(report.orderQuantity).minus(q(report.cumulativeQuantity));
    if (!q(report.leavesQuantity).eq(expectedLeaves)) {
      issue('leavesQuantity', final ? 'must be 0 on a final order' : 'must be orderQuantity - cumulativeQuantity');
    }
    if (report.execType === 'trade' || report.execType === 'trade_correct') {
      if (q(report.lastQuantity).lte(0)) issue('lastQuantity', 'a trade must have a positive quantity');
      if (q(report.lastPrice).lte(0)) issue('lastPrice', 'a trade must have a positive price');
      if (q(report.lastQuantity).gt(q(report.cumulativeQuantity))) issue('lastQuantity', 'exceeds cumulativeQuantity');
    } else if (!q(report.lastQuantity).eq(0)) {
      issue('lastQuantity', 'must be 0 unless execType is trade or trade_correct');
    }
    const correction = TRADE_CORRECTION_TYPES.includes(report.execType);
    if (correction !== (report.refExecId != null)) {
      issue('refExecId', 'is required on a trade_cancel or trade_correct report and only there');
    } else if (correction && report.refExecId === report.execId) {
      issue('refExecId', 'must name another report than this one');
    }
    if ((report.execType === 'replaced') !== (report.replacedBy != null)) {
      issue('replacedBy', 'is required on a replaced report and only there');
    }
  });
export type ExecutionReport = z.infer<typeof ExecutionReport>;

export const EXECUTIONS_TOPIC = 'executions';
