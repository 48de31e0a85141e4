import Fastify from 'fastify';
import { FAULT_KINDS, type ClockWindow, type FaultProbabilities, type Pool } from '../../../platform/index.ts';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../broker/broker.runner.ts';
import { BrokerClient } from '../../client/broker-client.ts';
import type { ExecutionReport } from '../../executions/execution-report.schemas.ts';
import { REPORTS_PATH, type BatchResult } from '../../fill-receiver/fill-receiver.app.ts';
import { manualClock, type ManualClock } from '../market/clock.ts';

/** A Tuesday, 10:00 New York: regular hours. */
export const TUESDAY_10AM = new Date('2026-11-24T15:00:00Z');
export const TRADE_DATE = '2026-11-24';
/** The broker's credentials in tests: its API key, and the key it signs pushes with. */
export const TEST_BROKER_API_KEY = 'brk_test_key_0123456789abcdef';
export const TEST_FILL_RECEIVER_SECRET = 'test-fill-receiver-secret-0123456789abcdef';

/**
 * Stands in for the fill receiver: records what the broker pushes (a batch, or one report), and can
 * fail the next pushes (503) or refuse the next reports as malformed (400 for one, `refused` in a batch).
 */
export async function captureReceiver() {
  const received: ExecutionReport[] = [];
  let failPushes = 0;
  let refuseReports = 0;
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  app.post(REPORTS_PATH, async (request, reply) => {
    if (failPushes > 0) {
      failPushes--;
      return reply.status(503).send({ error: { code: 'BUS_UNAVAILABLE' } });
    }
    const take = (report: ExecutionReport): BatchResult => {
      if (refuseReports > 0) {
        refuseReports--;
        return { execId: report.execId, status: 'refused' };
      }
      received.push(report);
      return { execId: report.execId, status: 'accepted' };
    };
    if (Array.isArray(request.body)) return { results: (request.body as ExecutionReport[]).map(take) };
    const result = take(request.body as ExecutionReport);
    return result.status === 'accepted'
      ? { ok: true }
      : reply.status(400).send({ error: { code: 'VALIDATION_FAILED' } });
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    received,
    /** The next `n` pushes fail as a whole (503): nothing in them is acknowledged. */
    failNextPushes: (n: number) => {
      failPushes = n;
    },
    /** The next `n` reports are refused as malformed. */
    refuseNextReports: (n: number) => {
      refuseReports = n;
    },
    close: () => app.close(),
  };
}

export interface HarnessOptions extends Partial<Omit<StartBrokerOptions, 'pool' | 'config' | 'clock'>> {
  faults?: Partial<FaultProbabilities>;
  /** `outage=HH:MM-HH:MM` windows of the market clock, in minutes past midnight New York. */
  outageWindows?: ClockWindow[];
  seed?: number;
  start?: Date;
  latencyMs?: { min: number; max: number };
  fillReceiverUrl?: string;
}

/** A broker on a manual clock and a manual real time, with no background loops: the test drives it. */
export async function aBroker(pool: Pool, options: HarnessOptions = {}) {
  const receiver = options.fillReceiverUrl ? undefined : await captureReceiver();
  const clock: ManualClock = manualClock(options.start ?? TUESDAY_10AM);
  let realMs = Date.now();
  const faults = Object.fromEntries(
    FAULT_KINDS.map((kind) => [kind, options.faults?.[kind] ?? 0]),
  ) as FaultProbabilities;
  const broker: RunningBroker = await startBroker({
    autoRun: false,
    realNow: () => realMs,
    ...options,
    pool,
    clock,
    config: {
      BROKER_FAULTS: { probabilities: faults, outageWindows: options.outageWindows ?? [], bustAfter: null },
      BROKER_LATENCY_MS: options.latencyMs ?? { min: 0, max: 0 },
      SIM_SEED: options.seed ?? 1,
    },
    fillReceiverUrl: options.fillReceiverUrl ?? receiver!.url,
    fillReceiverSecret: options.fillReceiverSecret ?? TEST_FILL_RECEIVER_SECRET,
    apiKey: options.apiKey ?? TEST_BROKER_API_KEY,
  });
  const client = new BrokerClient({
    baseUrl: broker.url,
    apiKey: options.apiKey ?? TEST_BROKER_API_KEY,
    timeoutMs: 10_000,
  });
  return {
    broker,
    client,
    clock,
    receiver,
    advanceRealTime: (ms: number) => {
      realMs += ms;
    },
    /** Pushes until nothing is owed: what is due now first, then what was held back or backed off. */
    pushAll: async (maxRounds = 50) => {
      for (let round = 0; round < maxRounds; round++) {
        await broker.pushDue();
        if ((await broker.pendingDeliveries()) === 0) return;
        realMs += 5_000;
      }
      throw new Error('reports still pending after pushing');
    },
    close: async () => {
      await broker.close();
      await receiver?.close();
    },
  };
}

export function anOrderRequest(overrides: Record<string, unknown> = {}) {
  return {
    clientOrderId: `c-${Math.random().toString(36).slice(2, 12)}`,
    account: 'acc-1',
    symbol: 'AAPL',
    side: 'buy' as const,
    type: 'market' as const,
    quantity: '10',
    timeInForce: 'day' as const,
    extendedHours: false,
    ...overrides,
  };
}
