import { dec, formatCash, formatQuantity, type Decimal } from '../../platform/decimal.ts';

/** The break kinds of docs/api.md, EXECUTION_ANOMALY among them: a fill outside its order's terms, kept aside. */
export const BREAK_KINDS = [
  'MISSING_EXECUTION',
  'UNKNOWN_EXECUTION',
  'EXECUTION_MISMATCH',
  'ORDER_STATUS_MISMATCH',
  'POSITION_MISMATCH',
  'CASH_MISMATCH',
  'EXECUTION_ANOMALY',
] as const;
export type BreakKind = (typeof BREAK_KINDS)[number];

export type RunStatus = 'clean' | 'breaks' | 'repaired';

/** A break of the balances (positions, cash); the execution and order breaks are found in SQL. */
export interface BalanceBreak {
  kind: 'POSITION_MISMATCH' | 'CASH_MISMATCH';
  symbol: string | null;
  /** The broker's figure. */
  expected: string;
  /** Ours, from the ledger. */
  actual: string;
}

/**
 * The identities between the broker's omnibus account and our ledger, written once here:
 *
 * - positions: for each symbol, the broker's net position of the omnibus account equals the sum of our
 *   customers' shares (available + held) in the ledger. (The ledger's omnibus counter-account holds
 *   minus that, by construction; checkLedgerInvariants keeps the two sides of each entry equal.)
 * - cash: the broker's cash is the net trade cash flow, sells minus buys, no commission. The ledger
 *   posts every buy fill's notional as omnibus USD +n and every sell fill's as −n (commission goes to
 *   the commission account, not the omnibus), so the ledger's omnibus USD is buys minus sells:
 *   brokerCash + ledgerOmnibusCash = 0. Both round each order's cumulative notional to the cent
 *   half-up, so the identity holds to the cent, not approximately.
 */
export function compareBalances(input: {
  brokerPositions: readonly { symbol: string; quantity: string }[];
  customerShares: Readonly<Record<string, Decimal>>;
  brokerCash: string;
  ledgerOmnibusCash: Decimal;
}): { breaks: BalanceBreak[]; positionsChecked: number } {
  const broker = new Map(input.brokerPositions.map((p) => [p.symbol, dec(p.quantity)]));
  const symbols = [...new Set([...broker.keys(), ...Object.keys(input.customerShares)])].sort();
  const breaks: BalanceBreak[] = [];
  for (const symbol of symbols) {
    const theirs = broker.get(symbol) ?? dec('0');
    const ours = input.customerShares[symbol] ?? dec('0');
    if (!theirs.eq(ours)) {
      breaks.push({
        kind: 'POSITION_MISMATCH',
        symbol,
        expected: formatQuantity(theirs),
        actual: formatQuantity(ours),
      });
    }
  }
  const brokerCash = dec(input.brokerCash);
  // The ledger's view of the same flow, in the broker's sign.
  const ourCash = input.ledgerOmnibusCash.negated().plus(0);
  if (!brokerCash.eq(ourCash)) {
    breaks.push({ kind: 'CASH_MISMATCH', symbol: null, expected: formatCash(brokerCash), actual: formatCash(ourCash) });
  }
  return { breaks, positionsChecked: symbols.length };
}

/** One broker's balance statements of a date: its omnibus positions and its net trade cash. */
export interface BrokerBalances {
  broker: string;
  positions: readonly { symbol: string; quantity: string }[];
  cash: string;
}

/**
 * Every broker's positions and cash as one omnibus account. Our books are one per account, a broker's
 * per account at that broker: an account that bought at one broker and sold at another holds the
 * difference, which only the sum shows (each broker alone would break, falsely).
 */
export function sumAcrossBrokers(brokers: readonly BrokerBalances[]): {
  positions: { symbol: string; quantity: string }[];
  cash: string;
} {
  const positions = new Map<string, Decimal>();
  let cash = dec('0');
  for (const broker of brokers) {
    for (const p of broker.positions) positions.set(p.symbol, (positions.get(p.symbol) ?? dec('0')).plus(p.quantity));
    cash = cash.plus(broker.cash);
  }
  return {
    positions: [...positions].map(([symbol, quantity]) => ({ symbol, quantity: formatQuantity(quantity) })),
    cash: formatCash(cash),
  };
}

/**
 * A balance break's broker side with each broker's share, when there are several: `10 (primary 4,
 * secondary 6)`, so an operator sees where the difference may sit.
 */
export function withBrokerShares(breaks: readonly BalanceBreak[], brokers: readonly BrokerBalances[]): BalanceBreak[] {
  if (brokers.length < 2) return [...breaks];
  return breaks.map((b) => {
    const shares = brokers.map((broker) =>
      b.kind === 'CASH_MISMATCH'
        ? `${broker.broker} ${formatCash(dec(broker.cash))}`
        : `${broker.broker} ${formatQuantity(dec(broker.positions.find((p) => p.symbol === b.symbol)?.quantity ?? '0'))}`,
    );
    return { ...b, expected: `${b.expected} (${shares.join(', ')})` };
  });
}

/**
 * The ledger as it stood at the end of a past date: what the fills after it moved, taken back out.
 * Only fills move customers' share totals and the omnibus account (holds move shares between
 * available and held, deposits touch cash only), so this is exact.
 */
export function ledgerAsOf(
  now: { customerShares: Readonly<Record<string, Decimal>>; omnibusCash: Decimal },
  later: readonly { symbol: string; shares: string; omnibusCash: string }[],
): { customerShares: Record<string, Decimal>; omnibusCash: Decimal } {
  const customerShares: Record<string, Decimal> = { ...now.customerShares };
  let omnibusCash = now.omnibusCash;
  for (const move of later) {
    customerShares[move.symbol] = (customerShares[move.symbol] ?? dec('0')).minus(move.shares);
    omnibusCash = omnibusCash.minus(move.omnibusCash);
  }
  return { customerShares, omnibusCash };
}

/** What an operator reads on a break that is open: what it means and what to decide. */
export const OPEN_RESOLUTIONS: Record<BreakKind, string> = {
  MISSING_EXECUTION:
    'open: the broker reported this fill and we have not applied it; run with repair to publish it on the executions topic',
  UNKNOWN_EXECUTION:
    'open: we applied a fill the broker does not report; confirm with the broker, then correct the order and the ledger by hand',
  EXECUTION_MISMATCH:
    "open: quantity, price, side or order differ from the broker's statement; the broker is authoritative: correct by hand",
  ORDER_STATUS_MISMATCH:
    "open: our order's status or filled quantity differs from the broker's; repairing a missing execution of this order clears it, otherwise correct by hand",
  POSITION_MISMATCH:
    "open: the customers' shares differ from the broker's omnibus position; follows from the execution breaks of this symbol, if there are none investigate the ledger",
  CASH_MISMATCH:
    "open: the ledger's omnibus trade cash differs from the broker's; follows from the execution breaks, if there are none investigate the ledger",
  EXECUTION_ANOMALY:
    "open: a fill reported outside its order's terms (price beyond the limit or the market order's collar, or another account, symbol or side) was not applied; the order and the ledger are unchanged. Confirm with the broker, correct by hand if it stands, then resolve this break",
};

/** What a repair attempt that did not land leaves on a break. */
export function unrepairedResolution(kind: BreakKind, waitedMs: number): string {
  if (kind === 'MISSING_EXECUTION') {
    return `open: published on the executions topic but not applied within ${waitedMs} ms; look for the execId among the order gateway's parked reports and anomalies (unknown order, refused fill)`;
  }
  return OPEN_RESOLUTIONS[kind];
}

/** What a break the recheck no longer finds says. */
export const REPAIRED_RESOLUTIONS: Record<BreakKind, string> = {
  MISSING_EXECUTION: 'repaired: published on the executions topic and applied by the execution consumer',
  UNKNOWN_EXECUTION: 'repaired: no longer found after the repair',
  EXECUTION_MISMATCH: 'repaired: no longer found after the repair',
  ORDER_STATUS_MISMATCH: 'repaired: the order matches the broker after its missing executions were applied',
  POSITION_MISMATCH: 'repaired: the position matches the broker after the missing executions were applied',
  CASH_MISMATCH: 'repaired: the cash matches the broker after the missing executions were applied',
  EXECUTION_ANOMALY: 'closed: no longer found after the repair',
};

/** What a break says once an operator has decided it. */
export function operatorResolution(operator: string, note: string): string {
  return `resolved by ${operator}: ${note}`;
}

/** clean: nothing found; repaired: found, all fixed; breaks: something is still open. */
export function runStatus(found: number, open: number): RunStatus {
  if (open > 0) return 'breaks';
  return found > 0 ? 'repaired' : 'clean';
}
