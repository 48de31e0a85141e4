import type { BrokerClient } from '../broker-adapter/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { BrokerView } from '../order-gateway/index.ts';
import type { ConsumerLag, OpsOperator, Pool } from '../platform/index.ts';
import type { Reconciler } from '../reconciler/index.ts';

/** The broker client's circuit breaker as the request server sees it. */
export type BreakerState = 'closed' | 'half_open' | 'open';

export type { ConsumerLag } from '../platform/index.ts';

export interface OpsConsoleOptions {
  pool: Pool;
  ledger: Ledger;
  reconciler: Reconciler;
  /** Every operator and its key: a sign-in takes one of these keys. */
  operators: readonly OpsOperator[];
  /** The broker, for its side of a break (its order and executions), asked when the page opens. */
  broker?: Pick<BrokerClient, 'getOrderByClientOrderId' | 'getOrderReports'> | undefined;
  /** The request server's circuit breaker, when the request server runs in this process. */
  brokerHealth?: (() => BreakerState | null) | undefined;
  /** Each broker's health and drain, in order of preference (GET /v1/ops/brokers). */
  brokers?: (() => Promise<BrokerView[]>) | undefined;
  /** Consumer lag by group and topic, when the bus can tell. */
  consumerLag?: (() => Promise<ConsumerLag[]>) | undefined;
  /** Where `npm run session` wrote its report (its --report DIR; `session-report` by default). */
  sessionReportDir?: string | undefined;
  /** How long a session lasts; 8 hours unless a test shortens it. */
  sessionTtlSeconds?: number | undefined;
  /** Failed sign-ins per client address per minute before 429 (AUTH_FAILURES_PER_MINUTE). */
  authFailuresPerMinute?: number | undefined;
}
