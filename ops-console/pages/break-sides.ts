import type { BrokerOrder, ExecutionReport } from '../../broker-adapter/index.ts';
import { readOrderTimeline, type OrderTimeline } from '../../order-gateway/index.ts';
import type { OpsConsoleOptions } from '../console.types.ts';

export interface BrokerSide {
  order: BrokerOrder | null;
  executions: ExecutionReport[];
  /** Why the broker's side could not be read, when it could not. */
  unavailable: string | null;
}

/**
 * Both sides of a break that names an order: ours (the order, its fills and its ledger postings) and
 * the broker's (its order and its execution reports), the latter asked of the broker now.
 */
export async function readBreakSides(
  options: OpsConsoleOptions,
  orderId: string | null,
): Promise<{ ours: OrderTimeline | null; broker: BrokerSide | null }> {
  if (!orderId) return { ours: null, broker: null };
  const [ours, broker] = await Promise.all([
    readOrderTimeline(options.pool, options.ledger, orderId),
    readBrokerSide(options, orderId),
  ]);
  return { ours, broker };
}

async function readBrokerSide(options: OpsConsoleOptions, clientOrderId: string): Promise<BrokerSide> {
  if (!options.broker) return { order: null, executions: [], unavailable: 'no broker client in this process' };
  try {
    const order = await options.broker.getOrderByClientOrderId(clientOrderId);
    if (!order) return { order: null, executions: [], unavailable: null };
    const reports = await options.broker.getOrderReports(order.brokerOrderId);
    return {
      order,
      executions: reports.filter((report) => report.execType === 'trade'),
      unavailable: null,
    };
  } catch (error) {
    return {
      order: null,
      executions: [],
      unavailable: error instanceof Error ? error.message : 'the broker did not answer',
    };
  }
}
