import type { Queryable } from '../platform/index.ts';
import * as sql from './ledger.sql.ts';
import type { InvariantViolation } from './ledger.types.ts';

type Row = Record<string, string | null>;

const RULES: { code: InvariantViolation['code']; query: string; message: (row: Row) => string }[] = [
  {
    code: 'ENTRY_UNBALANCED',
    query: sql.unbalancedEntries,
    message: (r) => `entry ${r.entry_id} does not sum to zero in ${r.asset}`,
  },
  {
    code: 'JOURNAL_UNBALANCED',
    query: sql.unbalancedJournal,
    message: (r) => `all postings in ${r.asset} sum to ${r.sum}, not zero`,
  },
  {
    code: 'BALANCE_MISMATCH',
    query: sql.balancesNotPosted,
    message: (r) => `balance row of ${r.account_id} ${r.asset} differs from its postings`,
  },
  {
    code: 'TOTAL_MISMATCH',
    query: sql.badTotals,
    message: (r) => `total of ${r.account_id} ${r.asset} is not available + held`,
  },
  {
    code: 'NEGATIVE_BALANCE',
    query: sql.negativeBalances,
    message: (r) => `balance of ${r.account_id} ${r.asset} is negative`,
  },
  {
    code: 'HELD_MISMATCH',
    query: sql.heldNotInHolds,
    message: (r) => `held of ${r.account_id} ${r.asset} differs from the sum of its holds`,
  },
  {
    code: 'HOLD_MISMATCH',
    query: sql.holdsNotFilled,
    message: (r) => `hold ${r.id} disagrees with its fills or its order quantity`,
  },
];

/**
 * The ledger's invariants, the one check that tests, the session runner and the reconciler all
 * run: every entry sums to zero per asset; balance rows equal the sums of their postings; total =
 * available + held; nothing negative; held equals the sum of the holds; each hold's progress
 * equals the sum of its fills and never passes its order. [] when all hold.
 */
export async function checkLedgerInvariants(q: Queryable): Promise<InvariantViolation[]> {
  const violations: InvariantViolation[] = [];
  for (const rule of RULES) {
    const { rows } = await q.query<Row>(rule.query);
    for (const row of rows) violations.push({ code: rule.code, message: rule.message(row), details: row });
  }
  return violations;
}
