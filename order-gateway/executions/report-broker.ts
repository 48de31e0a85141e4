import type { ExecutionReport } from '../../broker-adapter/index.ts';
import type { Queryable } from '../../platform/index.ts';
import { INSERT_REPORT_ANOMALY } from './execution.sql.ts';

/** The anomaly (and alarm) of a report that came from a broker other than its order's. */
export const REPORT_FROM_OTHER_BROKER = 'REPORT_FROM_OTHER_BROKER';

const BROKERS_OF_ORDERS = `SELECT id::text AS id, broker_id FROM orders WHERE id::text = ANY($1::text[]) AND broker_id IS NOT NULL`;

/**
 * An order lives at one broker: a report for it marked as another broker's is never applied, since
 * applying it would book a trade the order's broker never made. It is recorded for ops and refused;
 * the rest go on. Reports without a mark (older producers) and orders not yet bound are let through:
 * the order's own state machine still judges them.
 */
export async function refuseOtherBrokersReports(
  tx: Queryable,
  reports: readonly ExecutionReport[],
): Promise<Set<ExecutionReport>> {
  const marked = reports.filter((report) => report.broker !== undefined);
  if (marked.length === 0) return new Set();
  const { rows } = await tx.query<{ id: string; broker_id: string }>(BROKERS_OF_ORDERS, [
    [...new Set(marked.map((report) => report.clientOrderId))],
  ]);
  const brokerOf = new Map(rows.map((row) => [row.id, row.broker_id]));
  const refused = new Set<ExecutionReport>();
  for (const report of marked) {
    const bound = brokerOf.get(report.clientOrderId);
    if (bound === undefined || bound === report.broker) continue;
    refused.add(report);
    await tx.query(INSERT_REPORT_ANOMALY, [
      REPORT_FROM_OTHER_BROKER,
      `a report from broker ${report.broker} for an order at broker ${bound}; not applied`,
      JSON.stringify(report),
    ]);
  }
  return refused;
}
