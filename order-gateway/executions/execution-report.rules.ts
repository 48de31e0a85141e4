import type { ExecutionReport } from '../../broker-adapter/index.ts';
import type { OrderEvent } from '../orders/order.machine.ts';

type Report = ExecutionReport;

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
    default: {
      const exhaustive: never = report.execType;
      throw new Error(`unknown execType ${String(exhaustive)}`);
    }
  }
}
