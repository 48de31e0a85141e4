import type { ExecutionReport } from '../../broker-adapter/index.ts';
import type { OrderEvent } from '../orders/order.machine.ts';
import type { TradeCorrectionFor } from '../orders/trade-correction.service.ts';

type Report = ExecutionReport;

/**
 * The anomaly kind (and alarm) of a bust or correct that cannot stand as sent (another order's trade,
 * terms that overfill the order, a correct of a busted trade): held for an operator, nothing moved.
 */
export const TRADE_CORRECTION_FOR_OPS = 'TRADE_CORRECTION_FOR_OPS';

/** Whether the report busts or corrects an earlier trade (FIX 150=H/G): not an order event, a correction of its fills. */
export function isTradeCorrection(report: Report): boolean {
  return report.execType === 'trade_cancel' || report.execType === 'trade_correct';
}

/** What a bust or correct report asks of the order's fills (the schema requires refExecId on both). */
export function tradeCorrectionOf(report: Report): TradeCorrectionFor {
  const correct = report.execType === 'trade_correct';
  return {
    kind: correct ? 'correct' : 'bust',
    execId: report.execId,
    refExecId: report.refExecId!,
    quantity: correct ? report.lastQuantity : null,
    price: correct ? report.lastPrice : null,
    orderId: report.clientOrderId,
    reportedAs: { account: report.account, symbol: report.symbol, side: report.side },
  };
}

/** The anomaly's text: what the broker changed, for the operator who settles it. */
export function describeTradeCorrection(report: Report): string {
  const what =
    report.execType === 'trade_cancel'
      ? `busts trade ${report.refExecId}`
      : `corrects trade ${report.refExecId} to ${report.lastQuantity} @ ${report.lastPrice}`;
  return `${report.execId} of order ${report.clientOrderId} (${report.account}, ${report.side} ${report.symbol}) ${what}`;
}

/**
 * What a broker execution report means to our order machine. Quantities come from the report's own
 * fill (`lastQuantity`), never from its cumulative fields, so duplicates and reordering cannot
 * double or lose a share; the cumulative quantity is used only to know, at a close, how many fills
 * are still on their way.
 */
export function orderEventFromReport(report: Report): OrderEvent {
  const at = report.transactTime;
  switch (report.execType) {
    case 'new':
    case 'pending_cancel':
      // Either proves the broker holds the order.
      return { type: 'OrderAcknowledged', brokerOrderId: report.brokerOrderId, at };
    case 'trade':
      return {
        type: 'FillReported',
        execId: report.execId,
        quantity: report.lastQuantity,
        price: report.lastPrice,
        at,
      };
    case 'rejected':
      return { type: 'OrderRejected', reason: report.rejectReason ?? 'rejected by the broker', at };
    case 'canceled':
      return { type: 'OrderCanceled', cumulativeQuantity: report.cumulativeQuantity, at };
    case 'expired':
      return { type: 'OrderExpired', cumulativeQuantity: report.cumulativeQuantity, at };
    case 'cancel_rejected':
      // The broker refuses a cancel in a report only when the order was done first.
      return {
        type: 'CancelRejected',
        code: 'TOO_LATE_TO_CANCEL',
        reason: report.rejectReason ?? 'too late to cancel',
        at,
      };
    case 'replaced': {
      // The schema requires replacedBy on a replaced report.
      const by = report.replacedBy!;
      return {
        type: 'ReplaceAcknowledged',
        newOrderId: by.clientOrderId,
        brokerOrderId: by.brokerOrderId,
        quantity: by.quantity,
        at,
      };
    }
    case 'trade_cancel':
    case 'trade_correct':
      // The consumer never asks (isTradeCorrection): reaching here is a programming error.
      throw new Error(`a ${report.execType} report is not an order event`);
    default: {
      const exhaustive: never = report.execType;
      throw new Error(`unknown execType ${String(exhaustive)}`);
    }
  }
}
