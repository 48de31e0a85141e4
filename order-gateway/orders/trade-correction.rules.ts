import { dec } from '../../platform/decimal.ts';
import { orderStatus, restoreOrderSnapshot, type OrderContext, type OrderStatus } from './order.machine.ts';
import type { OrderRow } from './order.repository.ts';

/**
 * A broker's bust (FIX 150=H) or correct (150=G) of one of an order's trades, decided on values.
 *
 * A bust is not an order event: it amends the order's record of what it filled, in any state, final
 * ones included (a filled order stays filled: final states are never left, and the broker does not
 * work it again). So it is decided here, beside the machine, on the order's stored context:
 * - the named fill is marked `busted`, or `corrected` with a new fill carrying the new terms;
 * - only active fills count: the filled quantity and notional lose the fill (and gain the correction);
 * - a live order stays live with what it has left to fill (`partially_filled` may become `new`), and
 *   may fill that again; an order closing while fills are on their way awaits that much less;
 * - a correct naming a fill that was corrected before amends the fill that now stands for it.
 */

export type FillState = 'active' | 'busted' | 'corrected';

export interface TradeCorrection {
  kind: 'bust' | 'correct';
  /** The bust's or correct's own execId. */
  execId: string;
  /** The trade it names. */
  refExecId: string;
  /** A correct's new terms: what the trade now is (not a difference). */
  quantity: string | null;
  price: string | null;
}

export interface FillOnRecord {
  execId: string;
  quantity: string;
  price: string;
  state: FillState;
  corrects: string | null;
  endedBy: string | null;
}

export type CorrectionDecision =
  /** The fill it names has not reached us: keep the report and try again later (never lose it). */
  | { type: 'wait'; reason: string }
  /** Already applied (a duplicate), or the trade is already busted: nothing moves. */
  | { type: 'ignore'; reason: string }
  /** It cannot stand as sent: held for an operator, nothing moves. */
  | { type: 'hold'; reason: string }
  | {
      type: 'apply';
      /** The active fill taken back. */
      fill: FillOnRecord;
      /** The order's context after it, and its status. */
      context: OrderContext;
      status: OrderStatus;
      /** Whether the order may still fill (its hold takes back what it needs). */
      live: boolean;
      /** A correct's new fill. */
      correction: { execId: string; quantity: string; price: string } | null;
    };

export function decideTradeCorrection(
  order: Pick<OrderRow, 'snapshot'>,
  fills: readonly FillOnRecord[],
  correction: TradeCorrection,
): CorrectionDecision {
  if (fills.some((fill) => fill.endedBy === correction.execId || fill.execId === correction.execId)) {
    return { type: 'ignore', reason: `${correction.execId} was applied already` };
  }
  let fill = fills.find((candidate) => candidate.execId === correction.refExecId);
  if (!fill) return { type: 'wait', reason: `trade ${correction.refExecId} has not reached us` };
  // A trade corrected before is now its correction.
  for (let hops = 0; fill.state === 'corrected' && hops < fills.length; hops++) {
    const next = fills.find((candidate) => candidate.corrects === fill!.execId);
    if (!next) break;
    fill = next;
  }
  if (fill.state === 'busted') {
    return correction.kind === 'bust'
      ? { type: 'ignore', reason: `trade ${correction.refExecId} is busted already` }
      : { type: 'hold', reason: `a correct of trade ${correction.refExecId}, which is busted` };
  }
  if (fill.state !== 'active') return { type: 'hold', reason: `trade ${correction.refExecId} is ${fill.state}` };
  const context = order.snapshot.context;
  let filledQuantity = dec(context.filledQuantity).minus(fill.quantity);
  let filledNotional = dec(context.filledNotional).minus(dec(fill.quantity).times(fill.price));
  let newFill: { execId: string; quantity: string; price: string } | null = null;
  if (correction.kind === 'correct') {
    if (correction.quantity === null || correction.price === null || dec(correction.quantity).lte(0)) {
      return { type: 'hold', reason: 'a correct without a positive quantity and price' };
    }
    newFill = { execId: correction.execId, quantity: correction.quantity, price: correction.price };
    filledQuantity = filledQuantity.plus(correction.quantity);
    filledNotional = filledNotional.plus(dec(correction.quantity).times(correction.price));
  }
  if (filledQuantity.gt(context.quantity)) {
    return {
      type: 'hold',
      reason: `the correct takes the order to ${filledQuantity.toFixed()} of ${context.quantity}`,
    };
  }
  if (filledQuantity.lt(0)) return { type: 'hold', reason: 'the order would have filled less than nothing' };
  const delta = filledQuantity.minus(context.filledQuantity);
  const next: OrderContext = {
    ...context,
    filledQuantity: filledQuantity.toFixed(),
    filledNotional: filledNotional.toFixed(),
    execIds: newFill ? [...context.execIds, newFill.execId] : context.execIds,
    closing: context.closing
      ? {
          ...context.closing,
          awaitingFilledQuantity: dec(context.closing.awaitingFilledQuantity).plus(delta).toFixed(),
        }
      : null,
  };
  const before = restoreOrderSnapshot(order.snapshot);
  const after = restoreOrderSnapshot({ value: order.snapshot.value, context: next });
  return {
    type: 'apply',
    fill,
    context: next,
    status: orderStatus(after),
    live: before.status !== 'done' && context.closing === null,
    correction: newFill,
  };
}
