import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../platform/config.ts';
import type { Pool } from '../../../platform/database.ts';
import { silentLogger, type Logger } from '../../../platform/logger.ts';
import { WorkerLoop } from '../../../platform/worker-loop.ts';
import { FaultPlan } from '../faults/fault.rules.ts';
import { realClock, type SimClock } from '../market/clock.ts';
import { PricePath } from '../market/market.domain.ts';
import { createBrokerApp } from './broker.app.ts';
import * as repo from './broker.repository.ts';
import { BrokerService } from './broker.service.ts';
import { ReportPusher } from './report-pusher.ts';

export interface StartBrokerOptions {
  pool: Pool;
  config: Pick<Config, 'BROKER_FAULTS' | 'BROKER_LATENCY_MS' | 'SIM_SEED'>;
  /** Where execution reports go: the fill receiver's base URL (e.g. http://127.0.0.1:3100). */
  fillReceiverUrl: string;
  /** The HMAC key of pushes, shared with the fill receiver (FILL_RECEIVER_SECRET). */
  fillReceiverSecret: string;
  /** The key every caller of the broker's API must present as `Authorization: Bearer` (BROKER_API_KEY). */
  apiKey: string;
  port?: number;
  host?: string;
  clock?: SimClock;
  logger?: Logger;
  /** Real ms between matching passes. */
  tickMs?: number;
  /** Real ms between pushes when nothing was due. */
  pushIntervalMs?: number;
  /** False: no background loops; the caller drives `tick()` and `pushDue()` (tests). */
  autoRun?: boolean;
  /** Prices from this instant on; default: the clock's now at start. */
  priceAnchor?: Date;
  /**
   * The seed of the price path; default SIM_SEED. Brokers on one market quote the same prices: a
   * second simulated broker gets its own seed for faults and fills, and the market's for prices.
   */
  priceSeed?: number;
  volatilityScale?: number;
  replay?: ReadonlyMap<string, readonly string[]>;
  ackTimeoutDelayMs?: number | null;
  outageWindowMs?: number;
  reorderHoldMs?: number;
  pushTimeoutMs?: number;
  realNow?: () => number;
  /**
   * Each authenticated call to the API as it arrives (its body parsed), before any simulated latency
   * or fault: what the broker measures a caller's rate by (tests of the outbound rate limit).
   */
  onCall?: (call: { method: string; path: string; body: unknown; atMs: number }) => void;
  /**
   * The name the system knows this broker by: it pushes to that broker's path of the fill receiver,
   * signed with that broker's key. Unset: the receiver's first path, signed with the secret itself.
   */
  pushAs?: string;
}

export interface RunningBroker {
  url: string;
  app: FastifyInstance;
  service: BrokerService;
  pusher: ReportPusher;
  faults: FaultPlan;
  tick(): Promise<number>;
  pushDue(): Promise<{ delivered: number; failed: boolean }>;
  pendingDeliveries(): Promise<number>;
  close(): Promise<void>;
}

import {
  brokerReportsPath,
  REPORTS_PATH as FILL_RECEIVER_REPORTS_PATH,
} from '../../fill-receiver/fill-receiver.app.ts';
import { brokerPushSecret } from '../../fill-receiver/push-signature.ts';

/** The simulated broker as a service: HTTP API, matching loop and report pusher. */
export async function startBroker(options: StartBrokerOptions): Promise<RunningBroker> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? realClock();
  const realNow = options.realNow ?? Date.now;
  const faults = new FaultPlan({
    seed: options.config.SIM_SEED,
    probabilities: options.config.BROKER_FAULTS.probabilities,
    outageWindows: options.config.BROKER_FAULTS.outageWindows,
    bustAfter: options.config.BROKER_FAULTS.bustAfter,
    latencyMs: options.config.BROKER_LATENCY_MS,
    outageWindowMs: options.outageWindowMs ?? 2_000,
  });
  const prices = new PricePath({
    seed: options.priceSeed ?? options.config.SIM_SEED,
    anchor: options.priceAnchor ?? clock.now(),
    volatilityScale: options.volatilityScale,
    replay: options.replay,
  });
  const service = new BrokerService({
    pool: options.pool,
    clock,
    prices,
    faults,
    logger,
    realNow,
    reorderHoldMs: options.reorderHoldMs,
  });
  const pusher = new ReportPusher({
    pool: options.pool,
    url: new URL(
      options.pushAs === undefined ? FILL_RECEIVER_REPORTS_PATH : brokerReportsPath(options.pushAs),
      options.fillReceiverUrl,
    ).toString(),
    logger,
    secret:
      options.pushAs === undefined
        ? options.fillReceiverSecret
        : brokerPushSecret(options.fillReceiverSecret, options.pushAs),
    timeoutMs: options.pushTimeoutMs,
    realNow,
    paused: (realMs) => faults.isOutage(realMs, clock.now()),
  });
  const app = createBrokerApp({
    service,
    apiKey: options.apiKey,
    ackTimeoutDelayMs: options.ackTimeoutDelayMs,
    realNow,
  });
  const onCall = options.onCall;
  if (onCall) {
    app.addHook('preHandler', async (request) => {
      onCall({ method: request.method, path: request.url, body: request.body, atMs: realNow() });
    });
  }
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });

  const loop = (name: string, step: () => Promise<boolean>, idleMs: number) =>
    new WorkerLoop({
      work: async () => ((await step()) ? 0 : idleMs),
      // Its database away: back off instead of spinning every idleMs.
      onError: (error, attempt, waitMs) =>
        logger.warn({ err: error, loop: name, attempt, waitMs }, 'broker loop step failed'),
    });
  const loops =
    (options.autoRun ?? true)
      ? [
          loop('match', async () => (await service.tick(), false), options.tickMs ?? 100),
          loop(
            'push',
            async () => {
              const result = await pusher.pushDue();
              return result.delivered > 0 && !result.failed;
            },
            options.pushIntervalMs ?? 20,
          ),
        ]
      : [];
  for (const worker of loops) worker.start();

  return {
    url: address,
    app,
    service,
    pusher,
    faults,
    tick: () => service.tick(),
    pushDue: () => pusher.pushDue(),
    pendingDeliveries: () => repo.pendingDeliveries(options.pool),
    close: async () => {
      const stopping = Promise.all(loops.map((worker) => worker.stop()));
      await app.close();
      await stopping;
    },
  };
}
