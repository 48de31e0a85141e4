import type { Session } from '../../broker-adapter/index.ts';
import type { RunningBroker } from '../../broker-adapter/simulator/index.ts';
import { sleep, type Logger, type Pool } from '../../platform/index.ts';
import {
  BUSY_SUBMISSIONS,
  PARKED_REPORTS,
  RECEIVED_EXEC_IDS,
  RECEIVED_REPORTS,
  REQUESTS_IN_TRANSIT,
  UNSENT_OUTBOX,
} from './session.quiet.sql.ts';

export interface QuietResult {
  /** Matching passes run while settling. */
  ticks: number;
  /** True when the system did not settle in time; `busy` says what was still moving. */
  timedOut: boolean;
  busy: string[];
}

/** Execution reports the trading server's consumer has handled, whatever the outcome, by execId. */
export class ConsumedReports {
  private readonly ids = new Set<string>();
  add(execId: string): void {
    this.ids.add(execId);
  }
  has(execId: string): boolean {
    return this.ids.has(execId);
  }
  get size(): number {
    return this.ids.size;
  }
}

/**
 * Drives the broker (matching passes, report pushes) at the current simulated instant until the
 * whole system has stopped moving: nothing in the outbox, no broker call due, every report pushed
 * and consumed. Waiting for this between steps is what makes one seed give one result.
 */
export function createQuietWatcher(deps: {
  pool: Pool;
  /** Every simulated broker: each is driven, and each one's deliveries awaited while it is up. */
  brokers: readonly RunningBroker[];
  /**
   * Whether a broker is down now (its outage): what waits for it cannot settle until it is back, so
   * its deliveries and the broker calls due are not waited for while any broker is down (the step
   * after the outage settles them).
   */
  isDown?: (broker: RunningBroker) => boolean;
  reports: ConsumedReports;
  logger: Logger;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}) {
  const consumed = deps.reports;
  const count = async (sql: string, params: unknown[] = []) =>
    (await deps.pool.query<{ n: number }>(sql, params)).rows[0]!.n;

  /** Reports the fill receiver took that the consumer has not handled (a repair adds ids of its own, so count by id). */
  async function unconsumedReports(received: number): Promise<number> {
    if (received > consumed.size) return received - consumed.size;
    const { rows } = await deps.pool.query<{ exec_id: string }>(RECEIVED_EXEC_IDS);
    return rows.filter((row) => !consumed.has(row.exec_id)).length;
  }

  async function busyParts(session: Session): Promise<string[]> {
    const up = deps.brokers.filter((broker) => !(deps.isDown?.(broker) ?? false));
    const outage = up.length < deps.brokers.length;
    const [outbox, submissions, transit, received, parked, pending] = await Promise.all([
      count(UNSENT_OUTBOX),
      outage ? 0 : count(BUSY_SUBMISSIONS, [session]),
      outage ? 0 : count(REQUESTS_IN_TRANSIT),
      count(RECEIVED_REPORTS),
      count(PARKED_REPORTS),
      Promise.all(up.map((broker) => broker.pendingDeliveries())),
    ]);
    const deliveries = pending.reduce((total, n) => total + n, 0);
    const busy: string[] = [];
    if (outbox > 0) busy.push(`${outbox} outbox messages unsent`);
    if (submissions > 0) busy.push(`${submissions} broker calls due`);
    if (transit > 0) busy.push(`${transit} requests in transit`);
    if (deliveries > 0) busy.push(`${deliveries} report deliveries pending`);
    const unconsumed = await unconsumedReports(received);
    if (unconsumed > 0) busy.push(`${unconsumed} reports received, not consumed`);
    if (parked > 0) busy.push(`${parked} reports parked`);
    return busy;
  }

  return {
    async waitQuiet(session: Session): Promise<QuietResult> {
      const deadline = Date.now() + (deps.timeoutMs ?? 60_000);
      let ticks = 0;
      let stillRounds = 0;
      for (;;) {
        deps.signal?.throwIfAborted();
        let reports = 0;
        let delivered = 0;
        for (const broker of deps.brokers) {
          reports += await broker.tick();
          delivered += (await broker.pushDue()).delivered;
        }
        ticks++;
        const busy = await busyParts(session);
        // Two still rounds in a row: a report consumed in the last round may have caused more work.
        if (reports === 0 && delivered === 0 && busy.length === 0) {
          if (++stillRounds >= 2) return { ticks, timedOut: false, busy };
        } else {
          stillRounds = 0;
        }
        if (Date.now() > deadline) {
          deps.logger.warn({ busy }, 'session step did not settle in time');
          return { ticks, timedOut: true, busy };
        }
        await sleep(busy.length > 0 ? 15 : 5);
      }
    },
  };
}
