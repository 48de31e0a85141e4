import type { LedgerError } from './ledger.errors.ts';
import type { Decimal, Queryable } from '../platform/index.ts';

export interface CashBalance {
  currency: 'USD';
  total: Decimal;
  available: Decimal;
  held: Decimal;
}

export interface PositionBalance {
  symbol: string;
  quantity: Decimal;
  available: Decimal;
  held: Decimal;
  /** Notional paid per share still owned (commission excluded), half-up to 4 decimals. */
  averageCost: Decimal;
}

/** docs/api.md's GET /v1/account, as decimals. */
export interface AccountBalances {
  accountId: string;
  cash: CashBalance;
  positions: PositionBalance[];
}

export interface HoldToPlace {
  holdId: string;
  accountId: string;
  side: 'buy' | 'sell';
  symbol: string;
  quantity: Decimal;
  worstPrice: Decimal;
  /** Hold what is available when that is less than the order needs, instead of refusing. */
  clampToAvailable?: boolean;
}

export type PlacedHold = { hold: Hold; balances: AccountBalances } | { refused: LedgerError };

export interface Hold {
  holdId: string;
  accountId: string;
  side: 'buy' | 'sell';
  symbol: string;
  /** USD for a buy, the symbol for a sell: what `originalAmount` and `amount` count. */
  asset: string;
  orderQuantity: Decimal;
  worstPrice: Decimal;
  originalAmount: Decimal;
  amount: Decimal;
  filledQuantity: Decimal;
  /** The order's cumulative notional and commission so far, to the cent. */
  notional: Decimal;
  commission: Decimal;
}

export interface FillToSettle {
  holdId: string;
  execId: string;
  quantity: Decimal;
  price: Decimal;
  at: Date;
}

export interface FillSettlement {
  execId: string;
  notional: Decimal;
  commission: Decimal;
  /** What left the hold (in its asset): the fill's cost and what the rest of the order no longer needs. */
  holdReleased: Decimal;
  duplicate: boolean;
}

export interface AssetTotals {
  total: Decimal;
  available: Decimal;
  held: Decimal;
}

/**
 * Customer sums per asset, and each counter-account's balance signed as posted, so that every
 * asset sums to zero over all accounts: customers' cash + omnibus cash + commission revenue +
 * external = 0, and customers' shares + omnibus shares = 0.
 */
export interface LedgerTotals {
  customers: { cash: AssetTotals; shares: Record<string, AssetTotals> };
  omnibus: { cash: Decimal; shares: Record<string, Decimal> };
  commissionRevenue: Decimal;
  external: Decimal;
  /** Money in minus money out through deposits and withdrawals: −external. */
  netDeposits: Decimal;
}

export interface InvariantViolation {
  code:
    | 'ENTRY_UNBALANCED'
    | 'JOURNAL_UNBALANCED'
    | 'BALANCE_MISMATCH'
    | 'TOTAL_MISMATCH'
    | 'NEGATIVE_BALANCE'
    | 'HELD_MISMATCH'
    | 'HOLD_MISMATCH';
  message: string;
  details: Record<string, string | null>;
}

export interface Ledger {
  /** Idempotent. */
  openAccount(tx: Queryable, accountId: string): Promise<void>;
  deposit(tx: Queryable, input: { accountId: string; amount: Decimal; reference: string }): Promise<CashBalance>;
  /** Refused beyond the available cash. */
  withdraw(tx: Queryable, input: { accountId: string; amount: Decimal; reference: string }): Promise<CashBalance>;
  /** Reserves for an order. Buy: cash for worst-case cost + commission; sell: the shares. Idempotent on holdId with the same terms. */
  placeHold(tx: Queryable, input: HoldToPlace): Promise<Hold>;
  /**
   * Several holds with one set of locks and one write, each decided in turn on the balances the ones
   * before it left: a refused hold (its LedgerError) changes nothing and does not stop the others.
   * Each placed hold comes with its account's balances just after it. An unknown account refuses all.
   */
  placeHolds(tx: Queryable, inputs: readonly HoldToPlace[]): Promise<PlacedHold[]>;
  /**
   * While a replace is pending the order holds the larger of its old and new needs: this adds a hold
   * (`holdId`) for what the new terms (`quantity` left at `worstPrice`) need beyond what `baseHoldId`
   * still has. Null when nothing more is needed; refused (INSUFFICIENT_BUYING_POWER or
   * INSUFFICIENT_POSITION) when the account lacks it. Idempotent on holdId.
   */
  reserveForReplace(
    tx: Queryable,
    input: { holdId: string; baseHoldId: string; quantity: Decimal; worstPrice: Decimal },
  ): Promise<Hold | null>;
  /** `amount` in the hold's asset; omitted: the rest. */
  releaseHold(tx: Queryable, input: { holdId: string; amount?: Decimal }): Promise<Hold>;
  /** Idempotent on execId: a second call with the same execId changes nothing and returns the first result. */
  settleFill(tx: Queryable, fill: FillToSettle): Promise<FillSettlement>;
  /**
   * One batch, in order; all or nothing. `thenRelease` names holds whose rest is released after the
   * batch's fills (orders that reached a final state), in the same locks and the same write.
   */
  settleFills(
    tx: Queryable,
    fills: readonly FillToSettle[],
    options?: { thenRelease?: readonly string[] },
  ): Promise<FillSettlement[]>;
  getAccount(q: Queryable, accountId: string): Promise<AccountBalances>;
  /** Several customer accounts' balances in one round trip; an unknown or non-customer account is refused. */
  getAccounts(q: Queryable, accountIds: readonly string[]): Promise<Map<string, AccountBalances>>;
  getHold(q: Queryable, holdId: string): Promise<Hold>;
  /** Sum over customer accounts per asset, and the counter-accounts' balances: for reconciliation. */
  totals(q: Queryable): Promise<LedgerTotals>;
  /** An order's journal (its hold, release and fill entries with their postings), oldest first. */
  journalOf(q: Queryable, input: { holdId: string; execIds: readonly string[] }): Promise<JournalEntry[]>;
}

/** One journal entry as written: its postings sum to zero per asset. */
export interface JournalEntry {
  id: string;
  kind: 'deposit' | 'withdrawal' | 'hold' | 'release' | 'fill';
  reference: string;
  at: Date;
  postings: { accountId: string; asset: string; bucket: 'available' | 'held'; amount: Decimal }[];
}
