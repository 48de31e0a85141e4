import { Decimal, ZERO, type Queryable } from '../platform/index.ts';
import { LedgerError } from './ledger.errors.ts';
import {
  depositPostings,
  holdAsset,
  holdPostings,
  releasePostings,
  settleFillPostings,
  withdrawalPostings,
  type Balance,
  type HoldState,
} from './ledger.postings.ts';
import * as repository from './ledger.repository.ts';
import { Books } from './ledger.repository.ts';
import {
  CASH_ASSET,
  NO_PROGRESS,
  bpsOf,
  checkAccountId,
  checkCash,
  checkDate,
  checkIdentifier,
  checkPrice,
  checkQuantity,
  checkReleaseAmount,
  checkSide,
  checkSymbol,
  costOf,
} from './ledger.rules.ts';
import type {
  AccountBalances,
  AssetTotals,
  CashBalance,
  FillSettlement,
  FillToSettle,
  Hold,
  HoldToPlace,
  Ledger,
  LedgerTotals,
  PlacedHold,
} from './ledger.types.ts';

type CheckedHold = HoldToPlace & { quantity: Decimal; worstPrice: Decimal };

function checkHold(input: HoldToPlace): CheckedHold {
  return {
    holdId: checkIdentifier(input.holdId, 'holdId'),
    accountId: checkIdentifier(input.accountId, 'accountId', 'INVALID_ACCOUNT_ID'),
    side: checkSide(input.side),
    symbol: checkSymbol(input.symbol),
    quantity: checkQuantity(input.quantity),
    worstPrice: checkPrice(input.worstPrice, 'worstPrice'),
    ...(input.clampToAvailable === undefined ? {} : { clampToAvailable: input.clampToAvailable }),
  };
}

/** docs/api.md's account: cash, and every position the account still has (held shares included). */
function accountBalancesOf(accountId: string, balances: readonly Balance[]): AccountBalances {
  const cash = balances.find((b) => b.asset === CASH_ASSET);
  const positions = balances
    .filter((b) => b.asset !== CASH_ASSET && !b.available.plus(b.held).isZero())
    .sort((a, b) => (a.asset < b.asset ? -1 : 1))
    .map((b) => {
      const quantity = b.available.plus(b.held);
      return {
        symbol: b.asset,
        quantity,
        available: b.available,
        held: b.held,
        averageCost: b.costBasis.dividedBy(quantity).toDecimalPlaces(4),
      };
    });
  return { accountId, cash: cashOf(cash?.available ?? ZERO, cash?.held ?? ZERO), positions } satisfies AccountBalances;
}

/**
 * Every operation runs in the caller's transaction, so an order and its hold, or an execution and
 * its ledger effects, commit together. Concurrency: the account rows are locked (FOR UPDATE, in id
 * order) before anything is read, and each balance row's version is checked when it is written.
 */
export function createLedger(options: { commissionBps: number }): Ledger {
  const bps = bpsOf(options.commissionBps);

  async function moveMoney(
    tx: Queryable,
    kind: 'deposit' | 'withdrawal',
    input: { accountId: string; amount: Decimal; reference: string },
  ) {
    const accountId = checkIdentifier(input.accountId, 'accountId', 'INVALID_ACCOUNT_ID');
    const amount = checkCash(input.amount);
    const reference = checkIdentifier(input.reference, 'reference');
    const books = await Books.open(tx, { accountIds: [accountId] });
    if (await repository.moneyReferenceExists(tx, accountId, kind, reference)) {
      throw new LedgerError('DUPLICATE_REFERENCE', `a ${kind} with this reference already exists`, {
        accountId,
        reference,
      });
    }
    const cash = books.balanceOf(accountId, CASH_ASSET);
    const postings = kind === 'deposit' ? depositPostings(accountId, amount) : withdrawalPostings(cash, amount);
    books.record(kind, accountId, reference, postings);
    await books.flush();
    return cashOf(cash.available, cash.held);
  }

  /** A checked hold decided on the books' balances and recorded in them (written at their flush). */
  function holdInBooks(books: Books, input: CheckedHold): Hold {
    const { holdId, accountId, side, symbol, quantity, worstPrice } = input;
    const existing = books.hold(holdId);
    if (existing) {
      const same =
        existing.accountId === accountId &&
        existing.side === side &&
        existing.symbol === symbol &&
        existing.orderQuantity.eq(quantity) &&
        existing.worstPrice.eq(worstPrice);
      if (!same) throw new LedgerError('HOLD_CONFLICT', 'a hold with this id exists with other terms', { holdId });
      return toHold(existing);
    }
    const asset = holdAsset(side, symbol);
    const required = side === 'buy' ? costOf(quantity.times(worstPrice), bps) : quantity;
    const balance = books.balanceOf(accountId, asset);
    // A replacement the broker already made cannot be refused: it holds what there is, and a fill
    // beyond it takes the rest from available (or is refused and alarmed), as after any release.
    const amount = input.clampToAvailable ? Decimal.min(required, balance.available) : required;
    const postings = holdPostings(balance, side, amount);
    const hold: HoldState = {
      id: holdId,
      accountId,
      side,
      symbol,
      asset,
      orderQuantity: quantity,
      worstPrice,
      originalAmount: amount,
      amount,
      progress: NO_PROGRESS,
    };
    books.record('hold', accountId, holdId, postings);
    books.putHold(hold, true);
    return toHold(hold);
  }

  async function getAccounts(q: Queryable, accountIds: readonly string[]): Promise<Map<string, AccountBalances>> {
    const ids = [...new Set(accountIds.map((id) => checkIdentifier(id, 'accountId', 'INVALID_ACCOUNT_ID')))];
    const found = await repository.findAccountsWithBalances(q, ids);
    const result = new Map<string, AccountBalances>();
    for (const id of ids) {
      const account = found.get(id);
      if (account?.kind !== 'customer')
        throw new LedgerError('UNKNOWN_ACCOUNT', `unknown account ${id}`, { accountId: id });
      result.set(id, accountBalancesOf(id, account.balances));
    }
    return result;
  }

  async function settleFills(
    tx: Queryable,
    input: readonly FillToSettle[],
    options: { thenRelease?: readonly string[] } = {},
  ): Promise<FillSettlement[]> {
    const fills = input.map(checkFill);
    const releases = [...new Set((options.thenRelease ?? []).map((id) => checkIdentifier(id, 'holdId')))];
    if (fills.length === 0 && releases.length === 0) return [];
    const holdIds = [...new Set([...fills.map((f) => f.holdId), ...releases])];
    const books = await Books.open(tx, { holdIds, execIds: fills.map((f) => f.execId) });
    const unknown = holdIds.filter((id) => !books.hold(id));
    if (unknown.length > 0) {
      throw new LedgerError('HOLD_NOT_FOUND', `unknown hold ${unknown.join(', ')}`, { holdIds: unknown });
    }
    const results: FillSettlement[] = [];
    for (const fill of fills) {
      const first = books.settledFill(fill.execId);
      if (first) {
        const { execId, notional, commission, holdReleased } = first;
        results.push({ execId, notional, commission, holdReleased, duplicate: true });
        continue;
      }
      const hold = books.hold(fill.holdId)!;
      const cash = books.balanceOf(hold.accountId, CASH_ASSET);
      const shares = books.balanceOf(hold.accountId, hold.symbol);
      const outcome = settleFillPostings(hold, cash, shares, fill, bps);
      const entryId = books.record('fill', hold.accountId, fill.execId, outcome.postings);
      books.putHold(outcome.hold);
      books.setCostBasis(hold.accountId, hold.symbol, outcome.costBasis);
      const result = {
        execId: fill.execId,
        notional: outcome.notional,
        commission: outcome.commission,
        holdReleased: outcome.holdReleased,
      };
      books.addFill({ ...result, holdId: hold.id, entryId, quantity: fill.quantity, price: fill.price, at: fill.at });
      results.push({ ...result, duplicate: false });
    }
    // After every fill of the batch: an order's last report settles its fill, then frees the rest.
    for (const holdId of releases) {
      const hold = books.hold(holdId)!;
      const { hold: next, postings } = releasePostings(hold, hold.amount);
      if (postings.length === 0) continue;
      books.record('release', hold.accountId, holdId, postings);
      books.putHold(next);
    }
    await books.flush();
    return results;
  }

  return {
    async openAccount(tx, accountId) {
      await repository.insertAccount(tx, checkAccountId(accountId));
    },

    deposit: (tx, input) => moveMoney(tx, 'deposit', input),
    withdraw: (tx, input) => moveMoney(tx, 'withdrawal', input),

    async placeHold(tx, input) {
      const hold = checkHold(input);
      const books = await Books.open(tx, { accountIds: [hold.accountId], holdIds: [hold.holdId] });
      const placed = holdInBooks(books, hold);
      await books.flush();
      return placed;
    },

    async placeHolds(tx, inputs) {
      const checked = inputs.map((input) => {
        try {
          return checkHold(input);
        } catch (error) {
          if (error instanceof LedgerError) return error;
          throw error;
        }
      });
      const valid = checked.filter((c): c is CheckedHold => !(c instanceof LedgerError));
      if (valid.length === 0) return checked.map((c) => ({ refused: c as LedgerError }));
      const books = await Books.open(tx, {
        accountIds: valid.map((c) => c.accountId),
        holdIds: valid.map((c) => c.holdId),
      });
      const placed = checked.map((c): PlacedHold => {
        if (c instanceof LedgerError) return { refused: c };
        try {
          // The pure core refuses before it changes anything in memory: a refusal leaves the books as they were.
          const hold = holdInBooks(books, c);
          return { hold, balances: accountBalancesOf(c.accountId, books.balancesOfAccount(c.accountId)) };
        } catch (error) {
          if (error instanceof LedgerError) return { refused: error };
          throw error;
        }
      });
      await books.flush();
      return placed;
    },

    async reserveForReplace(tx, input) {
      const holdId = checkIdentifier(input.holdId, 'holdId');
      const baseHoldId = checkIdentifier(input.baseHoldId, 'holdId');
      const quantity = checkQuantity(input.quantity);
      const worstPrice = checkPrice(input.worstPrice, 'worstPrice');
      const books = await Books.open(tx, { holdIds: [baseHoldId, holdId] });
      const base = books.hold(baseHoldId);
      if (!base) throw new LedgerError('HOLD_NOT_FOUND', `unknown hold ${baseHoldId}`, { holdId: baseHoldId });
      const existing = books.hold(holdId);
      if (existing) return toHold(existing);
      const need = base.side === 'buy' ? costOf(quantity.times(worstPrice), bps) : quantity;
      // The larger of old and new: the base hold stays for the old order's fills; only the excess is added.
      const extra = Decimal.max(ZERO, need.minus(base.amount));
      if (extra.isZero()) return null;
      const postings = holdPostings(books.balanceOf(base.accountId, base.asset), base.side, extra);
      const hold: HoldState = {
        ...base,
        id: holdId,
        orderQuantity: quantity,
        worstPrice,
        originalAmount: extra,
        amount: extra,
        progress: NO_PROGRESS,
      };
      books.record('hold', base.accountId, holdId, postings);
      books.putHold(hold, true);
      await books.flush();
      return toHold(hold);
    },

    async releaseHold(tx, input) {
      const holdId = checkIdentifier(input.holdId, 'holdId');
      const books = await Books.open(tx, { holdIds: [holdId] });
      const hold = books.hold(holdId);
      if (!hold) throw new LedgerError('HOLD_NOT_FOUND', `unknown hold ${holdId}`, { holdId });
      const amount = input.amount === undefined ? undefined : checkReleaseAmount(input.amount, hold.side);
      const { hold: next, postings } = releasePostings(hold, amount ?? hold.amount);
      if (postings.length === 0) return toHold(hold);
      books.record('release', hold.accountId, holdId, postings);
      books.putHold(next);
      await books.flush();
      return toHold(next);
    },

    async settleFill(tx, fill) {
      const [result] = await settleFills(tx, [fill]);
      return result!;
    },

    settleFills,

    async getAccount(q, accountId) {
      const id = checkIdentifier(accountId, 'accountId', 'INVALID_ACCOUNT_ID');
      return (await getAccounts(q, [id])).get(id)!;
    },

    getAccounts,

    async getHold(q, holdId) {
      const id = checkIdentifier(holdId, 'holdId');
      const hold = (await repository.findHolds(q, [id])).get(id);
      if (!hold) throw new LedgerError('HOLD_NOT_FOUND', `unknown hold ${id}`, { holdId: id });
      return toHold(hold);
    },

    async journalOf(q, input) {
      return repository.journalOf(q, input.holdId, input.execIds);
    },

    async totals(q) {
      const [customers, counters] = await Promise.all([repository.customerTotals(q), repository.counterBalances(q)]);
      const none: AssetTotals = { total: ZERO, available: ZERO, held: ZERO };
      const shares: Record<string, AssetTotals> = {};
      for (const { asset, ...totals } of customers) if (asset !== CASH_ASSET) shares[asset] = totals;
      const counter = (kind: string, asset: string) =>
        counters.find((c) => c.kind === kind && c.asset === asset)?.amount ?? ZERO;
      const omnibusShares: Record<string, Decimal> = {};
      for (const c of counters) if (c.kind === 'omnibus' && c.asset !== CASH_ASSET) omnibusShares[c.asset] = c.amount;
      const external = counter('external', CASH_ASSET);
      return {
        customers: { cash: customers.find((c) => c.asset === CASH_ASSET) ?? none, shares },
        omnibus: { cash: counter('omnibus', CASH_ASSET), shares: omnibusShares },
        commissionRevenue: counter('commission', CASH_ASSET),
        external,
        // plus(0): negating a zero gives −0, which would print as "-0".
        netDeposits: external.negated().plus(0),
      } satisfies LedgerTotals;
    },
  };
}

function checkFill(fill: FillToSettle): FillToSettle {
  if (typeof fill !== 'object' || fill === null) throw new LedgerError('INVALID_FILL', 'a fill must be an object');
  return {
    holdId: checkIdentifier(fill.holdId, 'holdId', 'INVALID_FILL'),
    execId: checkIdentifier(fill.execId, 'execId', 'INVALID_FILL'),
    quantity: checkQuantity(fill.quantity),
    price: checkPrice(fill.price),
    at: checkDate(fill.at, 'at'),
  };
}

function cashOf(available: Decimal, held: Decimal): CashBalance {
  return { currency: 'USD', total: available.plus(held), available, held };
}

function toHold(hold: HoldState): Hold {
  return {
    holdId: hold.id,
    accountId: hold.accountId,
    side: hold.side,
    symbol: hold.symbol,
    asset: hold.asset,
    orderQuantity: hold.orderQuantity,
    worstPrice: hold.worstPrice,
    originalAmount: hold.originalAmount,
    amount: hold.amount,
    filledQuantity: hold.progress.filledQuantity,
    notional: hold.progress.notional,
    commission: hold.progress.commission,
  };
}
