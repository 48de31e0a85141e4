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

export async function findFills(q: Queryable, execIds: readonly string[]): Promise<Map<string, StoredFill>> {
  const { rows } = await q.query<{ exec_id: string; notional: string; commission: string; hold_released: string }>(
    sql.selectFills,
    [execIds],
  );
  return new Map(
    rows.map((row) => [
      row.exec_id,
      {
        execId: row.exec_id,
        notional: dec(row.notional),
        commission: dec(row.commission),
        holdReleased: dec(row.hold_released),
      },
    ]),
  );
}

export async function findBalances(
  q: Queryable,
  accountIds: readonly string[],
): Promise<(Balance & { version: string })[]> {
  const { rows } = await q.query<BalanceRow>(sql.selectBalances, [accountIds]);
  return rows.map(balanceFromRow);
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

/**
 * One operation's (or one batch's) view of the accounts it touches: it takes their row locks in
 * id order, loads their balances, lets the pure core change them in memory, and writes everything
 * back in one statement per table. Nothing is written before `flush`, so a refusal half-way
 * through a batch leaves the database as it was.
 */
export class Books {
  private readonly balances = new Map<string, { balance: Balance; version: string | null; dirty: boolean }>();
  private readonly holds = new Map<string, { hold: HoldState; isNew: boolean; dirty: boolean }>();
  private readonly entries: {
    id: string;
    kind: EntryKind;
    accountId: string;
    reference: string;
    postings: Posting[];
  }[] = [];
  private readonly fills: NewFill[] = [];

  private readonly tx: Queryable;

  private constructor(tx: Queryable) {
    this.tx = tx;
  }

  /** Locks the customer accounts (in id order) and loads their balances; an unknown or non-customer id is refused. */
  static async open(tx: Queryable, accountIds: readonly string[]): Promise<Books> {
    const ids = [...new Set(accountIds)].sort();
    const { rows } = await tx.query<{ id: string; kind: string }>(sql.lockAccounts, [ids]);
    const customers = new Set(rows.filter((row) => row.kind === 'customer').map((row) => row.id));
    const unknown = ids.filter((id) => !customers.has(id));
    if (unknown.length > 0)
      throw new LedgerError('UNKNOWN_ACCOUNT', `unknown account ${unknown.join(', ')}`, { accountIds: unknown });
    const books = new Books(tx);
    for (const { version, ...balance } of await findBalances(tx, ids)) {
      books.balances.set(key(balance.accountId, balance.asset), { balance, version, dirty: false });
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

  /** Loads holds after the account locks are held, so what we read is what we may change. */
  async loadHolds(holdIds: readonly string[]): Promise<void> {
    const missing = holdIds.filter((id) => !this.holds.has(id));
    if (missing.length === 0) return;
    for (const [id, hold] of await findHolds(this.tx, missing))
      this.holds.set(id, { hold, isNew: false, dirty: false });
  }

  hold(holdId: string): HoldState | undefined {
    return this.holds.get(holdId)?.hold;
  }

  putHold(hold: HoldState, isNew = false): void {
    const existing = this.holds.get(hold.id);
    this.holds.set(hold.id, { hold, isNew: existing?.isNew ?? isNew, dirty: true });
  }

  setCostBasis(accountId: string, asset: string, costBasis: Decimal): void {
    this.balanceOf(accountId, asset).costBasis = costBasis;
    this.balances.get(key(accountId, asset))!.dirty = true;
  }

  /** Records one journal entry and applies its postings to the customer balances in memory. */
  record(kind: EntryKind, accountId: string, reference: string, postings: Posting[]): string {
    const id = randomUUID();
    applyPostings(this.balanceOf, postings);
    for (const posting of postings) {
      const slot = this.balances.get(key(posting.accountId, posting.asset));
      if (slot) slot.dirty = true;
    }
    this.entries.push({ id, kind, accountId, reference, postings });
    return id;
  }

  addFill(fill: NewFill): void {
    this.fills.push(fill);
  }

  async flush(): Promise<void> {
    const tx = this.tx;
    if (this.entries.length > 0) {
      await tx.query(sql.insertEntries, [
        this.entries.map((e) => e.id),
        this.entries.map((e) => e.kind),
        this.entries.map((e) => e.accountId),
        this.entries.map((e) => e.reference),
      ]);
      const postings = this.entries.flatMap((e) => e.postings.map((p) => ({ entryId: e.id, ...p })));
      if (postings.length > 0) {
        await tx.query(sql.insertPostings, [
          postings.map((p) => p.entryId),
          postings.map((p) => p.accountId),
          postings.map((p) => p.asset),
          postings.map((p) => p.bucket),
          postings.map((p) => fixed(p.amount)),
        ]);
      }
    }
    const dirty = [...this.balances.values()].filter((slot) => slot.dirty);
    const updates = dirty.filter((slot) => slot.version !== null);
    const inserts = dirty.filter((slot) => slot.version === null);
    if (updates.length > 0) {
      const { rowCount } = await tx.query(sql.updateBalances, [
        updates.map((s) => s.balance.accountId),
        updates.map((s) => s.balance.asset),
        updates.map((s) => fixed(s.balance.available)),
        updates.map((s) => fixed(s.balance.held)),
        updates.map((s) => fixed(s.balance.costBasis)),
        updates.map((s) => s.version),
      ]);
      if (rowCount !== updates.length)
        throw new LedgerConflictError('a balance row changed since it was read (version mismatch)');
    }
    if (inserts.length > 0) {
      const { rowCount } = await tx.query(sql.insertBalances, [
        inserts.map((s) => s.balance.accountId),
        inserts.map((s) => s.balance.asset),
        inserts.map((s) => fixed(s.balance.available)),
        inserts.map((s) => fixed(s.balance.held)),
        inserts.map((s) => fixed(s.balance.costBasis)),
      ]);
      if (rowCount !== inserts.length)
        throw new LedgerConflictError('a balance row appeared since the account was read');
    }
    const newHolds = [...this.holds.values()].filter((slot) => slot.isNew).map((slot) => slot.hold);
    const changedHolds = [...this.holds.values()].filter((slot) => slot.dirty && !slot.isNew).map((slot) => slot.hold);
    if (newHolds.length > 0) {
      await tx.query(sql.insertHolds, [
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
      ]);
    }
    if (changedHolds.length > 0) {
      await tx.query(sql.updateHolds, [
        changedHolds.map((h) => h.id),
        changedHolds.map((h) => fixed(h.amount)),
        changedHolds.map((h) => fixed(h.progress.filledQuantity)),
        changedHolds.map((h) => fixed(h.progress.gross)),
        changedHolds.map((h) => fixed(h.progress.notional)),
        changedHolds.map((h) => fixed(h.progress.commission)),
      ]);
    }
    if (this.fills.length > 0) {
      await tx.query(sql.insertFills, [
        this.fills.map((f) => f.execId),
        this.fills.map((f) => f.holdId),
        this.fills.map((f) => f.entryId),
        this.fills.map((f) => fixed(f.quantity)),
        this.fills.map((f) => fixed(f.price)),
        this.fills.map((f) => fixed(f.notional)),
        this.fills.map((f) => fixed(f.commission)),
        this.fills.map((f) => fixed(f.holdReleased)),
        this.fills.map((f) => f.at.toISOString()),
      ]);
    }
  }
}

function key(accountId: string, asset: string): string {
  return `${accountId}\u0000${asset}`;
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
