import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The reconciler; this is its one public module. */
export const reconcilerMigrations: ComponentMigrations = {
  component: 'reconciler',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};

export {
  createReconciler,
  type Reconciler,
  type ReconcilerDependencies,
  type NamedStatementSource,
  type ReconcileProgress,
  type ReconcilePhase,
} from './runs/reconciler.ts';
export { brokerStatements, type StatementSource } from './runs/broker-statements.ts';
export { reconciliationRoutes, type ReconciliationRoutesOptions } from './runs/reconciliations.routes.ts';
export {
  RunSchema,
  BreakSchema,
  type Run,
  type Break,
  type BreakDetail,
  type RunSummary,
} from './runs/reconciliation.schemas.ts';
export { RECONCILER_ERRORS } from './runs/reconciliation.errors.ts';
export { BREAK_KINDS, compareBalances, type BreakKind, type RunStatus } from './runs/reconciliation.rules.ts';
export { renderRunReport, type TimelinePoint } from './report/run-report.ts';
export { runAsCsv, runAsTable } from './report/run-formats.ts';
