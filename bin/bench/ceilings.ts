import Fastify from 'fastify';
import { Kafka, logLevel } from 'kafkajs';
import { withTransaction, type Pool } from '../../platform/index.ts';
import { closedLoop, percentiles, postJson, round, type LoadResult, type Percentiles } from './measure.ts';
import { BARE_INSERT, CREATE_BARE_INSERT_TABLE } from './bench.sql.ts';

/*
 * What this machine allows, measured in the same run as the system and with the same concurrency,
 * so that each of the system's figures can be read as a share of its ceiling.
 */

/** One-row INSERT transactions (BEGIN, INSERT, COMMIT) from `workers` connections. */
export async function bareInsertCeiling(pool: Pool, workers: number, seconds: number): Promise<LoadResult> {
  await pool.query(CREATE_BARE_INSERT_TABLE);
  return closedLoop(workers, seconds, async () => {
    await withTransaction(pool, (tx) => tx.query(BARE_INSERT, ['x']));
    return true;
  });
}

/** A fastify route that does nothing, called over real HTTP by the client code that places orders. */
export async function emptyRouteCeiling(workers: number, seconds: number, body: unknown): Promise<LoadResult> {
  const app = Fastify({ logger: false });
  app.post('/noop', async () => ({}));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    return await closedLoop(workers, seconds, async () => (await postJson(`${url}/noop`, body)).status === 200);
  } finally {
    await app.close();
  }
}

export interface KafkaRoundTrip {
  rate: number;
  completed: number;
  latencyMs: Percentiles;
}

/**
 * kafkajs produce (acks from all in-sync replicas, as the bus publishes) and consume: each of
 * `workers` loops sends one message and waits until the consumer has it, then sends the next.
 */
export async function kafkaRoundTripCeiling(
  brokers: string[],
  topic: string,
  workers: number,
  seconds: number,
): Promise<KafkaRoundTrip> {
  const kafka = new Kafka({ brokers, clientId: 'bench-ceiling', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100 });
  const waiting = new Map<string, () => void>();
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = message.value?.toString() ?? '';
      waiting.get(id)?.();
      waiting.delete(id);
    },
  });
  try {
    let next = 0;
    const result = await closedLoop(
      workers,
      seconds,
      async (worker) => {
        const id = `${worker}-${next++}`;
        const seen = new Promise<void>((resolve) => waiting.set(id, resolve));
        await producer.send({ topic, acks: -1, messages: [{ key: String(worker), value: id }] });
        await seen;
        return true;
      },
      3_000,
    );
    return { rate: round(result.rate), completed: result.completed, latencyMs: result.latencyMs };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

export { percentiles };
