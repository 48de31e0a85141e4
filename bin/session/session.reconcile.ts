import type { Ledger } from '../../ledger/index.ts';
import type { Bus, Logger, Pool } from '../../platform/index.ts';
import { createReconciler, type Break, type NamedStatementSource, type Run } from '../../reconciler/index.ts';

export type SessionBreak = Break;
export type ReconciliationRun = Run;

/** The one step of the session that the reconciler performs. */
export type Reconcile = (date: string, repair: boolean) => Promise<ReconciliationRun>;

export interface ReconcilerDeps {
  pool: Pool;
  /** Every simulated broker, by name, with the statements it serves. */
  brokers: readonly NamedStatementSource[];
  ledger: Ledger;
  bus: Bus;
  logger: Logger;
}

/** The session meets the reconciler here: the real one (reconciler/index.ts), repairing through the bus. */
export function connectReconciler(deps: ReconcilerDeps): Reconcile {
  const reconciler = createReconciler({
    pool: deps.pool,
    brokers: deps.brokers,
    ledger: deps.ledger,
    bus: deps.bus,
    logger: deps.logger,
  });
  return (date, repair) => reconciler.run(date, { repair });
}
