import { WorkerLoop, type Logger, type Pool, type Queryable } from '../../platform/index.ts';
import { bindOrder, drainedBrokers, recordHealth } from '../brokers/broker.repository.ts';
import type { BrokerSet } from './broker-set.ts';
import { restoreSubmission } from './submission.machine.ts';
import type { DueSubmissionRow } from './submission.repository.ts';

/**
 * The broker a claimed row's call goes to, inside the claim's transaction. A submit not yet bound is
 * bound here, to the route of the moment, before any call is made: from then on the order lives at
 * that broker (routing.rules.ts). Null: no broker takes new orders now, and the submit waits unbound.
 */
export async function brokerOfClaim(tx: Queryable, row: DueSubmissionRow, brokers: BrokerSet): Promise<string | null> {
  if (row.order_broker_id !== null) return row.order_broker_id;
  // Sent before orders recorded their broker: there was one broker, the preferred one.
  if (row.kind !== 'submit' || restoreSubmission(row.snapshot).context.attempts > 0) return brokers.preferred;
  const route = brokers.route();
  if (route === null) return null;
  return (await bindOrder(tx, row.order_id, route)) ?? route;
}

/**
 * Twice a second: probes every broker past its circuit breaker (health must see a dead broker die
 * and come back even when no order calls it), stores each one's health for ops and the metrics, and
 * reads the drains ops set. A failing round (PostgreSQL away) keeps the last drains it read.
 */
export function startHealthWatch(options: { pool: Pool; brokers: BrokerSet; logger: Logger; everyMs?: number }) {
  const { pool, brokers, logger } = options;
  const everyMs = options.everyMs ?? 500;
  const probes = new Set<Promise<void>>();
  const loop = new WorkerLoop({
    work: async () => {
      for (const name of brokers.names) {
        // Each probe runs on its own: a hanging broker must not slow the others' probes, nor its own
        // next ones (its failures must add up within the window).
        if (probes.size < 8 * brokers.names.length) {
          const probe: Promise<void> = brokers.probe(name).finally(() => probes.delete(probe));
          probes.add(probe);
        }
      }
      brokers.setDrained(await drainedBrokers(pool));
      await recordHealth(
        pool,
        brokers.names.map((name) => ({ name, ...brokers.health(name) })),
      );
      return everyMs;
    },
    onError: (error, attempt, waitMs) => logger.warn({ err: error, attempt, waitMs }, 'broker health round failed'),
  });
  return {
    start: () => loop.start(),
    stop: async () => {
      await loop.stop();
      await Promise.all(probes);
    },
  };
}
