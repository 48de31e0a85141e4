import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXECUTIONS_TOPIC, ensureExecutionsTopic, type ExecutionReport } from '../../broker-adapter/index.ts';
import { checkLedgerInvariants, createLedger } from '../../ledger/index.ts';
import { KafkaBus, silentLogger, type BusMessage } from '../../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { kafkaBrokers, uniqueName } from '../../test/support/kafka.ts';
import { buildTestApp, fixedMarketData, TEST_OPS_KEY } from '../../test/support/trading-app.ts';
import { createExecutionConsumer, type ExecutionConsumer } from '../executions/execution.consumer.ts';
import type { App } from '../index.ts';
import { createOrderService } from '../orders/order.service.ts';
import { unsentSubmits } from '../requests/unsent-submits.ts';
import { DEFAULT_MAX_ATTEMPTS } from './dead-letter.repository.ts';

interface ParkedView {
  id: string;
  topic: string;
  key: string;
  value: string;
  error: string;
  attempts: number;
  status: string;
}

/**
 * Poison messages on real Kafka and PostgreSQL: a report that fails for a reason that is not the
 * domain's (a write PostgreSQL refuses) is tried a bounded number of times, parked with its error,
 * and the reports behind it on its partition are applied; an operator lists it and, after a fix,
 * replays it, and it is applied once.
 */
describe('poison messages on the executions topic', () => {
  let db: TestDatabase;
  let bus: KafkaBus;
  let app: App;
  let consumer: ExecutionConsumer;
  const parked: BusMessage[] = [];
  let sequence = 0;
  const ops = { authorization: `Bearer ${TEST_OPS_KEY}` };

  beforeAll(async () => {
    db = await createTestDatabase();
    bus = new KafkaBus({
      brokers: kafkaBrokers(),
      clientId: 'poison',
      logger: silentLogger,
      namespace: uniqueName('poison'),
    });
    await ensureExecutionsTopic(bus, 2);
    const marketData = fixedMarketData();
    app = await buildTestApp(db, { marketData, bus });
    const orders = createOrderService({
      pool: db.pool,
      ledger: createLedger({ commissionBps: 10 }),
      marketData,
      logger: silentLogger,
      unsentSubmits,
    });
    consumer = createExecutionConsumer({
      pool: db.pool,
      bus,
      orders,
      logger: silentLogger,
      onParked: (message) => parked.push(message),
    });
    await consumer.start();
  });
  afterAll(async () => {
    await consumer.stop();
    await app.close();
    await bus.close();
    await db.drop();
  });

  async function anAccount() {
    const created = (
      await app.inject({ method: 'POST', url: '/v1/ops/accounts', headers: ops, payload: { name: 'p' } })
    ).json<{ accountId: string; apiKey: string }>();
    await app.inject({
      method: 'POST',
      url: `/v1/ops/accounts/${created.accountId}/deposits`,
      headers: ops,
      payload: { amount: '10000.00', currency: 'USD' },
    });
    return { accountId: created.accountId, headers: { authorization: `Bearer ${created.apiKey}` } };
  }

  async function anOrder(account: Awaited<ReturnType<typeof anAccount>>) {
    const order = (
      await app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: account.headers,
        payload: {
          clientOrderId: `p-${sequence++}`,
          symbol: 'AAPL',
          side: 'buy',
          type: 'limit',
          quantity: '10',
          limitPrice: '187.25',
        },
      })
    ).json<{ id: string; accountId: string }>();
    return { ...order, headers: account.headers };
  }

  function aReport(order: { id: string; accountId: string }, fields: Partial<ExecutionReport>): ExecutionReport {
    sequence++;
    return {
      execId: `P-${sequence}`,
      brokerOrderId: `B-${order.id}`,
      clientOrderId: order.id,
      account: order.accountId,
      symbol: 'AAPL',
      side: 'buy',
      execType: 'new',
      orderStatus: 'new',
      lastQuantity: '0',
      lastPrice: '0',
      cumulativeQuantity: '0',
      leavesQuantity: '10',
      averagePrice: '0',
      orderQuantity: '10',
      rejectReason: null,
      transactTime: '2026-11-25T15:00:00.000Z',
      sequence,
      ...fields,
    };
  }

  const trade = (order: { id: string; accountId: string }, execId: string) =>
    aReport(order, {
      execId,
      execType: 'trade',
      orderStatus: 'partially_filled',
      lastQuantity: '4',
      lastPrice: '187.20',
      cumulativeQuantity: '4',
      leavesQuantity: '6',
      averagePrice: '187.20',
    });

  const publish = (reports: ExecutionReport[]) =>
    bus.publish(
      EXECUTIONS_TOPIC,
      reports.map((report) => ({ key: report.account, value: JSON.stringify(report) })),
    );

  async function orderView(order: { id: string; headers: Record<string, string> }) {
    return (await app.inject({ method: 'GET', url: `/v1/orders/${order.id}`, headers: order.headers })).json<{
      status: string;
      filledQuantity: string;
      fills: { execId: string }[];
    }>();
  }

  async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const listParked = async (query = '') =>
    (await app.inject({ method: 'GET', url: `/v1/ops/parked${query}`, headers: ops })).json<{
      messages: ParkedView[];
    }>().messages;

  it('parks a report PostgreSQL cannot store (a NUL in its reason) within the bound, and its partition moves on', async () => {
    const account = await anAccount();
    const [poisoned, behind] = [await anOrder(account), await anOrder(account)];
    // Valid by the schema; the order's row and its jsonb snapshot cannot hold a NUL character.
    const poison = aReport(poisoned, {
      execType: 'rejected',
      orderStatus: 'rejected',
      leavesQuantity: '0',
      rejectReason: 'bad\u0000byte',
    });
    await publish([aReport(behind, { execType: 'new' }), poison, trade(behind, 'P-behind-nul')]);

    // The report behind it, same account, same partition, is applied.
    const view = await eventually(
      () => orderView(behind),
      (order) => order.filledQuantity === '4',
    );
    expect(view.fills.map((fill) => fill.execId)).toEqual(['P-behind-nul']);
    const letters = (await listParked()).filter((letter) => letter.key === poisoned.accountId);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ topic: EXECUTIONS_TOPIC, attempts: DEFAULT_MAX_ATTEMPTS, status: 'parked' });
    expect(JSON.parse(letters[0]!.value)).toEqual(poison);
    expect(letters[0]!.error).toMatch(/^\[22/);
    expect((await orderView(poisoned)).status).toBe('pending_new');
    expect(parked.filter((message) => message.key === poisoned.accountId)).toHaveLength(1);
  });

  it('replays a parked report once, after the fix, and refuses a second replay', async () => {
    const account = await anAccount();
    const [broken, behind] = [await anOrder(account), await anOrder(account)];
    // The fault: a write that fails for a reason of the database's, not the domain's.
    await db.pool.query(`
      CREATE FUNCTION refuse_poison_fill() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.exec_id LIKE 'P-poison-%' THEN RAISE EXCEPTION 'storage refused the fill'; END IF;
        RETURN NEW;
      END $$`);
    await db.pool.query(
      'CREATE TRIGGER refuse_poison_fill BEFORE INSERT ON order_fills FOR EACH ROW EXECUTE FUNCTION refuse_poison_fill()',
    );
    await publish([aReport(broken, { execType: 'new' }), trade(broken, 'P-poison-1'), trade(behind, 'P-behind-fill')]);
    await eventually(
      () => orderView(behind),
      (order) => order.filledQuantity === '4',
    );
    const [letter] = (await listParked()).filter((message) => message.key === broken.accountId);
    expect(letter).toMatchObject({ attempts: DEFAULT_MAX_ATTEMPTS, status: 'parked' });
    expect(letter!.error).toContain('storage refused the fill');
    expect((await orderView(broken)).fills).toEqual([]);

    // Unknown and malformed ids, and a stranger, change nothing.
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/ops/parked/00000000-0000-4000-8000-000000000000/replay',
      headers: ops,
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'PARKED_MESSAGE_NOT_FOUND' } });
    expect((await app.inject({ method: 'POST', url: '/v1/ops/parked/nope/replay', headers: ops })).statusCode).toBe(
      404,
    );
    expect((await app.inject({ method: 'POST', url: `/v1/ops/parked/${letter!.id}/replay` })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/ops/parked?status=wrong', headers: ops })).statusCode).toBe(
      400,
    );

    await db.pool.query('DROP TRIGGER refuse_poison_fill ON order_fills');
    const replay = await app.inject({ method: 'POST', url: `/v1/ops/parked/${letter!.id}/replay`, headers: ops });
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toMatchObject({ id: letter!.id, status: 'replayed', replayedBy: 'ops' });
    const again = await app.inject({ method: 'POST', url: `/v1/ops/parked/${letter!.id}/replay`, headers: ops });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'PARKED_MESSAGE_ALREADY_REPLAYED' } });

    const view = await eventually(
      () => orderView(broken),
      (order) => order.fills.length > 0,
    );
    expect(view).toMatchObject({ status: 'partially_filled', filledQuantity: '4' });
    // A second delivery of it (as a redelivery of the original would be) changes nothing: once the
    // report behind it on the partition is applied, it has been seen.
    await publish([
      trade(broken, 'P-poison-1'),
      aReport(behind, {
        ...trade(behind, 'P-behind-2'),
        orderStatus: 'partially_filled',
        cumulativeQuantity: '8',
        leavesQuantity: '2',
      }),
    ]);
    await eventually(
      () => orderView(behind),
      (order) => order.filledQuantity === '8',
    );
    const { rows } = await db.pool.query<{ n: number }>(
      "SELECT (SELECT count(*) FROM order_fills WHERE exec_id = 'P-poison-1')::int + (SELECT count(*) FROM ledger_fills WHERE exec_id = 'P-poison-1')::int AS n",
    );
    expect(rows[0]!.n).toBe(2);
    expect((await listParked()).some((message) => message.id === letter!.id)).toBe(false);
    expect((await listParked('?status=replayed')).map((message) => message.id)).toContain(letter!.id);
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });

  it('moves a parked report that keeps failing to the dead letters without holding up the other parked reports', async () => {
    const account = await anAccount();
    const [stuck, waiting] = [await anOrder(account), await anOrder(account)];
    await db.pool.query(`
      CREATE FUNCTION refuse_sweep_fill() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.exec_id LIKE 'P-sweep-poison-%' THEN RAISE EXCEPTION 'storage refused the parked fill'; END IF;
        RETURN NEW;
      END $$`);
    await db.pool.query(
      'CREATE TRIGGER refuse_sweep_fill BEFORE INSERT ON order_fills FOR EACH ROW EXECUTE FUNCTION refuse_sweep_fill()',
    );
    // Both arrived before their orders were known, so they wait in parked_reports; the first sorts first.
    const poison = trade(stuck, 'P-sweep-poison-1');
    await db.pool.query(
      `INSERT INTO parked_reports (exec_id, order_id, report, parked_at)
       VALUES ($1, $2, $3, now() - interval '1 minute'), ($4, $5, $6, now())`,
      [
        poison.execId,
        stuck.id,
        JSON.stringify(poison),
        'P-sweep-ok',
        waiting.id,
        JSON.stringify(trade(waiting, 'P-sweep-ok')),
      ],
    );
    await eventually(
      () => orderView(waiting),
      (order) => order.filledQuantity === '4',
    );
    const [letter] = await eventually(
      async () => (await listParked()).filter((message) => message.key === stuck.accountId),
      (letters) => letters.length === 1,
    );
    expect(letter).toMatchObject({ attempts: DEFAULT_MAX_ATTEMPTS, status: 'parked' });
    expect(letter!.error).toContain('storage refused the parked fill');
    const { rows } = await db.pool.query('SELECT exec_id FROM parked_reports WHERE exec_id = $1', [poison.execId]);
    expect(rows).toEqual([]);

    await db.pool.query('DROP TRIGGER refuse_sweep_fill ON order_fills');
    const replay = await app.inject({ method: 'POST', url: `/v1/ops/parked/${letter!.id}/replay`, headers: ops });
    expect(replay.statusCode).toBe(202);
    const view = await eventually(
      () => orderView(stuck),
      (order) => order.fills.length > 0,
    );
    expect(view.fills.map((fill) => fill.execId)).toEqual([poison.execId]);
    expect(await checkLedgerInvariants(db.pool)).toEqual([]);
  });
});
