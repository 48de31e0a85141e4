import { Gauge, type Registry } from 'prom-client';
import type { Pool } from '../../platform/index.ts';
import { BROKER_STATES } from './broker-health.rules.ts';
import { listBrokers } from './brokers.routes.ts';

/**
 * `trading_broker_health{broker,state}` (1 for the broker's state, 0 for the others) and
 * `trading_broker_drained{broker}`, read from what the request servers stored at scrape time. A
 * database away leaves the last values: the scrape itself must not fail.
 */
export function registerBrokerMetrics(registry: Registry, deps: { pool: Pool; brokers: readonly string[] }): void {
  const drained = new Gauge({
    name: 'trading_broker_drained',
    help: 'Whether an operator drained the broker (1): it takes no new orders',
    labelNames: ['broker'],
    registers: [registry],
  });
  new Gauge({
    name: 'trading_broker_health',
    help: "Each broker's health over its last 10 s of calls: 1 for its state (healthy, degraded, down), 0 for the others",
    labelNames: ['broker', 'state'],
    registers: [registry],
    async collect() {
      const brokers = await listBrokers(deps.pool, deps.brokers).catch(() => null);
      if (!brokers) return;
      for (const broker of brokers) {
        for (const state of BROKER_STATES) this.set({ broker: broker.id, state }, broker.state === state ? 1 : 0);
        drained.set({ broker: broker.id }, broker.drained ? 1 : 0);
      }
    },
  });
}
