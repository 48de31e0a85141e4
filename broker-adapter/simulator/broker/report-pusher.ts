import type { Pool } from '../../../platform/database.ts';
import type { Logger } from '../../../platform/logger.ts';
import { z } from 'zod';
import { MAX_BATCH } from '../../fill-receiver/fill-receiver.app.ts';
import { signPush } from '../../fill-receiver/push-signature.ts';
import * as repo from './broker.repository.ts';

const REFUSED = 'refused by the fill receiver as malformed';

export interface ReportPusherOptions {
  pool: Pool;
  /** The fill receiver's endpoint for reports, e.g. http://127.0.0.1:3100/v1/execution-reports. */
  url: string;
  logger: Logger;
  /** The HMAC key shared with the fill receiver (FILL_RECEIVER_SECRET); every push is signed with it. */
  secret: string;
  /** Give up on one attempt after this long; the report stays due and is tried again. */
  timeoutMs?: number;
  realNow?: () => number;
  /** While true nothing is pushed: the broker's own outage stops its report stream too. */
  paused?: (realMs: number) => boolean;
}

/** The fill receiver's answer to a batch: one result per report, in the order sent. */
const BatchAnswer = z.object({
  results: z.array(z.object({ status: z.enum(['accepted', 'refused']), details: z.unknown().optional() })),
});

/**
 * Pushes execution reports to the fill receiver until it acknowledges them, in the order they fell
 * due, in batches: one HTTP request (and one Kafka produce at the receiver) carries up to `limit`
 * reports, so the stream keeps up with a busy day instead of paying a round trip per report. A
 * failed push stops the pass and the whole batch stays due, so a receiver outage does not shuffle
 * the stream; only the `reorder` fault does that. A report the receiver refuses as malformed is final:
 * it is set aside, logged, and the stream goes on.
 */
export class ReportPusher {
  private readonly options: ReportPusherOptions;
  private readonly realNow: () => number;
  /** After a failed push, nothing is pushed before this real time (backoff), and the failed reports go first. */
  private pausedUntil = 0;
  private failures = 0;

  constructor(options: ReportPusherOptions) {
    this.options = options;
    this.realNow = options.realNow ?? Date.now;
  }

  /** Pushes what is due now, one batch; returns how many were acknowledged and whether the push failed. */
  async pushDue(limit = 200): Promise<{ delivered: number; failed: boolean }> {
    if (this.realNow() < this.pausedUntil) return { delivered: 0, failed: true };
    if (this.options.paused?.(this.realNow())) return { delivered: 0, failed: false };
    const due = await repo.dueDeliveries(this.options.pool, new Date(this.realNow()), Math.min(limit, MAX_BATCH));
    if (due.length === 0) return { delivered: 0, failed: false };
    const answer = await this.push(due.map((delivery) => delivery.report));
    if (typeof answer === 'string') {
      this.failures++;
      this.pausedUntil = this.realNow() + Math.min(2_000, 50 * 2 ** Math.min(this.failures - 1, 10));
      await repo.markFailed(
        this.options.pool,
        due.map((delivery) => delivery.id),
        answer,
      );
      this.options.logger.warn(
        {
          sequences: [due[0]!.report.sequence, due.at(-1)!.report.sequence],
          reports: due.length,
          attempts: due[0]!.attempts + 1,
          error: answer,
        },
        'execution reports not acknowledged; will retry',
      );
      return { delivered: 0, failed: true };
    }
    this.failures = 0;
    const refused = due.filter((_, i) => answer[i] === 'refused');
    for (const delivery of refused) {
      this.options.logger.error(
        { sequence: delivery.report.sequence },
        'fill receiver refused an execution report as malformed',
      );
    }
    await repo.markPushed(
      this.options.pool,
      due.filter((_, i) => answer[i] === 'accepted').map((delivery) => delivery.id),
      refused.map((delivery) => delivery.id),
      REFUSED,
    );
    return { delivered: due.length - refused.length, failed: false };
  }

  /** Each report's outcome when the receiver answered for the batch, else why not. */
  private async push(reports: readonly unknown[]): Promise<Array<'accepted' | 'refused'> | string> {
    try {
      const body = JSON.stringify(reports);
      const response = await fetch(this.options.url, {
        method: 'POST',
        // Signed with the wall clock, not `realNow`: the receiver judges freshness by its own clock,
        // whatever simulated real time the broker's faults run on.
        headers: { 'content-type': 'application/json', ...signPush(this.options.secret, body, Date.now()) },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
      });
      const answer: unknown = await response.json().catch(() => null);
      if (!response.ok) return `HTTP ${response.status}`;
      const parsed = BatchAnswer.safeParse(answer);
      if (!parsed.success || parsed.data.results.length !== reports.length)
        return `HTTP ${response.status}: not an answer for the batch`;
      return parsed.data.results.map((result) => result.status);
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
}
