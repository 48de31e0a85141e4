import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessBus, silentLogger, type BusMessage } from '../../../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { BrokerClient } from '../../client/broker-client.ts';
import { EXECUTIONS_TOPIC, ExecutionReport } from '../../executions/execution-report.schemas.ts';
import { ensureExecutionsTopic } from '../../executions/executions.topic.ts';
import { createFillReceiverApp } from '../../fill-receiver/fill-receiver.app.ts';
import { openSequenceGaps } from '../../fill-receiver/fill-receiver.repository.ts';
import { acceleratedClock } from '../market/clock.ts';
import { anOrderRequest, TEST_BROKER_API_KEY, TEST_FILL_RECEIVER_SECRET } from '../testing/broker-harness.ts';
import { startBroker, type RunningBroker } from './broker.runner.ts';

/** The broker and the fill receiver running on their own, through an accelerated trading day. */
describe('a whole accelerated day, broker loops running', () => {
  let db: TestDatabase;
  let bus: InProcessBus;
  let broker: RunningBroker;
  let closeReceiver: () => Promise<void>;
  const messages: BusMessage[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    bus = new InProcessBus(3);
    await ensureExecutionsTopic(bus, 3);
    await bus.consume({
      groupId: 'reader',
      topics: [EXECUTIONS_TOPIC],
      handleBatch: async (batch) => void messages.push(...batch),
    });
    const receiver = createFillReceiverApp({
      bus,
      pool: db.pool,
      logger: silentLogger,
      secret: TEST_FILL_RECEIVER_SECRET,
    });
    const receiverUrl = await receiver.listen({ port: 0, host: '127.0.0.1' });
    closeReceiver = () => receiver.close();
    broker = await startBroker({
      pool: db.pool,
      config: {
        SIM_SEED: 4,
        BROKER_LATENCY_MS: { min: 0, max: 2 },
        BROKER_FAULTS: {
          probabilities: {
            ack_timeout: 0,
            duplicate: 0.2,
            reorder: 0.2,
            drop_report: 0,
            reject: 0,
            partial: 0.5,
            outage: 0,
          },
          outageWindows: [],
          bustAfter: null,
        },
      },
      clock: acceleratedClock({ tradingDate: '2026-11-24', daySeconds: 4 }),
      fillReceiverUrl: receiverUrl,
      fillReceiverSecret: TEST_FILL_RECEIVER_SECRET,
      apiKey: TEST_BROKER_API_KEY,
      tickMs: 20,
      reorderHoldMs: 50,
    });
  });

  afterAll(async () => {
    await broker.close();
    await closeReceiver();
    await bus.close();
    await db.drop();
  });

  it('fills at the open, expires day orders at their close, and delivers every report', async () => {
    const client = new BrokerClient({ baseUrl: broker.url, apiKey: TEST_BROKER_API_KEY });
    expect((await client.getClock()).session).toBe('pre');
    const market = await client.submitOrder(anOrderRequest({ quantity: '4' }));
    const day = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '1.00' }));
    const extended = await client.submitOrder(
      anOrderRequest({ type: 'limit', limitPrice: '1.00', extendedHours: true }),
    );
    const gtc = await client.submitOrder(anOrderRequest({ type: 'limit', limitPrice: '1.00', timeInForce: 'gtc' }));

    const until = Date.now() + 30_000;
    while ((await client.getClock()).now < '2026-11-25T01:00:00.000Z' || (await broker.pendingDeliveries()) > 0) {
      if (Date.now() > until) throw new Error('the day did not end');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const status = async (id: string) => (await client.getOrder(id)).status;
    expect(await status(market.brokerOrderId)).toBe('filled');
    expect(await status(day.brokerOrderId)).toBe('expired');
    expect(await status(extended.brokerOrderId)).toBe('expired');
    expect(await status(gtc.brokerOrderId)).toBe('new');
    // The regular-hours day order died at 16:00 New York, well before the end of post-market.
    const expiredAt = (await client.getOrder(day.brokerOrderId)).updatedAt;
    expect(expiredAt >= '2026-11-24T21:00:00.000Z' && expiredAt < '2026-11-25T01:00:00.000Z').toBe(true);

    const onBus = new Set(messages.map((m) => ExecutionReport.parse(JSON.parse(m.value)).execId));
    const { rows } = await db.pool.query<{ exec_id: string }>('SELECT exec_id FROM broker_executions');
    expect(onBus).toEqual(new Set(rows.map((r) => r.exec_id)));
    expect(await openSequenceGaps(db.pool)).toEqual([]);
  });
});
