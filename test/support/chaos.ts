import { expect } from 'vitest';
import { tradingDateOf } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants } from '../../ledger/index.ts';
import type { Pool } from '../../platform/index.ts';
import { OPS_KEY } from './system.ts';

/** An answer of the system under test, or `network` when nothing answered (a process down). */
type Outcome = number | 'network' | '503 without Retry-After';

async function call(
  url: string,
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
): Promise<{ status: Outcome; body: unknown }> {
  try {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: /metrics, or a proxy's page
    }
    // A 503 must say when to come back; without Retry-After it counts as a wrong answer.
    if (response.status === 503 && !/^\d+$/.test(response.headers.get('retry-after') ?? '')) {
      return { status: '503 without Retry-After', body: parsed };
    }
    return { status: response.status, body: parsed };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    return { status: 'network', body: `${method} ${path}: ${cause}` };
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Continuous load of the whole system over HTTP, as clients would make it: each client places market
 * orders one after another, and like a careful client retries a placement that got no answer or a
 * 503 with the same clientOrderId (so an order committed just before the outage is found, not made
 * twice); meanwhile it reads its account, and a monitor polls /healthz. Every answer is recorded.
 */
export class ChaosLoad {
  readonly placed = new Map<string, { id: string; key: string }>();
  readonly answers = new Map<string, number>();
  /** Answers no outage excuses: a 5xx other than 503, or a 4xx to a valid request. */
  readonly wrong: Array<{ path: string; status: Outcome; body: unknown }> = [];
  readonly health: Array<{ at: number; status: Outcome }> = [];
  /** Why requests got no answer, by message (a refused connection while a process is down, ...). */
  readonly unanswered = new Map<string, number>();
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly url: () => string;
  private readonly accounts: ReadonlyArray<{ key: string }>;
  private readonly prefix: string;

  constructor(url: () => string, accounts: ReadonlyArray<{ key: string }>, prefix: string) {
    this.url = url;
    this.accounts = accounts;
    this.prefix = prefix;
  }

  start(): void {
    this.running = true;
    this.loops = [...this.accounts.map((account, i) => this.client(account.key, i)), this.monitor()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Health answers seen between two instants. */
  healthBetween(from: number, to: number): Outcome[] {
    return this.health.filter((h) => h.at >= from && h.at <= to).map((h) => h.status);
  }

  private record(path: string, status: Outcome, body: unknown, expected: readonly number[]): void {
    this.answers.set(String(status), (this.answers.get(String(status)) ?? 0) + 1);
    if (status === 'network') this.unanswered.set(String(body), (this.unanswered.get(String(body)) ?? 0) + 1);
    if (status === 'network' || status === 503 || (typeof status === 'number' && expected.includes(status))) return;
    this.wrong.push({ path, status, body });
  }

  private async client(key: string, index: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const clientOrderId = `${this.prefix}-c${index}-${n}`;
      const order = {
        clientOrderId,
        symbol: ['AAPL', 'MSFT', 'NVDA'][n % 3],
        side: 'buy',
        type: 'market',
        quantity: String(1 + (n % 2)),
      };
      // The same order until it is known to exist: the stop flag only ends the loop between orders.
      for (;;) {
        const answer = await call(this.url(), 'POST', '/v1/orders', key, order);
        this.record('POST /v1/orders', answer.status, answer.body, [200, 201]);
        if (answer.status === 200 || answer.status === 201) {
          const id = (answer.body as { id: string }).id;
          this.placed.set(id, { id, key });
          break;
        }
        if (answer.status !== 'network' && answer.status !== 503) break;
        await pause(200);
      }
      const account = await call(this.url(), 'GET', '/v1/account', key);
      this.record('GET /v1/account', account.status, account.body, [200]);
      // A steady pace, not a flood: the backlog an outage leaves must drain within the test.
      await pause(150);
    }
  }

  private async monitor(): Promise<void> {
    while (this.running) {
      const answer = await call(this.url(), 'GET', '/healthz', null);
      this.health.push({ at: Date.now(), status: answer.status });
      this.record('GET /healthz', answer.status, answer.body, [200]);
      await pause(250);
    }
  }
}

/** Opens `count` funded accounts through the ops API, retrying what an outage refuses. */
export async function openAccounts(url: string, count: number): Promise<Array<{ accountId: string; key: string }>> {
  const accounts: Array<{ accountId: string; key: string }> = [];
  for (let i = 0; i < count; i++) {
    const created = await call(url, 'POST', '/v1/ops/accounts', OPS_KEY, { name: `chaos-${i}` });
    expect(created.status).toBe(201);
    const { accountId, apiKey } = created.body as { accountId: string; apiKey: string };
    const deposit = await call(url, 'POST', `/v1/ops/accounts/${accountId}/deposits`, OPS_KEY, {
      amount: '10000000.00',
      currency: 'USD',
    });
    expect(deposit.status).toBe(201);
    accounts.push({ accountId, key: apiKey });
  }
  return accounts;
}

const FINAL = ['filled', 'canceled', 'rejected', 'expired'];

/**
 * What must hold once the load has stopped and the system has settled: every order placed ends as
 * the broker says (status and filled quantity), exists once here and once at the broker; every
 * broker trade is one fill here and one in the ledger; the ledger's invariants hold; the day
 * reconciles clean; and no answer was a 5xx other than 503 (nor a 4xx to a valid request).
 */
export async function expectSettledAsTheBrokerSays(options: {
  pool: Pool;
  url: string;
  load: ChaosLoad;
  timeoutMs?: number;
}): Promise<void> {
  const { pool, load } = options;
  expect(load.wrong).toEqual([]);
  expect(load.placed.size).toBeGreaterThan(0);
  const count = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0]!.n;

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    const open = await count(
      `SELECT count(*)::int AS n FROM order_gateway_order_states WHERE status <> ALL('{${FINAL.join(',')}}')`,
    );
    const unsettled = await count(`
      SELECT count(*)::int AS n FROM order_gateway_order_states o JOIN broker_adapter_simulated_orders b ON b.client_order_id = o.id::text
      WHERE o.status <> b.status OR o.filled_quantity <> b.cumulative_quantity`);
    if (open === 0 && unsettled === 0) break;
    if (Date.now() > deadline) throw new Error(`${open} orders still open, ${unsettled} differ from the broker`);
    await pause(250);
  }
  expect(await count('SELECT count(*)::int AS n FROM order_gateway_order_states')).toBe(load.placed.size);
  expect(await count('SELECT count(*)::int AS n FROM broker_adapter_simulated_orders')).toBe(load.placed.size);
  const { rows: byStatus } = await pool.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM order_gateway_order_states GROUP BY status',
  );
  expect(byStatus.find((row) => row.status === 'filled')?.n ?? 0).toBeGreaterThan(0);
  const trades = await count('SELECT count(*)::int AS n FROM broker_adapter_simulated_trades');
  expect(await count('SELECT count(*)::int AS n FROM order_gateway_recorded_fills')).toBe(trades);
  expect(await count('SELECT count(*)::int AS n FROM ledger_settled_fills')).toBe(trades);
  expect(await checkLedgerInvariants(pool)).toEqual([]);

  const date = tradingDateOf(new Date());
  const run = await call(options.url, 'POST', '/v1/ops/reconciliations', OPS_KEY, { date, repair: false });
  expect(run.status).toBe(201);
  expect(run.body).toMatchObject({ date, status: 'clean', breaks: [] });
}
