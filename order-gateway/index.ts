import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The trading server and the request server; this is their one public module. */
export { buildApp, type App, type AppDependencies } from './app.ts';
export type { OpsAudit } from './ops/ops-audit.routes.ts';
export { recordOpsAction, type OpsAction } from './ops/ops-audit.repository.ts';
export { operatorOf, operatorWithKey } from './http/auth.ts';
export { errorBody } from './http/error-handler.ts';
// What the ops console reads and keeps (the console is a reader: these are its only way in).
export { opsSessions } from './ops/ops-session.repository.ts';
export {
  ALARM_KINDS,
  STUCK_AFTER_SECONDS,
  listAccounts,
  listAlarms,
  liveOrdersByStatus,
  opsOverview,
  searchOrders,
  submissionsDueByState,
  type OpsAccountView,
  type OpsOverview,
  type OrderSearch,
  type TimelineEntry,
} from './ops-read/ops-read.repository.ts';
export { readOrderTimeline, type OrderTimeline } from './ops-read/order-timeline.ts';
export { OpsOrdersQuery } from './ops-read/ops-read.schemas.ts';
export { createTradingServer, type TradingServer, type TradingServerDependencies } from './trading-server.ts';
export { createOrderService, type OrderService } from './orders/order.service.ts';
export { FINAL_STATUSES, ORDER_STATUSES, type OrderStatus } from './orders/order.machine.ts';
export type { OrderView, PlaceOrderRequest } from './orders/order.schemas.ts';
export {
  cachedMarketData,
  type Instrument,
  type MarketClock,
  type MarketData,
  type Session,
} from './market/market-data.ts';
export { createOutboxRelay, type OutboxRelay } from './outbox/outbox.ts';
export { ORDER_REQUESTS_TOPIC, ensureOrderRequestsTopic } from './orders/order-request.schemas.ts';
export { createRequestServer, REQUEST_SERVER_GROUP, type RequestServer } from './requests/request-server.ts';
export { unsentSubmits } from './requests/unsent-submits.ts';
export type { NamedBroker } from './requests/broker-set.ts';
export { BROKER_STATES, type BrokerState } from './brokers/broker-health.rules.ts';
export { brokerRoutes, listBrokers } from './brokers/brokers.routes.ts';
export type { BrokerView } from './brokers/broker.schemas.ts';
export { registerBrokerMetrics } from './brokers/broker.metrics.ts';
export { REPORT_FROM_OTHER_BROKER } from './executions/report-broker.ts';
export { createExecutionConsumer, EXECUTIONS_GROUP, type ExecutionConsumer } from './executions/execution.consumer.ts';

export const orderGatewayMigrations: ComponentMigrations = {
  component: 'order_gateway',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};
