import type { Ledger } from '../../ledger/index.ts';
import { dec, formatCash, formatQuantity, type Logger, type PoolClient } from '../../platform/index.ts';
import { appendAccountEvents } from './account-event.repository.ts';
import { persistOrderSnapshot, restoreOrderSnapshot } from './order.machine.ts';
import { orderRepository, type FillRow, type OrderRow } from './order.repository.ts';
import { eventBody, toView } from './order.view.ts';
import { decideTradeCorrection, type FillOnRecord, type TradeCorrection } from './trade-correction.rules.ts';

/** The alarm of a bust that left a customer short (shares already sold) or owing cash (its sale's cash spent). */
export const SHORT_AFTER_BUST = 'SHORT_AFTER_BUST';

export interface TradeCorrectionFor extends TradeCorrection {
  orderId: string;
  /** The report's account, symbol and side: a report that does not match its order is held, not applied. */
  reportedAs: { account: string; symbol: string; side: 'buy' | 'sell' };
}

export type CorrectionOutcome =
  | { outcome: 'applied' }
  | { outcome: 'ignored'; reason: string }
  /** The order or the trade has not reached us (yet): the caller parks the report and retries it. */
  | { outcome: 'parked'; reason: string }
  /** It cannot stand as sent: the caller holds it for an operator. */
  | { outcome: 'held'; reason: string };

export interface TradeCorrectionDependencies {
  ledger: Ledger;
  logger: Logger;
  onAlarm?: (kind: string) => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Applies a broker's bust or correct in the caller's transaction, under the order's lock: the fill is
 * marked, the ledger reverses it by a new entry (and settles the correction's terms), the order's
 * filled quantity, notional and commission follow its active fills, and the account's client sees a
 * `trade_bust` or `trade_correct` event with the fill, cash and position. Idempotent on the report's
 * execId (the fill's `ended_by`, the ledger's reversal key).
 */
export async function applyTradeCorrection(
  deps: TradeCorrectionDependencies,
  tx: PoolClient,
  correction: TradeCorrectionFor,
): Promise<CorrectionOutcome> {
  if (!UUID.test(correction.orderId)) return { outcome: 'held', reason: 'it names no order of ours' };
  const [row] = await orderRepository.lockMany(tx, [correction.orderId]);
  if (!row) return { outcome: 'parked', reason: `order ${correction.orderId} has not reached us` };
  const { account, symbol, side } = correction.reportedAs;
  if (row.account_id !== account || row.symbol !== symbol || row.side !== side) {
    return {
      outcome: 'held',
      reason: `its account, symbol or side is not its order's (${row.account_id} ${row.side} ${row.symbol})`,
    };
  }
  const fills = await orderRepository.fillsOf(tx, [row.id]);
  const decision = decideTradeCorrection(row, fills.map(fillOnRecord), correction);
  switch (decision.type) {
    case 'wait':
      return { outcome: 'parked', reason: decision.reason };
    case 'ignore':
      return { outcome: 'ignored', reason: decision.reason };
    case 'hold':
      return { outcome: 'held', reason: decision.reason };
    case 'apply':
      break;
    default: {
      const exhaustive: never = decision;
      throw new Error(`unexpected decision ${JSON.stringify(exhaustive)}`);
    }
  }
  const taken = fills.find((fill) => fill.exec_id === decision.fill.execId)!;
  const reversal = await deps.ledger.reverseFill(tx, {
    execId: correction.execId,
    reversedExecId: taken.exec_id,
    live: decision.live,
  });
  let commissionAdded = reversal.commission.negated();
  if (decision.correction) {
    const [settled] = await deps.ledger.settleFills(tx, [
      {
        holdId: row.id,
        execId: decision.correction.execId,
        quantity: dec(decision.correction.quantity),
        price: dec(decision.correction.price),
        at: taken.executed_at,
      },
    ]);
    commissionAdded = commissionAdded.plus(settled!.commission);
    await orderRepository.insertCorrectionFill(tx, {
      execId: decision.correction.execId,
      orderId: row.id,
      quantity: decision.correction.quantity,
      price: decision.correction.price,
      commission: formatCash(settled!.commission),
      at: taken.executed_at,
      corrects: taken.exec_id,
    });
  }
  await orderRepository.endFill(tx, taken.exec_id, decision.correction ? 'corrected' : 'busted', correction.execId);
  const snapshot = persistOrderSnapshot(restoreOrderSnapshot({ value: row.snapshot.value, context: decision.context }));
  const update = {
    status: decision.status,
    filledQuantity: decision.context.filledQuantity,
    filledNotional: decision.context.filledNotional,
    commissionAdded: commissionAdded.toFixed(),
    rejectReason: row.reject_reason,
    brokerOrderId: row.broker_order_id,
    brokerAcceptedAt: null,
    snapshot,
  };
  if (!(await orderRepository.updateState(tx, row.id, row.version, update))) {
    throw new Error(`order ${row.id} changed under its lock`);
  }
  if (reversal.negative.length > 0) {
    const detail = `${correction.kind} ${correction.execId} of trade ${taken.exec_id} (${row.side} ${formatQuantity(dec(taken.quantity))} ${row.symbol}) left account ${row.account_id} ${reversal.negative
      .map((balance) => `${balance.asset} ${balance.available.toFixed()}`)
      .join(', ')}: flagged`;
    await orderRepository.recordAnomalies(tx, [
      { orderId: row.id, kind: SHORT_AFTER_BUST, detail, event: correction, execId: correction.execId },
    ]);
    deps.logger.error({ alarm: SHORT_AFTER_BUST, orderId: row.id, execId: correction.execId }, detail);
    deps.onAlarm?.(SHORT_AFTER_BUST);
  }
  const after: OrderRow = {
    ...row,
    status: decision.status,
    filled_quantity: decision.context.filledQuantity,
    filled_notional: decision.context.filledNotional,
    commission: dec(row.commission).plus(commissionAdded).toFixed(),
    snapshot,
    version: row.version + 1,
    updated_at: new Date(),
  };
  const order = toView(after, await orderRepository.fillsOf(tx, [row.id]));
  const type = correction.kind === 'bust' ? 'trade_bust' : 'trade_correct';
  const fill = order.fills.find((candidate) => candidate.execId === (decision.correction?.execId ?? taken.exec_id));
  await appendAccountEvents(tx, [
    {
      accountId: row.account_id,
      type,
      body: { ...eventBody(type, order, await deps.ledger.getAccount(tx, row.account_id)), ...(fill ? { fill } : {}) },
    },
  ]);
  return { outcome: 'applied' };
}

function fillOnRecord(fill: FillRow): FillOnRecord {
  return {
    execId: fill.exec_id,
    quantity: fill.quantity,
    price: fill.price,
    state: fill.state,
    corrects: fill.corrects,
    endedBy: fill.ended_by,
  };
}
