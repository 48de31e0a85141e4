import { listAlarms, opsOverview, type BrokerView, type OpsOverview } from '../../order-gateway/index.ts';
import type { RunSummary } from '../../reconciler/index.ts';
import type { BreakerState, ConsumerLag, OpsConsoleOptions } from '../console.types.ts';

export interface Today {
  lastRun: RunSummary | null;
  openBreaks: { kind: string; count: number }[];
  alarms: Awaited<ReturnType<typeof listAlarms>>['alarms'];
  overview: OpsOverview;
  brokerHealth: BreakerState | null;
  /** Null: not known here. */
  brokers: BrokerView[] | null;
  /** Null: the bus cannot tell (or did not answer). */
  consumerLag: ConsumerLag[] | null;
}

/** Everything the day's page shows, read in parallel from each component's public module. */
export async function readToday(options: OpsConsoleOptions): Promise<Today> {
  const [runs, openBreaks, alarms, overview, consumerLag, brokers] = await Promise.all([
    options.reconciler.listRuns({ limit: 1 }),
    options.reconciler.openBreaksByKind(),
    listAlarms(options.pool, { limit: 10 }),
    opsOverview(options.pool),
    options.consumerLag ? options.consumerLag().catch(() => null) : Promise.resolve(null),
    options.brokers ? options.brokers().catch(() => null) : Promise.resolve(null),
  ]);
  return {
    lastRun: runs.runs[0] ?? null,
    openBreaks,
    alarms: alarms.alarms,
    overview,
    brokerHealth: options.brokerHealth?.() ?? null,
    brokers,
    consumerLag,
  };
}
