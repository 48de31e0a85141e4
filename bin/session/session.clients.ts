import { Decimal, dec } from '../../platform/index.ts';
import type { PlannedAction, RefusalKind } from './session.plan.ts';

/** An order as the trading API returns it (the fields the session reads). */
export interface ApiOrder {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'market' | 'limit';
  quantity: string;
  timeInForce: 'day' | 'gtc' | 'ioc';
  extendedHours: boolean;
  status: string;
  filledQuantity: string;
  fills: { execId: string; quantity: string; price: string }[];
}

interface ApiError {
  error: { code: string; message: string };
}

/** What one action came to, as the client saw it. */
export type ActionOutcome =
  | { kind: 'placed'; order: ApiOrder; label: string; body: Record<string, unknown> }
  | { kind: 'refused'; code: string; expected: RefusalKind | null; label: string }
  | { kind: 'canceled'; orderId: string; status: number; code: string | null }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; status: number; detail: string; label: string };

export interface SessionAccount {
  index: number;
  accountId: string;
  key: string;
}

/**
 * The session's trading clients: each action is one HTTP request (or two: a look at the account
 * before a sell or a cancel) to the trading API, exactly as a client application would make it.
 */
export class SessionClients {
  readonly url: string;
  readonly opsKey: string;
  private sequence = 0;

  constructor(url: string, opsKey: string) {
    this.url = url;
    this.opsKey = opsKey;
  }

  async request<T>(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** Opens `count` accounts one after another (their ids come from the seeded id source in that order). */
  async openAccounts(count: number, deposit: string): Promise<SessionAccount[]> {
    const accounts: SessionAccount[] = [];
    for (let index = 0; index < count; index++) {
      const created = await this.request<{ accountId: string; apiKey: string }>(
        'POST',
        '/v1/ops/accounts',
        this.opsKey,
        { name: `session client ${index + 1}` },
      );
      if (created.status !== 201)
        throw new Error(`opening an account answered ${created.status}: ${JSON.stringify(created.body)}`);
      const deposited = await this.request('POST', `/v1/ops/accounts/${created.body.accountId}/deposits`, this.opsKey, {
        amount: deposit,
        currency: 'USD',
      });
      if (deposited.status >= 300)
        throw new Error(`a deposit answered ${deposited.status}: ${JSON.stringify(deposited.body)}`);
      accounts.push({ index, accountId: created.body.accountId, key: created.body.apiKey });
    }
    return accounts;
  }

  /**
   * Performs one planned action. `prices` are the last prices at this step; `cancelable` says
   * which open orders a cancel may pick (those placed in earlier steps, already settled).
   */
  async perform(
    action: PlannedAction,
    account: SessionAccount,
    prices: ReadonlyMap<string, string>,
    cancelable: (orderId: string) => boolean,
  ): Promise<ActionOutcome> {
    switch (action.kind) {
      case 'market-buy':
        return this.place(account, `market ${action.timeInForce}`, {
          symbol: action.symbol,
          side: 'buy',
          type: 'market',
          quantity: action.quantity,
          timeInForce: action.timeInForce,
        });
      case 'fractional-buy':
        return this.place(account, 'fractional market', {
          symbol: action.symbol,
          side: 'buy',
          type: 'market',
          quantity: action.quantity,
          timeInForce: 'day',
        });
      case 'limit-buy': {
        const limitPrice = onTickGrid(dec(prices.get(action.symbol)!).mul(action.priceFactor.toFixed(4)));
        const label = action.extendedHours ? 'extended-hours limit' : `limit ${action.timeInForce}`;
        return this.place(account, label, {
          symbol: action.symbol,
          side: 'buy',
          type: 'limit',
          quantity: action.quantity,
          limitPrice,
          timeInForce: action.timeInForce,
          extendedHours: action.extendedHours,
        });
      }
      case 'sell-held':
        return this.sellHeld(action, account, prices);
      case 'cancel':
        return this.cancelOne(account, cancelable);
      case 'refused':
        return this.placeRefused(action.reason, account, prices);
    }
  }

  private async sellHeld(
    action: Extract<PlannedAction, { kind: 'sell-held' }>,
    account: SessionAccount,
    prices: ReadonlyMap<string, string>,
  ): Promise<ActionOutcome> {
    const view = await this.request<{ positions: { symbol: string; available: string }[] }>(
      'GET',
      '/v1/account',
      account.key,
    );
    const held = view.body.positions
      .filter((p) => dec(p.available).gt(0))
      .sort((a, b) => a.symbol.localeCompare(b.symbol));
    const position = held[0];
    if (!position) return { kind: 'skipped', reason: 'nothing held to sell' };
    const whole = action.limitFactor !== null || action.extendedHours;
    const wanted = dec(position.available).mul(action.fraction);
    const quantity = whole ? wanted.floor() : wanted.toDecimalPlaces(6, Decimal.ROUND_DOWN);
    if (quantity.lte(0)) return { kind: 'skipped', reason: 'less than one whole share held' };
    if (action.limitFactor === null) {
      return this.place(account, 'market sell', {
        symbol: position.symbol,
        side: 'sell',
        type: 'market',
        quantity: quantity.toString(),
        timeInForce: 'day',
      });
    }
    const limitPrice = onTickGrid(dec(prices.get(position.symbol)!).mul(action.limitFactor.toFixed(4)));
    return this.place(account, action.extendedHours ? 'extended-hours limit sell' : 'limit sell gtc', {
      symbol: position.symbol,
      side: 'sell',
      type: 'limit',
      quantity: quantity.toString(),
      limitPrice,
      timeInForce: action.extendedHours ? 'day' : 'gtc',
      extendedHours: action.extendedHours,
    });
  }

  private async cancelOne(account: SessionAccount, cancelable: (orderId: string) => boolean): Promise<ActionOutcome> {
    const open = await this.request<{ orders: ApiOrder[] }>('GET', '/v1/orders?status=open&limit=50', account.key);
    const target = open.body.orders.find((order) => cancelable(order.id) && order.status !== 'pending_cancel');
    if (!target) return { kind: 'skipped', reason: 'no open order to cancel' };
    const answer = await this.request<ApiOrder | ApiError>('DELETE', `/v1/orders/${target.id}`, account.key);
    return {
      kind: 'canceled',
      orderId: target.id,
      status: answer.status,
      code: 'error' in answer.body ? answer.body.error.code : null,
    };
  }

  private placeRefused(
    reason: RefusalKind,
    account: SessionAccount,
    prices: ReadonlyMap<string, string>,
  ): Promise<ActionOutcome> {
    const aapl = dec(prices.get('AAPL')!);
    const bodies: Record<RefusalKind, Record<string, unknown>> = {
      INSUFFICIENT_BUYING_POWER: { symbol: 'NVDA', side: 'buy', type: 'market', quantity: '1000000' },
      INVALID_PRICE_INCREMENT: {
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        quantity: '1',
        limitPrice: aapl.toDecimalPlaces(2, Decimal.ROUND_DOWN).plus('0.005').toString(),
      },
      UNKNOWN_SYMBOL: { symbol: 'ZZZZ', side: 'buy', type: 'market', quantity: '1' },
      FRACTIONAL_NOT_ALLOWED: {
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        quantity: '0.5',
        limitPrice: onTickGrid(aapl.mul('0.9')),
      },
      INSUFFICIENT_POSITION: { symbol: 'MSFT', side: 'sell', type: 'market', quantity: '1000000' },
    };
    return this.place(account, `refused: ${reason}`, bodies[reason], reason);
  }

  private async place(
    account: SessionAccount,
    label: string,
    order: Record<string, unknown>,
    expected: RefusalKind | null = null,
  ): Promise<ActionOutcome> {
    const body = { clientOrderId: `s${++this.sequence}`, ...order };
    const answer = await this.request<ApiOrder | ApiError>('POST', '/v1/orders', account.key, body);
    if (answer.status === 201) return { kind: 'placed', order: answer.body as ApiOrder, label, body };
    if (answer.status === 422) return { kind: 'refused', code: (answer.body as ApiError).error.code, expected, label };
    return { kind: 'failed', status: answer.status, detail: JSON.stringify(answer.body).slice(0, 300), label };
  }
}

/** A limit price on the US tick grid: cents at or above $1, hundredths of a cent below. */
export function onTickGrid(price: Decimal): string {
  return price.toDecimalPlaces(price.gte(1) ? 2 : 4, Decimal.ROUND_DOWN).toString();
}
