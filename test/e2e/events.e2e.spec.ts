import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dec } from '../../platform/index.ts';
import { CuttableProxy, EventClient, type ReceivedEvent } from '../support/event-client.ts';
import { kafkaBrokers } from '../support/kafka.ts';
import { Api, OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

const root = resolve(import.meta.dirname, '..', '..');
const FINAL = ['filled', 'canceled', 'rejected', 'expired'];

/** A second trading server as its own OS process on the system's PostgreSQL and Kafka. */
function startTradingServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [resolve(root, 'bin/trading-server.ts')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`trading server not ready:\n${output}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`trading server exited with ${code}:\n${output}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Trading server: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveStart({ child, url: match[1]! });
      }
    });
  });
}

interface Order {
  id: string;
  status: string;
  filledQuantity: string;
}

/**
 * Clients follow their accounts' events on one trading server process while their orders are
 * placed through another, under the broker's duplicates, reordering and dropped reports (recovered
 * by the open-order check), and while the network between client and server keeps dropping: every
 * event arrives exactly once, in order, and each order's events end in its final state.
 */
describe('account events across trading server processes, under broker faults and dropped connections', () => {
  let t: TestSystem;
  let second: { child: ChildProcess; url: string };
  let proxy: CuttableProxy;

  beforeAll(async () => {
    t = await startTestSystem({
      env: { BROKER_FAULTS: 'duplicate=0.3,reorder=0.3,drop_report=0.2,partial=0.5', OPEN_ORDER_CHECK_SECONDS: '0.5' },
    });
    second = await startTradingServer({
      DATABASE_URL: t.db.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_NAMESPACE: t.namespace,
      KAFKA_PARTITIONS: '3',
      BROKER_URL: t.system.broker.url,
      BROKER_API_KEY: t.config.BROKER_API_KEY,
      OPS_API_KEY: OPS_KEY,
      PORT: '0',
      RATE_LIMIT_PER_MINUTE: '1000000',
    });
    proxy = new CuttableProxy({ host: '127.0.0.1', port: Number(new URL(second.url).port) });
    await proxy.listen();
  }, 180_000);

  afterAll(async () => {
    await proxy?.close();
    if (second && second.child.exitCode === null) {
      await new Promise((resolveExit) => {
        second.child.once('exit', resolveExit);
        second.child.kill('SIGTERM');
      });
    }
    await t?.stop();
  });

  it(
    'delivers every event exactly once, in order, ending in each order final state',
    { timeout: 180_000 },
    async () => {
      const accounts = await Promise.all([0, 1, 2].map(() => t.api.openAccount('200000.00')));
      const clients = accounts.map((account) => new EventClient(`${proxy.url}/v1/events`, account.key));
      const placed: Array<{ id: string; key: string; account: number }> = [];
      try {
        for (let wave = 0; wave < 4; wave++) {
          for (const [a, account] of accounts.entries()) {
            for (const body of [
              { symbol: 'AAPL', side: 'buy', type: 'market', quantity: String(1 + wave) },
              { symbol: 'MSFT', side: 'buy', type: 'market', quantity: '0.5' },
              // Far below the market: stays open until canceled.
              { symbol: 'NVDA', side: 'buy', type: 'limit', quantity: '1', limitPrice: '1.00', timeInForce: 'gtc' },
            ]) {
              const response = await t.api.request<Order>('POST', '/v1/orders', account.key, {
                clientOrderId: `w${wave}-${placed.length}`,
                ...body,
              });
              expect(response.status).toBe(201);
              placed.push({ id: response.body.id, key: account.key, account: a });
            }
          }
          // The network between the clients and their trading server drops while events flow.
          await new Promise((resolveWait) => setTimeout(resolveWait, 300));
          proxy.cut();
        }
        for (const order of placed) {
          const current = await t.api.request<Order>('GET', `/v1/orders/${order.id}`, order.key);
          if (!FINAL.includes(current.body.status)) {
            const canceled = await t.api.request('DELETE', `/v1/orders/${order.id}`, order.key);
            expect([202, 409]).toContain(canceled.status);
          }
        }
        const finals = new Map<string, Order>();
        for (const order of placed) {
          finals.set(
            order.id,
            await t.api.waitForOrder<Order>(order.key, order.id, (o) => FINAL.includes(o.status), 90_000),
          );
        }

        const secondApi = new Api(second.url);
        for (const [a, account] of accounts.entries()) {
          // The log itself, as the JSON pages of the other process show it.
          const logged: Array<{ seq: number }> = [];
          for (let since: number | null = 0; since !== null;) {
            const page: { status: number; body: { events: Array<{ seq: number }>; next: number | null } } =
              await t.api.request('GET', `/v1/events?since=${since}&limit=50`, account.key);
            logged.push(...page.body.events);
            since = page.body.next;
          }
          const client = clients[a]!;
          await client.waitFor((events) => events.length >= logged.length, 60_000);
          await new Promise((resolveWait) => setTimeout(resolveWait, 300));
          expect(client.opened).toBeGreaterThan(1);
          expect(client.events.map((event) => Number(event.id))).toEqual(logged.map((_, i) => i + 1));
          expect(client.events.map((event) => event.data)).toEqual(logged);

          const mine = placed.filter((order) => order.account === a);
          for (const order of mine) {
            const events = client.events.filter((event) => event.data.order.id === order.id);
            expectOneOrderInStep(events, finals.get(order.id)!);
          }
          // And the process the client is not connected to serves the same log.
          const other = await secondApi.request<{ events: unknown[] }>('GET', '/v1/events?limit=1000', account.key);
          expect(other.body.events).toEqual(logged);
        }
        // The faults did happen: duplicates were ignored and dropped reports were brought back.
        const { rows } = await t.db.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM order_anomalies WHERE kind = 'IGNORED'",
        );
        expect(rows[0]!.n).toBeGreaterThan(0);
        const metrics = await (await fetch(`${t.system.url}/metrics`)).text();
        const recovered = [...metrics.matchAll(/^trading_open_order_check_recovered_total\{[^}]*\} (\d+)/gm)].reduce(
          (total, match) => total + Number(match[1]),
          0,
        );
        expect(recovered).toBeGreaterThan(0);
      } finally {
        for (const client of clients) client.close();
      }
    },
  );
});

/** One order's events: accepted first, fills never repeated and never going back, nothing after its final state. */
function expectOneOrderInStep(events: readonly ReceivedEvent[], final: Order): void {
  expect(events[0]!.type).toBe('accepted');
  const execIds = events.flatMap((event) => {
    const fill = event.data.fill as { execId: string } | undefined;
    return fill ? [fill.execId] : [];
  });
  expect(new Set(execIds).size).toBe(execIds.length);
  for (let i = 1; i < events.length; i++) {
    expect(dec(events[i]!.data.order.filledQuantity).gte(events[i - 1]!.data.order.filledQuantity)).toBe(true);
    expect(FINAL.includes(events[i - 1]!.data.order.status) && events[i - 1]!.data.order.status !== 'canceled').toBe(
      false,
    );
  }
  const last = events.at(-1)!.data.order;
  expect(last.status).toBe(final.status);
  expect(last.filledQuantity).toBe(final.filledQuantity);
}
