import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus, BusMessage, OutgoingMessage, Subscription } from '../../platform/index.ts';
import { silentLogger } from '../../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import { newKafkaBus, uniqueName } from '../../test/support/kafka.ts';
import { ExecutionReport } from '../executions/execution-report.schemas.ts';
import { ensureExecutionsTopic } from '../executions/executions.topic.ts';
import { aBroker, anOrderRequest, TEST_FILL_RECEIVER_SECRET } from '../simulator/testing/broker-harness.ts';
import { createFillReceiverApp, MAX_BATCH, REPORTS_PATH } from './fill-receiver.app.ts';
import { allSequenceGaps, openSequenceGaps } from './fill-receiver.repository.ts';
import { SIGNATURE_HEADER, signPush, TIMESTAMP_HEADER } from './push-signature.ts';

/** A bus that can be taken down: publishes fail (after a while, as a client giving up would) until it is back. */
class FlakyBus implements Bus {
  readonly kind = 'kafka' as const;
  down = false;
  /** Publishes wait (as a client stuck on a dead leader would) until the bus is back, then go through. */
  hanging = false;
  private resume: (() => void)[] = [];
  failedPublishes = 0;
  heldPublishes = 0;
  private readonly real: Bus;
  constructor(real: Bus) {
    this.real = real;
  }
  ensureTopics: Bus['ensureTopics'] = (topics) => this.real.ensureTopics(topics);
  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.hanging) {
      this.heldPublishes++;
      await new Promise<void>((resolve) => this.resume.push(resolve));
    }
    if (this.down) {
      this.failedPublishes++;
      await new Promise((resolve) => setTimeout(resolve, 100));
      throw new Error('KafkaJSConnectionError: connect ECONNREFUSED');
    }
    return this.real.publish(topic, messages);
  }
  release() {
    this.hanging = false;
    for (const resume of this.resume.splice(0)) resume();
  }
  consume: Bus['consume'] = (options) => this.real.consume(options);
  isHealthy = async () => !this.down;
  close = () => this.real.close();
}

let db: TestDatabase;
let kafka: Bus;
let flaky: FlakyBus;
let topic: string;
let receiverUrl: string;
let closeReceiver: () => Promise<void>;
const consumed: BusMessage[] = [];
let subscription: Subscription;

beforeAll(async () => {
  db = await createTestDatabase();
  kafka = newKafkaBus('fill-receiver-test');
  flaky = new FlakyBus(kafka);
  topic = uniqueName('executions');
  await ensureExecutionsTopic(kafka, 3, topic);
  const app = createFillReceiverApp({
    bus: flaky,
    pool: db.pool,
    logger: silentLogger,
    topic,
    secret: TEST_FILL_RECEIVER_SECRET,
  });
  receiverUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  closeReceiver = () => app.close();
  subscription = await kafka.consume({
    groupId: uniqueName('reader'),
    topics: [topic],
    handleBatch: async (messages) => {
      consumed.push(...messages);
    },
  });
});

afterAll(async () => {
  await subscription.stop();
  await closeReceiver();
  await kafka.close();
  await db.drop();
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Posts as the broker does: signed with the shared secret, now. */
function post(body: unknown, raw = false) {
  const text = raw ? (body as string) : JSON.stringify(body);
  return postSigned(text, signPush(TEST_FILL_RECEIVER_SECRET, text, Date.now()));
}

function postSigned(body: string, headers: Record<string, string>) {
  return fetch(new URL(REPORTS_PATH, receiverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

/** The refusal counter, per reason, as /metrics shows it. */
async function refusedPushes(): Promise<Record<string, number>> {
  const text = await (await fetch(new URL('/metrics', receiverUrl))).text();
  const counts: Record<string, number> = {};
  for (const [, reason, value] of text.matchAll(/^fill_receiver_refused_pushes_total\{reason="(\w+)"\} (\d+)$/gm)) {
    counts[reason!] = Number(value);
  }
  return counts;
}

function aReport(sequence: number, overrides: Record<string, unknown> = {}) {
  return {
    execId: `x-${topic}-${sequence}`,
    brokerOrderId: 'b-1',
    clientOrderId: 'c-1',
    account: 'acc-7',
    symbol: 'AAPL',
    side: 'buy',
    execType: 'new',
    orderStatus: 'new',
    lastQuantity: '0',
    lastPrice: '0',
    cumulativeQuantity: '0',
    leavesQuantity: '1',
    averagePrice: '0',
    orderQuantity: '1',
    rejectReason: null,
    transactTime: '2026-11-24T15:00:00.000Z',
    sequence,
    ...overrides,
  };
}

const consumedExecIds = () => consumed.map((m) => (JSON.parse(m.value) as ExecutionReport).execId);

describe('the fill receiver on real Kafka', () => {
  it('publishes a valid report keyed by account, as the validated report, before answering 200', async () => {
    const response = await post(aReport(1));
    expect(response.status).toBe(200);
    await waitFor(() => consumedExecIds().includes(`x-${topic}-1`));
    const message = consumed.find((m) => m.value.includes(`x-${topic}-1`))!;
    expect(message.key).toBe('acc-7');
    expect(ExecutionReport.parse(JSON.parse(message.value))).toEqual(JSON.parse(message.value));
  });

  it('refuses malformed reports with 400, publishes nothing, and keeps serving', async () => {
    const before = consumed.length;
    for (const bad of [
      aReport(50, { lastQuantity: 1 }),
      aReport(51, { account: '' }),
      { hello: 'world' },
      aReport(52, { execType: 'trade' }),
    ]) {
      expect((await post(bad)).status).toBe(400);
    }
    const notJson = await post('{"execId": ', true);
    expect(notJson.status).toBe(400);
    expect((await post(aReport(2))).status).toBe(200);
    await waitFor(() => consumedExecIds().includes(`x-${topic}-2`));
    expect(consumed.slice(before).map((m) => (JSON.parse(m.value) as ExecutionReport).sequence)).toEqual([2]);
  });

  it('records a sequence gap, and closes it when the late report arrives', async () => {
    expect((await post(aReport(5))).status).toBe(200);
    expect((await openSequenceGaps(db.pool)).map((g) => g.sequence)).toEqual([3, 4]);
    expect((await post(aReport(4))).status).toBe(200);
    expect((await post(aReport(4))).status).toBe(200); // a duplicate changes nothing
    expect((await openSequenceGaps(db.pool)).map((g) => g.sequence)).toEqual([3]);
    expect((await allSequenceGaps(db.pool)).find((g) => g.sequence === 4)?.filledAt).toBeInstanceOf(Date);
  });

  it('answers 503 while the bus is down, so the broker retries; nothing is lost and nothing acknowledged early', async () => {
    // A broker on its own database, so its sequence numbers start at 1 again only in its own books.
    const brokerDb = await createTestDatabase();
    const h = await aBroker(brokerDb.pool, { fillReceiverUrl: receiverUrl, pushTimeoutMs: 2_000 });
    try {
      flaky.down = true;
      await h.client.submitOrder(anOrderRequest({ clientOrderId: `${topic}-a`, account: 'acc-9' }));
      await h.client.submitOrder(anOrderRequest({ clientOrderId: `${topic}-b`, account: 'acc-9' }));
      const attempt = await h.broker.pushDue();
      expect(attempt).toEqual({ delivered: 0, failed: true });
      expect(flaky.failedPublishes).toBeGreaterThan(0);
      const { rows: owed } = await brokerDb.pool.query<{ n: number; tried: number }>(
        'SELECT count(*)::int AS n, max(attempts) AS tried FROM broker_deliveries WHERE delivered_at IS NULL',
      );
      expect(owed[0]).toEqual({ n: 4, tried: 1 });
      expect(consumed.filter((m) => m.key === 'acc-9')).toEqual([]);

      flaky.down = false;
      await h.pushAll();
      const { rows } = await brokerDb.pool.query<{ exec_id: string }>(
        'SELECT exec_id FROM broker_executions ORDER BY sequence',
      );
      const expected = rows.map((r) => r.exec_id);
      await waitFor(() => expected.every((id) => consumedExecIds().includes(id)));
      const forAccount = consumed
        .filter((m) => m.key === 'acc-9')
        .map((m) => (JSON.parse(m.value) as ExecutionReport).execId);
      expect(forAccount).toEqual(expected);
    } finally {
      await h.close();
      await brokerDb.drop();
    }
  });

  it('keeps a push that hangs on the bus unacknowledged; the retry and the late publish only duplicate it', async () => {
    const brokerDb = await createTestDatabase();
    const h = await aBroker(brokerDb.pool, { fillReceiverUrl: receiverUrl, pushTimeoutMs: 300 });
    try {
      flaky.hanging = true;
      await h.client.submitOrder(anOrderRequest({ clientOrderId: `${topic}-h`, account: 'acc-h' }));
      expect(await h.broker.pushDue()).toEqual({ delivered: 0, failed: true });
      h.advanceRealTime(5_000);
      expect(await h.broker.pushDue()).toEqual({ delivered: 0, failed: true });
      expect(flaky.heldPublishes).toBe(2);
      const { rows: owed } = await brokerDb.pool.query<{ n: number; tried: number }>(
        'SELECT count(*)::int AS n, max(attempts) AS tried FROM broker_deliveries WHERE delivered_at IS NULL',
      );
      expect(owed[0]).toEqual({ n: 2, tried: 2 });

      flaky.release();
      await h.pushAll();
      const { rows } = await brokerDb.pool.query<{ exec_id: string }>(
        'SELECT exec_id FROM broker_executions ORDER BY sequence',
      );
      const expected = rows.map((r) => r.exec_id);
      const forAccount = () =>
        consumed.filter((m) => m.key === 'acc-h').map((m) => (JSON.parse(m.value) as ExecutionReport).execId);
      // The released publishes land when they land: wait for the duplicate as well as for every report.
      await waitFor(
        () =>
          expected.every((id) => consumedExecIds().includes(id)) &&
          forAccount().filter((id) => id === expected[0]).length >= 2,
      );
      // The first report was published by both held attempts and by the acknowledged retry.
      expect(new Set(forAccount())).toEqual(new Set(expected));
    } finally {
      await h.close();
      await brokerDb.drop();
    }
  });

  describe('a batch of reports', () => {
    const execIdsOf = (messages: BusMessage[]) => messages.map((m) => (JSON.parse(m.value) as ExecutionReport).execId);

    it('goes to the bus in the order sent, keyed by account, with one result per report', async () => {
      const before = consumed.length;
      const batch = [
        aReport(201, { account: 'acc-b1' }),
        aReport(202, { account: 'acc-b2' }),
        aReport(203, { account: 'acc-b1' }),
      ];
      const response = await post(batch);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ results: batch.map((r) => ({ execId: r.execId, status: 'accepted' })) });
      await waitFor(() => consumed.length >= before + 3);
      const forB1 = consumed.slice(before).filter((m) => m.key === 'acc-b1');
      expect(execIdsOf(forB1)).toEqual([batch[0]!.execId, batch[2]!.execId]);
    });

    it('refuses only its malformed reports and publishes the rest', async () => {
      const before = consumed.length;
      const response = await post([aReport(211), aReport(212, { lastQuantity: 1 }), 'junk', aReport(213)]);
      expect(response.status).toBe(200);
      const { results } = (await response.json()) as {
        results: { execId: string | null; status: string; details?: unknown[] }[];
      };
      expect(results.map((r) => r.status)).toEqual(['accepted', 'refused', 'refused', 'accepted']);
      expect(results[1]!.execId).toBe(`x-${topic}-212`);
      expect(results[1]!.details!.length).toBeGreaterThan(0);
      expect(results[2]!.execId).toBeNull();
      await waitFor(() => consumed.length >= before + 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(consumed.slice(before).map((m) => (JSON.parse(m.value) as ExecutionReport).sequence)).toEqual([211, 213]);
    });

    it('records gaps and fills them across a batch, as one report at a time would', async () => {
      expect((await post([aReport(301), aReport(305), aReport(303)])).status).toBe(200);
      expect((await openSequenceGaps(db.pool)).map((g) => g.sequence).filter((n) => n >= 301)).toEqual([302, 304]);
      // A duplicate in the same batch is harmless.
      expect((await post([aReport(304), aReport(304), aReport(302)])).status).toBe(200);
      expect((await openSequenceGaps(db.pool)).map((g) => g.sequence).filter((n) => n >= 301)).toEqual([]);
    });

    it('answers 503 for the whole batch while the bus is down, and records nothing as received', async () => {
      flaky.down = true;
      try {
        expect((await post([aReport(401), aReport(402)])).status).toBe(503);
      } finally {
        flaky.down = false;
      }
      const { rows } = await db.pool.query('SELECT sequence FROM fill_receiver_received WHERE sequence IN (401, 402)');
      expect(rows).toEqual([]);
    });

    it('refuses a batch over the limit with 400 and publishes none of it', async () => {
      const before = consumed.length;
      const tooMany = Array.from({ length: MAX_BATCH + 1 }, (_, i) => aReport(1_000 + i));
      expect((await post(tooMany)).status).toBe(400);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(consumed.length).toBe(before);
    });
  });
});

describe('pushes not signed by the broker', () => {
  const FIVE_MINUTES = 300_000;
  const forgedSecret = 'not-the-broker-secret-0123456789abcdefghij';

  /**
   * Every way a stranger can push, each with a report that would be taken if the broker had signed it,
   * for an account of its own, so nothing else on the topic can be mistaken for it.
   */
  function attempts(account: string) {
    const report = (sequence: number) =>
      JSON.stringify(aReport(sequence, { account, execId: `${account}-${sequence}` }));
    const now = Date.now();
    const genuine = report(901);
    const tampered = JSON.stringify({ ...aReport(906, { account, execId: `${account}-906` }), lastPrice: '500.00' });
    const signedThenTampered = signPush(TEST_FILL_RECEIVER_SECRET, report(906), now);
    return {
      unsigned: { body: report(902), headers: {}, reason: 'unsigned' },
      forged: { body: report(903), headers: signPush(forgedSecret, report(903), now), reason: 'mismatch' },
      stale: {
        body: report(904),
        headers: signPush(TEST_FILL_RECEIVER_SECRET, report(904), now - FIVE_MINUTES - 10_000),
        reason: 'stale',
      },
      future: {
        body: report(905),
        headers: signPush(TEST_FILL_RECEIVER_SECRET, report(905), now + FIVE_MINUTES + 10_000),
        reason: 'future',
      },
      tampered: { body: tampered, headers: signedThenTampered, reason: 'mismatch' },
      // A genuine signature of other bytes, or the genuine one with a fresh timestamp swapped in.
      replayedOnOtherBody: {
        body: report(907),
        headers: signPush(TEST_FILL_RECEIVER_SECRET, genuine, now),
        reason: 'mismatch',
      },
      retimed: {
        body: report(908),
        headers: {
          ...signPush(TEST_FILL_RECEIVER_SECRET, report(908), now - FIVE_MINUTES - 10_000),
          [TIMESTAMP_HEADER]: String(Math.floor(now / 1000)),
        },
        reason: 'mismatch',
      },
      malformed: {
        body: report(909),
        headers: { [TIMESTAMP_HEADER]: 'yesterday', [SIGNATURE_HEADER]: 'trust me' },
        reason: 'malformed',
      },
      halfSigned: {
        body: report(910),
        headers: { [SIGNATURE_HEADER]: signPush(TEST_FILL_RECEIVER_SECRET, report(910), now)[SIGNATURE_HEADER]! },
        reason: 'malformed',
      },
    };
  }

  it('refuses each with 401, counts it by reason, publishes nothing and records nothing', async () => {
    const account = uniqueName('stranger');
    const before = await refusedPushes();
    const expectedCounts: Record<string, number> = {};
    for (const [name, attempt] of Object.entries(attempts(account))) {
      const response = await postSigned(attempt.body, attempt.headers);
      expect({ name, status: response.status }).toEqual({ name, status: 401 });
      expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expectedCounts[attempt.reason] = (expectedCounts[attempt.reason] ?? 0) + 1;
    }
    const after = await refusedPushes();
    for (const [reason, n] of Object.entries(expectedCounts)) expect(after[reason]! - (before[reason] ?? 0)).toBe(n);

    // The broker's own push for the same account goes through; the topic keeps one account's
    // messages in order, so once it is consumed, anything published before it would have been too.
    expect((await post(aReport(911, { account, execId: `${account}-911` }))).status).toBe(200);
    await waitFor(() => consumed.some((m) => m.key === account));
    expect(
      consumed.filter((m) => m.key === account).map((m) => (JSON.parse(m.value) as ExecutionReport).execId),
    ).toEqual([`${account}-911`]);
    const { rows } = await db.pool.query<{ sequence: string }>(
      'SELECT sequence FROM fill_receiver_received WHERE sequence BETWEEN 902 AND 910',
    );
    expect(rows).toEqual([]);
  });

  it('takes a push signed within the five minutes either way', async () => {
    const account = uniqueName('early-late');
    for (const [sequence, skew] of [
      [921, -FIVE_MINUTES + 10_000],
      [922, FIVE_MINUTES - 10_000],
    ] as const) {
      const body = JSON.stringify(aReport(sequence, { account, execId: `${account}-${sequence}` }));
      expect((await postSigned(body, signPush(TEST_FILL_RECEIVER_SECRET, body, Date.now() + skew))).status).toBe(200);
    }
    await waitFor(() => consumed.filter((m) => m.key === account).length === 2);
  });

  it('refuses before parsing: an unsigned or forged body that is not even JSON is a 401, not a 400', async () => {
    const junk = '{"execId": ';
    expect((await postSigned(junk, {})).status).toBe(401);
    expect((await postSigned(junk, signPush(forgedSecret, junk, Date.now()))).status).toBe(401);
    // Without a content type, or with another one, the answer is the same.
    const plain = await fetch(new URL(REPORTS_PATH, receiverUrl), { method: 'POST', body: junk });
    expect(plain.status).toBe(401);
    // Signed, the same bytes reach the parser, which refuses them as what they are.
    expect((await post(junk, true)).status).toBe(400);
  });
});
