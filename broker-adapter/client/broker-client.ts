import { z } from 'zod';
import { ExecutionReport } from '../executions/execution-report.schemas.ts';
import {
  BrokerOrder,
  CashStatement,
  ClockView,
  ExecutionsStatement,
  InstrumentView,
  OrdersStatement,
  PositionsStatement,
  type BrokerOrderRequest,
  type BrokerReplaceRequest,
  type StatementKind,
  type Statements,
} from './broker-order.schemas.ts';

/**
 * The broker said no, with a reason (a documented validation or business 4xx): the outcome is known
 * and retrying the same request will not help. `code` is the broker's error code, a field to match
 * on (TOO_LATE_TO_CANCEL, ORDER_NOT_FOUND, VALIDATION_FAILED, ...), never a message to parse.
 */
export class BrokerRejectedError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details: unknown) {
    super(message);
    this.name = 'BrokerRejectedError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * We do not know what happened: timeout, connection error, 5xx or a 503 outage, and the 4xx answers
 * that say "not now" rather than "no" (408 request timeout, 409 conflict, 429 too many requests).
 * The order may or may not exist at the broker; ask again by client order id, not before
 * `retryAfterMs` when the broker said so.
 */
export class BrokerUnavailableError extends Error {
  readonly reason: 'timeout' | 'connection' | 'server_error' | 'bad_response' | 'try_later';
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  constructor(
    reason: BrokerUnavailableError['reason'],
    message: string,
    status: number | null = null,
    retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'BrokerUnavailableError';
    this.reason = reason;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * 4xx answers that are not a refusal: the same request may well succeed later. 401 and 403 say our
 * credential was refused, not the order: a wrong BROKER_API_KEY must hold orders back, never reject them.
 */
const TRY_LATER_STATUSES: ReadonlySet<number> = new Set([401, 403, 408, 409, 425, 429]);

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date; null when absent or unreadable. Capped at an
 * hour so that a broker's typo cannot park an order for days.
 */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(3_600_000, Math.max(0, ms));
}

export interface BrokerClientOptions {
  baseUrl: string;
  /** The broker's API key (BROKER_API_KEY), sent as `Authorization: Bearer` on every call. */
  apiKey: string;
  /** Per call, in ms; past it the outcome is unknown. */
  timeoutMs?: number;
}

const OrderReports = z.object({ reports: z.array(ExecutionReport) });

const statementSchemas: { [K in StatementKind]: z.ZodType<Statements[K]> } = {
  executions: ExecutionsStatement,
  orders: OrdersStatement,
  positions: PositionsStatement,
  cash: CashStatement,
};

/** A typed client of the simulated broker's HTTP API. */
export class BrokerClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;

  constructor(options: BrokerClientOptions) {
    this.baseUrl = options.baseUrl;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Idempotent on clientOrderId: a resubmission returns the first order, never a second one. */
  submitOrder(request: BrokerOrderRequest): Promise<BrokerOrder> {
    return this.call('POST', '/v1/orders', BrokerOrder, request);
  }

  /** Accepted: the order, now pending_cancel. Too late (already final): BrokerRejectedError TOO_LATE_TO_CANCEL. */
  cancelOrder(brokerOrderId: string): Promise<BrokerOrder> {
    return this.call('DELETE', `/v1/orders/${encodeURIComponent(brokerOrderId)}`, BrokerOrder);
  }

  /**
   * Cancel/replace: the new order (its client order id is the request's), idempotent on that id.
   * Refused (too late, a cancel pending, below the filled quantity): BrokerRejectedError with the code.
   */
  replaceOrder(brokerOrderId: string, request: BrokerReplaceRequest): Promise<BrokerOrder> {
    return this.call('PATCH', `/v1/orders/${encodeURIComponent(brokerOrderId)}`, BrokerOrder, request);
  }

  getOrder(brokerOrderId: string): Promise<BrokerOrder> {
    return this.call('GET', `/v1/orders/${encodeURIComponent(brokerOrderId)}`, BrokerOrder);
  }

  /** Every report the broker made for an order, delivered or not, in sequence (a replay). */
  async getOrderReports(brokerOrderId: string): Promise<ExecutionReport[]> {
    const { reports } = await this.call('GET', `/v1/orders/${encodeURIComponent(brokerOrderId)}/reports`, OrderReports);
    return reports;
  }

  /** Null when the broker does not know the order (it never arrived). */
  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | null> {
    try {
      return await this.call('GET', `/v1/orders?clientOrderId=${encodeURIComponent(clientOrderId)}`, BrokerOrder);
    } catch (error) {
      if (error instanceof BrokerRejectedError && error.status === 404) return null;
      throw error;
    }
  }

  /** A daily statement; `date` is the New York trading date YYYY-MM-DD. */
  getStatement<K extends StatementKind>(kind: K, date: string): Promise<Statements[K]> {
    return this.call('GET', `/v1/statements/${kind}?date=${encodeURIComponent(date)}`, statementSchemas[kind]);
  }

  getInstruments(): Promise<InstrumentView[]> {
    return this.call('GET', '/v1/instruments', InstrumentView.array());
  }

  getClock(): Promise<ClockView> {
    return this.call('GET', '/v1/clock', ClockView);
  }

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new BrokerUnavailableError(
        timedOut ? 'timeout' : 'connection',
        `${method} ${path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    let payload: unknown;
    try {
      payload = await response.json();
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new BrokerUnavailableError('timeout', `${method} ${path}: timed out reading the answer`);
      }
      payload = undefined;
    }
    if (response.status >= 500 || TRY_LATER_STATUSES.has(response.status)) {
      throw new BrokerUnavailableError(
        response.status >= 500 ? 'server_error' : 'try_later',
        `${method} ${path}: HTTP ${response.status}`,
        response.status,
        retryAfterMs(response.headers.get('retry-after')),
      );
    }
    if (response.status >= 400) {
      const error = (payload as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new BrokerRejectedError(
        response.status,
        error?.code ?? `HTTP_${response.status}`,
        error?.message ?? `${method} ${path}: HTTP ${response.status}`,
        error?.details ?? null,
      );
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      throw new BrokerUnavailableError('bad_response', `${method} ${path}: unexpected answer: ${parsed.error.message}`);
    }
    return parsed.data;
  }
}
