import { randomUUID } from 'node:crypto';
import { ZERO, dec, type Decimal, type Queryable } from '../platform/index.ts';
import { LedgerConflictError, LedgerError } from './ledger.errors.ts';
import {
  applyPostings,
  type Balance,
  type EntryKind,
  type HoldState,
  type Posting,
  type Side,
} from './ledger.postings.ts';
import * as sql from './ledger.sql.ts';
import type { JournalEntry } from './ledger.types.ts';

interface BalanceRow {
  account_id: string;
  asset: string;
  available: string;
  held: string;
  cost_basis: string;
  version: string;
}

interface HoldRow {
  id: string;
  account_id: string;
  side: Side;
  symbol: string;
  asset: string;
  order_quantity: string;
  worst_price: string;
  original_amount: string;
  amount: string;
  filled_quantity: string;
  gross: string;
  notional: string;
  commission: string;
}

export interface StoredFill {
  execId: string;
  notional: Decimal;
  commission: Decimal;
  holdReleased: Decimal;
}

interface NewFill extends StoredFill {
  holdId: string;
  entryId: string;
  quantity: Decimal;
  price: Decimal;
  at: Date;
}

const fixed = (value: Decimal) => value.toFixed();

export async function insertAccount(q: Queryable, accountId: string): Promise<void> {
  await q.query(sql.insertAccount, [accountId]);
}

export async function accountKind(q: Queryable, accountId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ kind: string }>(sql.selectAccount, [accountId]);
  return rows[0]?.kind;
}

export async function findHolds(q: Queryable, holdIds: readonly string[]): Promise<Map<string, HoldState>> {
  const { rows } = await q.query<HoldRow>(sql.selectHolds, [holdIds]);
  return new Map(rows.map((row) => [row.id, holdFromRow(row)]));
}

export async function findBalances(
  q: Queryable,
  accountIds: readonly string[],
): Promise<(Balance & { version: string })[]> {
  const { rows } = await q.query<BalanceRow>(sql.selectBalances, [accountIds]);
  return rows.map(balanceFromRow);
}

export async function findAccountsWithBalances(
  q: Queryable,
  accountIds: readonly string[],
): Promise<Map<string, { kind: string; balances: Balance[] }>> {
  const { rows } = await q.query<{ id: string; kind: string; balances: BalanceRow[] }>(
    named('ledger_accounts_with_balances', sql.selectAccountsWithBalances, [accountIds]),
  );
  return new Map(rows.map((row) => [row.id, { kind: row.kind, balances: row.balances.map((b) => balanceFromRow(b)) }]));
}

export async function moneyReferenceExists(
  q: Queryable,
  accountId: string,
  kind: EntryKind,
  reference: string,
): Promise<boolean> {
  const { rowCount } = await q.query(sql.selectMoneyReference, [accountId, kind, reference]);
  return (rowCount ?? 0) > 0;
}

/** What an operation names before it takes its locks. */
export interface BooksScope {
  accountIds?: readonly string[];
  /** Holds whose accounts are locked too, and which are loaded. */
  holdIds?: readonly string[];
  /** Executions already settled among these are loaded, for idempotency. */
  execIds?: readonly string[];
}

/**
 * One operation's (or one batch's) view of the accounts it touches: it takes their row locks in
 * id order, then loads their balances, the holds and earlier fills in one round trip, lets the
 * pure core change them in memory, and writes everything back in one statement. Nothing is
 * written before `flush`, so a refusal half-way through a batch leaves the database as it was.
 */
export class Books {
  private readonly tx: Queryable;
  private readonly balances = new Map<string, { balance: Balance; version: string | null; dirty: boolean }>();
  private readonly holds = new Map<string, { hold: HoldState; isNew: boolean; dirty: boolean }>();
  private readonly settled = new Map<string, StoredFill>();
  private readonly entries: {
    id: string;
    kind: EntryKind;
    accountId: string;
    reference: string;
    postings: Posting[];
  }[] = [];
  private readonly fills: NewFill[] = [];

  private constructor(tx: Queryable) {
    this.tx = tx;
  }

  /** Locks the accounts (in id order) and loads what the operation reads; an unknown or non-customer account is refused. */
  static async open(tx: Queryable, scope: BooksScope): Promise<Books> {
    const accountIds = [...new Set(scope.accountIds ?? [])];
    const holdIds = [...new Set(scope.holdIds ?? [])];
    const { rows: locked } = await tx.query<{ id: string; kind: string }>(
      named('ledger_lock_accounts', sql.lockAccounts, [accountIds, holdIds]),
    );
    const customers = new Set(locked.filter((row) => row.kind === 'customer').map((row) => row.id));
    const unknown = accountIds.filter((id) => !customers.has(id));
    if (unknown.length > 0) {
      throw new LedgerError('UNKNOWN_ACCOUNT', `unknown account ${unknown.join(', ')}`, { accountIds: unknown });
    }
    const { rows } = await tx.query<{ balances: RawBalance[]; holds: HoldRow[]; fills: RawFill[] }>(
      named('ledger_load_books', sql.loadBooks, [[...customers], holdIds, [...new Set(scope.execIds ?? [])]]),
    );
    const { balances, holds, fills } = rows[0]!;
    const books = new Books(tx);
    for (const row of holds) {
      // A hold created after our lock statement belongs to an account we have not locked: start again.
      if (!customers.has(row.account_id))
        throw new LedgerConflictError('a hold appeared while its account was being locked');
      books.holds.set(row.id, { hold: holdFromRow(row), isNew: false, dirty: false });
    }
    for (const row of balances) {
      const { version, ...balance } = balanceFromRow(row);
      books.balances.set(key(balance.accountId, balance.asset), { balance, version, dirty: false });
    }
    for (const row of fills) {
      books.settled.set(row.exec_id, {
        execId: row.exec_id,
        notional: dec(row.notional),
        commission: dec(row.commission),
        holdReleased: dec(row.hold_released),
      });
    }
    return books;
  }

  balanceOf = (accountId: string, asset: string): Balance => {
    const k = key(accountId, asset);
    let slot = this.balances.get(k);
    if (!slot) {
      slot = {
        balance: { accountId, asset, available: ZERO, held: ZERO, costBasis: ZERO },
        version: null,
        dirty: false,
      };
      this.balances.set(k, slot);
    }
    return slot.balance;
  };

  /** Every balance of the account these books hold, as they are in memory now. */
  balancesOfAccount(accountId: string): Balance[] {
    return [...this.balances.values()]
      .map((slot) => slot.balance)
      .filter((balance) => balance.accountId === accountId)
      .map((balance) => ({ ...balance }));
  }

  hold(holdId: string): HoldState | undefined {
    return this.holds.get(holdId)?.hold;
  }

  putHold(hold: HoldState, isNew = false): void {
    const existing = this.holds.get(hold.id);
    this.holds.set(hold.id, { hold, isNew: existing?.isNew ?? isNew, dirty: true });
  }

  /** The first settlement of an execution, earlier or in this batch. */
  settledFill(execId: string): StoredFill | undefined {
    return this.settled.get(execId);
  }

  setCostBasis(accountId: string, asset: string, costBasis: Decimal): void {
    this.balanceOf(accountId, asset).costBasis = costBasis;
    this.balances.get(key(accountId, asset))!.dirty = true;
  }

  /** Records one journal entry and applies its postings to the customer balances in memory. */
  record(
    kind: EntryKind,
    accountId: string,
    reference: string,
    postings: Posting[],
    options: { allowNegative?: boolean } = {},
  ): string {
    const id = randomUUID();
    applyPostings(this.balanceOf, postings, options);
    for (const posting of postings) {
      const slot = this.balances.get(key(posting.accountId, posting.asset));
      if (slot) slot.dirty = true;
    }
    this.entries.push({ id, kind, accountId, reference, postings });
    return id;
  }

  addFill(fill: NewFill): void {
    this.fills.push(fill);
    this.settled.set(fill.execId, fill);
  }

  async flush(): Promise<void> {
    const slots = [...this.balances.values()].filter((slot) => slot.dirty);
    const updates = slots.filter((slot) => slot.version !== null);
    const inserts = slots.filter((slot) => slot.version === null);
    const holds = [...this.holds.values()].filter((slot) => slot.dirty);
    const newHolds = holds.filter((slot) => slot.isNew).map((slot) => slot.hold);
    const changedHolds = holds.filter((slot) => !slot.isNew).map((slot) => slot.hold);
    const postings = this.entries.flatMap((e) => e.postings.map((p) => ({ entryId: e.id, ...p })));
    const fills = this.fills;
    const { rows } = await this.tx.query<{ updated: number; inserted: number }>(
      named(
        'ledger_write_books',
        sql.writeBooks,
        [
          this.entries.map((e) => e.id),
          this.entries.map((e) => e.kind),
          this.entries.map((e) => e.accountId),
          this.entries.map((e) => e.reference),
          postings.map((p) => p.entryId),
          postings.map((p) => p.accountId),
          postings.map((p) => p.asset),
          postings.map((p) => p.bucket),
          postings.map((p) => fixed(p.amount)),
          updates.map((s) => s.balance.accountId),
          updates.map((s) => s.balance.asset),
          updates.map((s) => fixed(s.balance.available)),
          updates.map((s) => fixed(s.balance.held)),
          updates.map((s) => fixed(s.balance.costBasis)),
          updates.map((s) => s.version),
          inserts.map((s) => s.balance.accountId),
          inserts.map((s) => s.balance.asset),
          inserts.map((s) => fixed(s.balance.available)),
          inserts.map((s) => fixed(s.balance.held)),
          inserts.map((s) => fixed(s.balance.costBasis)),
          newHolds.map((h) => h.id),
          newHolds.map((h) => h.accountId),
          newHolds.map((h) => h.side),
          newHolds.map((h) => h.symbol),
          newHolds.map((h) => h.asset),
          newHolds.map((h) => fixed(h.orderQuantity)),
          newHolds.map((h) => fixed(h.worstPrice)),
          newHolds.map((h) => fixed(h.originalAmount)),
          newHolds.map((h) => fixed(h.amount)),
          newHolds.map((h) => fixed(h.progress.filledQuantity)),
          newHolds.map((h) => fixed(h.progress.gross)),
          newHolds.map((h) => fixed(h.progress.notional)),
          newHolds.map((h) => fixed(h.progress.commission)),
          changedHolds.map((h) => h.id),
          changedHolds.map((h) => fixed(h.amount)),
          changedHolds.map((h) => fixed(h.progress.filledQuantity)),
          changedHolds.map((h) => fixed(h.progress.gross)),
          changedHolds.map((h) => fixed(h.progress.notional)),
          changedHolds.map((h) => fixed(h.progress.commission)),
          fills.map((f) => f.execId),
          fills.map((f) => f.holdId),
          fills.map((f) => f.entryId),
          fills.map((f) => fixed(f.quantity)),
          fills.map((f) => fixed(f.price)),
          fills.map((f) => fixed(f.notional)),
          fills.map((f) => fixed(f.commission)),
          fills.map((f) => fixed(f.holdReleased)),
          fills.map((f) => f.at.toISOString()),
        ].map(arrayLiteral),
      ),
    );
    const { updated, inserted } = rows[0]!;
    // Under the account lock neither can differ; if one does, a writer bypassed the lock. The
    // statement's other writes are rolled back with the transaction that this error aborts.
    if (updated !== updates.length || inserted !== inserts.length) {
      throw new LedgerConflictError('a balance row changed since it was read (version mismatch)');
    }
  }
}

/**
 * A named statement: each connection parses and plans it once, not on every call. The hot path
 * runs these on every operation, and the write is a large statement.
 */
function named(name: string, text: string, values: unknown[]) {
  return { name, text, values };
}

/**
 * A text array parameter as PostgreSQL's array literal, made by JSON.stringify. pg escapes an array
 * element by element, which measured as about half of this process's time for a batch of a thousand
 * fills (some 40 array elements a fill). For strings free of control characters JSON quotes and escapes
 * exactly as an array literal does (`"` and `\` behind a backslash); any other escape in the JSON
 * (control characters, lone surrogates, never in validated identifiers) leaves the array to pg.
 */
export function arrayLiteral(values: readonly (string | null)[]): string | readonly (string | null)[] {
  const json = JSON.stringify(values);
  return OTHER_ESCAPE.test(json) ? values : `{${json.slice(1, -1)}}`;
}
// An odd run of backslashes ends in an escape; only \" is one an array literal reads the same way.
const OTHER_ESCAPE = /(?<!\\)(?:\\\\)*\\[^"\\]/;

function key(accountId: string, asset: string): string {
  return `${accountId}\u0000${asset}`;
}

type RawBalance = BalanceRow;
interface RawFill {
  exec_id: string;
  notional: string;
  commission: string;
  hold_released: string;
}

function balanceFromRow(row: BalanceRow): Balance & { version: string } {
  return {
    accountId: row.account_id,
    asset: row.asset,
    available: dec(row.available),
    held: dec(row.held),
    costBasis: dec(row.cost_basis),
    version: row.version,
  };
}

function holdFromRow(row: HoldRow): HoldState {
  return {
    id: row.id,
    accountId: row.account_id,
    side: row.side,
    symbol: row.symbol,
    asset: row.asset,
    orderQuantity: dec(row.order_quantity),
    worstPrice: dec(row.worst_price),
    originalAmount: dec(row.original_amount),
    amount: dec(row.amount),
    progress: {
      filledQuantity: dec(row.filled_quantity),
      gross: dec(row.gross),
      notional: dec(row.notional),
      commission: dec(row.commission),
    },
  };
}

export async function customerTotals(q: Queryable) {
  const { rows } = await q.query<{ asset: string; total: string; available: string; held: string }>(
    sql.selectCustomerTotals,
  );
  return rows.map((row) => ({
    asset: row.asset,
    total: dec(row.total),
    available: dec(row.available),
    held: dec(row.held),
  }));
}

export async function counterBalances(q: Queryable) {
  const { rows } = await q.query<{ kind: string; asset: string; amount: string }>(sql.selectCounterBalances);
  return rows.map((row) => ({ kind: row.kind, asset: row.asset, amount: dec(row.amount) }));
}

export async function journalOf(q: Queryable, holdId: string, execIds: readonly string[]): Promise<JournalEntry[]> {
  const { rows } = await q.query<{
    id: string;
    kind: JournalEntry['kind'];
    reference: string;
    created_at: Date;
    account_id: string;
    asset: string;
    bucket: 'available' | 'held';
    amount: string;
  }>(sql.selectJournalOf, [holdId, execIds]);
  const entries = new Map<string, JournalEntry>();
  for (const row of rows) {
    let entry = entries.get(row.id);
    if (!entry) {
      entry = { id: row.id, kind: row.kind, reference: row.reference, at: row.created_at, postings: [] };
      entries.set(row.id, entry);
    }
    entry.postings.push({ accountId: row.account_id, asset: row.asset, bucket: row.bucket, amount: dec(row.amount) });
  }
  return [...entries.values()];
}

export interface FillToReverse {
  exec_id: string;
  hold_id: string;
  quantity: string;
  price: string;
  /** The reversal that already took it back, if one did. */
  reversed_by: string | null;
}

/** The fill a bust or correct names, and whether it was taken back already. */
export async function findFillToReverse(q: Queryable, execId: string): Promise<FillToReverse | undefined> {
  const { rows } = await q.query<FillToReverse>(sql.selectFillToReverse, [execId]);
  return rows[0];
}

export async function findReversal(
  q: Queryable,
  execId: string,
): Promise<{ reversed_exec_id: string; notional: string; commission: string } | undefined> {
  const { rows } = await q.query<{ reversed_exec_id: string; notional: string; commission: string }>(
    sql.selectReversal,
    [execId],
  );
  return rows[0];
}

/** Records a reversal written by `Books.flush` (its entry) and flags the balances it left negative. */
export async function insertReversal(
  q: Queryable,
  reversal: {
    execId: string;
    reversedExecId: string;
    holdId: string;
    entryId: string;
    quantity: Decimal;
    gross: Decimal;
    notional: Decimal;
    commission: Decimal;
    negative: readonly { accountId: string; asset: string; available: Decimal }[];
  },
): Promise<void> {
  await q.query(sql.insertReversal, [
    reversal.execId,
    reversal.reversedExecId,
    reversal.holdId,
    reversal.entryId,
    fixed(reversal.quantity),
    fixed(reversal.gross),
    fixed(reversal.notional),
    fixed(reversal.commission),
    reversal.negative.map((n) => n.accountId),
    reversal.negative.map((n) => n.asset),
    reversal.negative.map((n) => fixed(n.available)),
  ]);
}
