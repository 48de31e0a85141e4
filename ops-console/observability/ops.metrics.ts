import { Gauge, type Registry } from 'prom-client';
import {
  brokerRateReadings,
  liveOrdersByStatus,
  opsOverview,
  submissionsDueByState,
} from '../../order-gateway/index.ts';
import type { Pool } from '../../platform/index.ts';
import type { Reconciler } from '../../reconciler/index.ts';
import type { BreakerState, ConsumerLag } from '../console.types.ts';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface OpsMetricsSources {
  pool: Pool;
  reconciler: Pick<Reconciler, 'openBreaksByKind'>;
  brokerHealth?: (() => BreakerState | null) | undefined;
  consumerLag?: (() => Promise<ConsumerLag[]>) | undefined;
}

/**
 * What operations watch, as gauges computed when /metrics is scraped: each is a cheap count that a
 * partial index answers (the outbox's unsent rows, the due submissions, the live orders, the waiting
 * dead letters) or a small table (the latest runs' open breaks). A scrape that cannot read them
 * leaves the last values and logs nothing: /metrics must answer while PostgreSQL is away.
 */
export function registerOpsMetrics(registry: Registry, sources: OpsMetricsSources): void {
  const { pool } = sources;
  new Gauge({
    name: 'trading_outbox_backlog',
    help: 'Outbox rows written and not yet relayed to the bus',
    registers: [registry],
    async collect() {
      const overview = await opsOverview(pool).catch(() => null);
      if (overview) this.set(overview.outboxBacklog);
    },
  });
  new Gauge({
    name: 'trading_parked_messages',
    help: 'Messages parked in the dead letters and not replayed (GET /v1/ops/parked)',
    registers: [registry],
    async collect() {
      const overview = await opsOverview(pool).catch(() => null);
      if (overview) this.set(overview.parkedMessages);
    },
  });
  new Gauge({
    name: 'trading_broker_submissions_due',
    help: 'Requests to the broker not settled yet, by submission state (queued, sending, unknown, checking)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const due = await submissionsDueByState(pool).catch(() => null);
      if (!due) return;
      this.reset();
      for (const row of due) this.set({ state: row.state }, row.count);
    },
  });
  new Gauge({
    name: 'trading_orders_live',
    help: 'Live orders by status (final statuses are history: count them in the database, not on every scrape)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const live = await liveOrdersByStatus(pool).catch(() => null);
      if (!live) return;
      this.reset();
      for (const row of live) this.set({ status: row.status }, row.count);
    },
  });
  new Gauge({
    name: 'reconciliation_open_breaks',
    help: 'Open breaks of the latest finished reconciliation run of each date, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const open = await sources.reconciler.openBreaksByKind().catch(() => null);
      if (!open) return;
      this.reset();
      for (const row of open) this.set({ kind: row.kind }, row.count);
    },
  });
  // The per-broker rate limits (BROKER_RATE_LIMITS): one bucket row per limited broker, shared by
  // every request server, so these figures are the whole system's, whichever process is scraped.
  new Gauge({
    name: 'trading_broker_queued',
    help: 'Requests waiting to be sent to a broker (submissions queued, not sent yet), by broker',
    labelNames: ['broker'] as const,
    registers: [registry],
    async collect() {
      const queued = await brokerRateReadings.queued(pool).catch(() => null);
      if (!queued) return;
      this.reset();
      for (const row of queued) this.set({ broker: row.broker }, row.count);
    },
  });
  const buckets = () => brokerRateReadings.buckets(pool).catch(() => null);
  new Gauge({
    name: 'trading_broker_rate_tokens',
    help: "Tokens in a rate-limited broker's bucket now: calls that may go at once (0: its queue waits for the rate)",
    labelNames: ['broker'] as const,
    registers: [registry],
    async collect() {
      const rows = await buckets();
      if (!rows) return;
      this.reset();
      for (const row of rows) this.set({ broker: row.broker }, row.tokens);
    },
  });
  new Gauge({
    name: 'trading_broker_rate_calls',
    help: "Calls a rate-limited broker's bucket has paid for since it was made (only grows; rate() of it is the call rate)",
    labelNames: ['broker'] as const,
    registers: [registry],
    async collect() {
      const rows = await buckets();
      if (!rows) return;
      this.reset();
      for (const row of rows) this.set({ broker: row.broker }, row.taken);
    },
  });
  new Gauge({
    name: 'trading_broker_rate_throttled_waits',
    help: "Times a request server found a broker's queue held back by its bucket and waited (only grows)",
    labelNames: ['broker'] as const,
    registers: [registry],
    async collect() {
      const rows = await buckets();
      if (!rows) return;
      this.reset();
      for (const row of rows) this.set({ broker: row.broker }, row.throttled);
    },
  });
  if (sources.brokerHealth) {
    const health = sources.brokerHealth;
    new Gauge({
      name: 'trading_broker_circuit_state',
      help: "The request server's circuit breaker on the broker: 0 closed, 1 half-open (probing), 2 open (calls paused)",
      registers: [registry],
      collect() {
        const state = health();
        if (state) this.set(BREAKER_VALUE[state]);
      },
    });
  }
  if (sources.consumerLag) {
    const lag = sources.consumerLag;
    new Gauge({
      name: 'trading_consumer_lag',
      help: 'Messages on a topic that a consumer group has not committed yet',
      labelNames: ['group', 'topic'] as const,
      registers: [registry],
      async collect() {
        const rows = await lag().catch(() => null);
        if (!rows) return;
        this.reset();
        for (const row of rows) this.set({ group: row.group, topic: row.topic }, row.lag);
      },
    });
  }
}
