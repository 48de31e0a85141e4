import type { Pool } from '../../platform/database.ts';
import type { Logger } from '../../platform/logger.ts';
import * as repo from './broker.repository.ts';

const REFUSED = 'HTTP 400: refused as malformed';

export interface ReportPusherOptions {
  pool: Pool;
  /** The fill receiver's endpoint for reports, e.g. http://127.0.0.1:3100/v1/execution-reports. */
  url: string;
  logger: Logger;
  /** Give up on one attempt after this long; the report stays due and is tried again. */
  timeoutMs?: number;
  realNow?: () => number;
  /** While true nothing is pushed: the broker's own outage stops its report stream too. */
  paused?: (realMs: number) => boolean;
}

/**
 * Pushes execution reports to the fill receiver until it acknowledges each with a 2xx, in the order
 * they fell due. A failed push stops the pass, so a receiver outage does not shuffle the stream;
 * only the `reorder` fault does that. A 400 (malformed) is final: the report is set aside, logged,
 * and the stream goes on.
 */
export class ReportPusher {
  private readonly options: ReportPusherOptions;
  private readonly realNow: () => number;
  /** After a failed push, nothing is pushed before this real time (backoff), and the failed report goes first. */
  private pausedUntil = 0;
  private failures = 0;

  constructor(options: ReportPusherOptions) {
    this.options = options;
    this.realNow = options.realNow ?? Date.now;
  }

  /** Pushes what is due now; returns how many were acknowledged and whether one failed. */
  async pushDue(limit = 100): Promise<{ delivered: number; failed: boolean }> {
    if (this.realNow() < this.pausedUntil) return { delivered: 0, failed: true };
    if (this.options.paused?.(this.realNow())) return { delivered: 0, failed: false };
    const due = await repo.dueDeliveries(this.options.pool, new Date(this.realNow()), limit);
    let delivered = 0;
    for (const delivery of due) {
      const error = await this.push(delivery.report);
      if (error === REFUSED) {
        await repo.markRefused(this.options.pool, delivery.id, error);
        this.options.logger.error({ sequence: delivery.report.sequence }, 'fill receiver refused an execution report as malformed');
        continue;
      }
      if (error === null) {
        await repo.markDelivered(this.options.pool, delivery.id);
        this.failures = 0;
        delivered++;
        continue;
      }
      this.failures++;
      this.pausedUntil = this.realNow() + Math.min(2_000, 50 * 2 ** Math.min(this.failures - 1, 10));
      await repo.markFailed(this.options.pool, delivery.id, error);
      this.options.logger.warn(
        { sequence: delivery.report.sequence, attempts: delivery.attempts + 1, error },
        'execution report not acknowledged; will retry',
      );
      return { delivered, failed: true };
    }
    return { delivered, failed: false };
  }

  /** Null when acknowledged, else why not. */
  private async push(report: unknown): Promise<string | null> {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(report),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
      });
      await response.text().catch(() => '');
      if (response.status === 400) return REFUSED;
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
}
