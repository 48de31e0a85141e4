import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The ledger owns its tables; this is its one public module. */
export const ledgerMigrations: ComponentMigrations = {
  component: 'ledger',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};

export { createLedger } from './ledger.ts';
export { checkLedgerInvariants } from './ledger.invariants.ts';
export { buyHoldAmount, commissionOn, OMNIBUS, COMMISSION_REVENUE, EXTERNAL } from './ledger.rules.ts';
export {
  LEDGER_ERRORS,
  LedgerError,
  LedgerConflictError,
  isLedgerError,
  type LedgerErrorCode,
} from './ledger.errors.ts';
export type {
  AccountBalances,
  AssetTotals,
  CashBalance,
  FillSettlement,
  FillReversal,
  FillToSettle,
  Hold,
  InvariantViolation,
  JournalEntry,
  Ledger,
  LedgerTotals,
  PositionBalance,
} from './ledger.types.ts';
