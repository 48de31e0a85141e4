import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createLedger } from '../../ledger/index.ts';
import { silentLogger, withTransaction } from '../../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { CuttableProxy, EventClient, type ReceivedEvent } from '../../test/support/event-client.ts';
import { buildTestApp, fixedMarketData, TEST_OPS_KEY } from '../../test/support/trading-app.ts';
import type { App } from '../index.ts';
import type { OrderEvent } from '../orders/order.machine.ts';
import { createOrderService, type OrderService } from '../orders/order.service.ts';
import { unsentSubmits } from '../requests/unsent-submits.ts';
import { appendAccountEvents } from '../orders/account-event.repository.ts';
import type { AccountEventBody } from '../orders/account-event.schemas.ts';

async function waitUntilOpen(client: EventClient): Promise<void> {
  while (client.source.readyState !== client.source.OPEN) await new Promise((resolve) => setTimeout(resolve, 10));
}

const ops = { authorization: `Bearer ${TEST_OPS_KEY}` };
const AT = '2026-11-25T15:00:00.000Z';

/** The account event log and its streams, on real PostgreSQL and a listening server. */
describe('account events', () => {
  let db: TestDatabase;
  let app: App;
  let url: string;
  let orders: OrderService;
  let sequence = 0;
  const streams: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const marketData = fixedMarketData();
    app = await buildTestApp(db, {
      marketData,
      events: { heartbeatSeconds: 60, clientBufferBytes: 16 * 1024, onStream: (change) => streams.push(change) },
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    orders = createOrderService({
      pool: db.pool,
      ledger: createLedger({ commissionBps: 10 }),
      marketData,
      logger: silentLogger,
      unsentSubmits,
    });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  async function anAccount(deposit = '100000.00') {
    const created = (
      await app.inject({ method: 'POST', url: '/v1/ops/accounts', headers: ops, payload: { name: 'c' } })
    ).json<{ accountId: string; apiKey: string }>();
    await app.inject({
      method: 'POST',
      url: `/v1/ops/accounts/${created.accountId}/deposits`,
      headers: ops,
      payload: { amount: deposit, currency: 'USD' },
    });
    return {
      accountId: created.accountId,
      key: created.apiKey,
      headers: { authorization: `Bearer ${created.apiKey}` },
    };
  }

  async function place(account: { headers: Record<string, string> }, quantity = '10') {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: account.headers,
      payload: {
        clientOrderId: `o-${sequence++}`,
        symbol: 'AAPL',
        side: 'buy',
        type: 'limit',
        quantity,
        limitPrice: '187.25',
      },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ id: string }>();
  }

  /** Events as the broker's reports would bring them, through the order service's one funnel. */
  async function apply(orderId: string, ...events: OrderEvent[]) {
    await withTransaction(db.pool, (tx) =>
      orders.applyEvents(
        tx,
        events.map((event) => ({ orderId, event })),
      ),
    );
  }
  const ack = (orderId: string): OrderEvent => ({ type: 'OrderAcknowledged', brokerOrderId: `B-${orderId}`, at: AT });
  const fill = (quantity: string, execId = `X-${sequence++}`): OrderEvent => ({
    type: 'FillReported',
    execId,
    quantity,
    price: '187.00',
    at: AT,
  });

  async function allPages(headers: Record<string, string>, since = 0, limit = 3): Promise<AccountEventBody[]> {
    const events: AccountEventBody[] = [];
    let cursor: number | null = since;
    while (cursor !== null) {
      const response: { statusCode: number; json: <T>() => T } = await app.inject({
        method: 'GET',
        url: `/v1/events?since=${cursor}&limit=${limit}`,
        headers,
      });
      expect(response.statusCode).toBe(200);
      const page: { events: AccountEventBody[]; next: number | null } = response.json<{
        events: AccountEventBody[];
        next: number | null;
      }>();
      events.push(...page.events);
      cursor = page.next;
    }
    return events;
  }

  it('writes each change once, numbered 1..N per account, with the order, cash and position after it', async () => {
    const alice = await anAccount();
    const bob = await anAccount();
    const first = await place(alice);
    const second = await place(alice);
    await place(bob);
    // Acknowledgement, two fills and a duplicate of the last one, in one batch as the consumer would.
    const last = fill('6');
    await apply(first.id, ack(first.id), fill('4'), last, last);
    const canceled = await app.inject({ method: 'DELETE', url: `/v1/orders/${second.id}`, headers: alice.headers });
    expect(canceled.json<{ status: string }>().status).toBe('canceled');

    const events = await allPages(alice.headers);
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.map((event) => [event.type, event.order.id])).toEqual([
      ['accepted', first.id],
      ['accepted', second.id],
      ['new', first.id],
      ['partial_fill', first.id],
      ['fill', first.id],
      ['canceled', second.id],
    ]);
    const [, , , partial, filled, cancel] = events;
    // Each event shows the order as that change left it, not as the batch ended.
    expect(partial!.order).toMatchObject({ status: 'partially_filled', filledQuantity: '4' });
    expect(partial!.order.fills).toHaveLength(1);
    expect(partial!.fill).toMatchObject({ quantity: '4', price: '187.00' });
    expect(filled!.order).toMatchObject({ status: 'filled', filledQuantity: '10' });
    expect(filled!.fill!.execId).toBe(last.type === 'FillReported' ? last.execId : '');
    expect(filled!.position).toMatchObject({ symbol: 'AAPL', quantity: '10' });
    const account = (await app.inject({ method: 'GET', url: '/v1/account', headers: alice.headers })).json<{
      cash: unknown;
    }>();
    expect(cancel!.cash).toEqual(account.cash);
    // Another account's key sees only its own events.
    const bobs = await allPages(bob.headers);
    expect(bobs.map((event) => [event.seq, event.type])).toEqual([[1, 'accepted']]);
    expect((await allPages(alice.headers, 4)).map((event) => event.seq)).toEqual([5, 6]);
  });

  it('refuses a bad cursor or Last-Event-ID with 400, an ops key with 401, and changes nothing', async () => {
    const alice = await anAccount();
    for (const query of ['since=-1', 'since=abc', 'limit=0', 'limit=5000', 'since=1.5', 'other=1']) {
      const response = await app.inject({ method: 'GET', url: `/v1/events?${query}`, headers: alice.headers });
      expect(response.statusCode, query).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
    }
    const badId = await app.inject({
      method: 'GET',
      url: '/v1/events',
      headers: { ...alice.headers, accept: 'text/event-stream', 'last-event-id': 'x' },
    });
    expect(badId.statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/v1/events', headers: ops })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/ops/events', headers: alice.headers })).statusCode).toBe(401);
    expect((await allPages(alice.headers)).length).toBe(0);
  });

  it('streams from ?since=, then live, with nothing lost or repeated at the seam', async () => {
    const alice = await anAccount();
    const placed = [await place(alice), await place(alice)];
    // Events keep being written while the client connects and replays.
    const writing = (async () => {
      for (let i = 0; i < 8; i++) placed.push(await place(alice));
    })();
    const client = new EventClient(`${url}/v1/events?since=1`, alice.key);
    try {
      await writing;
      await client.waitFor((events) => events.length >= 9);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(client.events.map((event) => Number(event.id))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(client.events.map((event) => event.data.order.id)).toEqual(placed.slice(1).map((order) => order.id));
    } finally {
      client.close();
    }
  });

  it('gives every stream of one account every event, though they share their reads', async () => {
    const alice = await anAccount();
    await place(alice);
    const clients = Array.from({ length: 6 }, (_, i) => new EventClient(`${url}/v1/events?since=${i % 2}`, alice.key));
    try {
      await Promise.all(
        Array.from({ length: 3 }, async () => {
          for (let i = 0; i < 4; i++) await place(alice);
        }),
      );
      for (const [i, client] of clients.entries()) {
        const from = (i % 2) + 1;
        await client.waitFor((events) => events.length >= 14 - from);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(client.events.map((event) => Number(event.id))).toEqual(
          Array.from({ length: 14 - from }, (_, n) => n + from),
        );
      }
    } finally {
      for (const client of clients) client.close();
    }
  });

  it('resumes after network drops with Last-Event-ID: every event exactly once, in order', async () => {
    const alice = await anAccount();
    const proxy = new CuttableProxy({ host: '127.0.0.1', port: Number(new URL(url).port) });
    const proxied = await proxy.listen();
    const client = new EventClient(`${proxied}/v1/events`, alice.key);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const order = await place(alice, '3');
        ids.push(order.id);
        await apply(order.id, ack(order.id), fill('1'));
        if (i % 2 === 1) {
          // Cut while events are on their way: those written during the reconnection are replayed.
          await waitUntilOpen(client);
          expect(proxy.cut()).toBeGreaterThan(0);
        }
        await apply(order.id, fill('2'));
      }
      // 4 events per order: accepted, new, partial_fill, fill.
      await client.waitFor((events) => events.length >= 24);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(client.opened).toBeGreaterThan(1);
      expect(client.events.map((event) => Number(event.id))).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      for (const id of ids) {
        const ofOrder = client.events.filter((event) => event.data.order.id === id);
        expect(ofOrder.map((event) => event.type)).toEqual(['accepted', 'new', 'partial_fill', 'fill']);
        expect(ofOrder.at(-1)!.data.order.status).toBe('filled');
      }
    } finally {
      client.close();
      await proxy.close();
    }
  });

  it('loses nothing when the listening connection is terminated mid-stream', async () => {
    const alice = await anAccount();
    const client = new EventClient(`${url}/v1/events`, alice.key);
    const listener = async () =>
      (
        await db.pool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'event-notifications' AND datname = current_database()",
        )
      ).rows.map((row) => row.pid);
    try {
      await place(alice);
      await client.waitFor((events) => events.length === 1);
      const before = await listener();
      expect(before).toHaveLength(1);
      await db.pool.query('SELECT pg_terminate_backend($1)', [before[0]]);
      // Written while nobody listens; the heartbeat (60 s here) is not what brings them.
      for (let i = 0; i < 3; i++) await place(alice);
      await client.waitFor((events) => events.length === 4, 20_000);
      const after = await listener();
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before[0]);
      await place(alice);
      await client.waitFor((events) => events.length === 5);
      expect(client.events.map((event) => Number(event.id))).toEqual([1, 2, 3, 4, 5]);
    } finally {
      client.close();
    }
  });

  it('cuts off a client that stops reading, with a last event naming where it stopped', async () => {
    // A buffer that does not drain within a heartbeat is a slow client: a short heartbeat here.
    const quick = await buildTestApp(db, {
      events: { heartbeatSeconds: 1, clientBufferBytes: 16 * 1024, onStream: (change) => streams.push(change) },
    });
    const quickUrl = await quick.listen({ port: 0, host: '127.0.0.1' });
    onTestFinished(() => quick.close());
    const alice = await anAccount();
    const order = await place(alice);
    const [accepted] = (await allPages(alice.headers)) as [AccountEventBody];
    // Enough events to fill the kernel's socket buffers several times over.
    const padding = 'x'.repeat(3000);
    await withTransaction(db.pool, (tx) =>
      appendAccountEvents(
        tx,
        Array.from({ length: 4000 }, () => ({
          accountId: alice.accountId,
          type: 'accepted' as const,
          body: { ...accepted, order: { ...accepted.order, rejectReason: padding } },
        })),
      ),
    );
    const cutOffsBefore = streams.filter((change) => change === 'cut_off').length;
    const { port } = new URL(quickUrl);
    const socket = connect(Number(port), '127.0.0.1');
    socket.pause();
    socket.write(
      `GET /v1/events HTTP/1.0\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${alice.key}\r\n\r\n`,
    );
    const deadline = Date.now() + 30_000;
    while (streams.filter((change) => change === 'cut_off').length === cutOffsBefore) {
      if (Date.now() > deadline) throw new Error(`the slow client was never cut off: ${streams.join(',')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // HTTP/1.0: the body arrives as written, without chunked framing.
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    const ids = [...received.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(4001);
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    const lastEvent = received.trimEnd().split('\n\n').at(-1)!;
    expect(lastEvent).toMatch(/^event: cut_off\ndata: /);
    expect(JSON.parse(lastEvent.split('data: ')[1]!)).toMatchObject({ reason: 'SLOW_CLIENT', lastSeq: ids.at(-1) });
    expect(order.id).toBeTruthy();
  });

  it('ends an open stream whose key is revoked, before it sends another event', async () => {
    const alice = await anAccount();
    await place(alice);
    const issued = (
      await app.inject({ method: 'POST', url: `/v1/ops/accounts/${alice.accountId}/keys`, headers: ops })
    ).json<{ keyId: string; apiKey: string }>();
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      `GET /v1/events HTTP/1.0\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${issued.apiKey}\r\n\r\n`,
    );
    const deadline = Date.now() + 10_000;
    while (!/^id: 1$/m.test(received)) {
      if (Date.now() > deadline) throw new Error(`the stream never sent its first event: ${received}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/v1/ops/accounts/${alice.accountId}/keys/${issued.keyId}`,
      headers: ops,
    });
    expect(revoked.statusCode).toBe(204);
    // A new event on the account wakes the stream: it must not be sent on the revoked key.
    await place(alice);
    await closed;
    expect([...received.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]))).toEqual([1]);
    const lastEvent = received.trimEnd().split('\n\n').at(-1)!;
    expect(lastEvent).toMatch(/^event: cut_off\ndata: /);
    expect(JSON.parse(lastEvent.split('data: ')[1]!)).toMatchObject({ reason: 'KEY_REVOKED', lastSeq: 1 });
    // The key that was not revoked still reads both events.
    expect((await allPages(alice.headers)).map((event) => (event as { seq: number }).seq)).toEqual([1, 2]);
  });

  it('streams alarms and parked messages to the operations side, not ignored duplicates', async () => {
    const alice = await anAccount();
    const order = await place(alice, '1');
    const only = fill('1');
    await apply(order.id, ack(order.id), only);
    await apply(order.id, only); // a duplicate: ignored, no alarm
    await apply(order.id, fill('1')); // a fill on a filled order: an alarm
    const page = (await app.inject({ method: 'GET', url: '/v1/ops/events?since=0', headers: ops })).json<{
      events: Array<{ seq: number; type: string; kind: string; orderId: string }>;
    }>();
    const mine = page.events.filter((event) => event.orderId === order.id);
    expect(mine.map((event) => [event.type, event.kind])).toEqual([['alarm', 'FILL_ON_FINAL_ORDER']]);
    const client = new EventClient(`${url}/v1/ops/events`, TEST_OPS_KEY, ['alarm', 'parked']);
    try {
      await client.waitFor((events) => events.length === page.events.length);
      await apply(order.id, fill('1'));
      await client.waitFor((events) => events.length === page.events.length + 1);
      const ids = client.events.map((event: ReceivedEvent) => Number(event.id));
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    } finally {
      client.close();
    }
  });
});
