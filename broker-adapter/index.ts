import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The simulated broker and the fill receiver; this is their one public module. */
export const brokerAdapterMigrations: ComponentMigrations = {
  component: 'broker_adapter',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};

// What travels on the `executions` topic.
export {
  ExecutionReport,
  EXECUTIONS_TOPIC,
  EXEC_TYPES,
  ORDER_STATUSES,
  FINAL_ORDER_STATUSES,
  type ExecType,
  type BrokerOrderStatus,
} from './executions/execution-report.schemas.ts';
export { ensureExecutionsTopic } from './executions/executions.topic.ts';

// The broker's API shapes and its client.
export {
  BrokerOrderRequest,
  BrokerOrder,
  STATEMENT_KINDS,
  ExecutionsStatement,
  OrdersStatement,
  PositionsStatement,
  CashStatement,
  InstrumentView,
  ClockView,
  type ParsedOrderRequest,
  type StatementKind,
  type Statements,
} from './broker/broker-order.schemas.ts';
export {
  BrokerClient,
  BrokerRejectedError,
  BrokerUnavailableError,
  type BrokerClientOptions,
} from './client/broker-client.ts';

// Running the broker and the fill receiver.
export { createBrokerApp, type BrokerAppDeps } from './broker/broker.app.ts';
export { BrokerService, type BrokerServiceDeps } from './broker/broker.service.ts';
export { startBroker, type StartBrokerOptions, type RunningBroker } from './broker/broker.runner.ts';
export { createFillReceiverApp, REPORTS_PATH, type FillReceiverDeps } from './fill-receiver/fill-receiver.app.ts';
export { openSequenceGaps, allSequenceGaps, type SequenceGap } from './fill-receiver/fill-receiver.repository.ts';

// The simulated market.
export {
  realClock,
  alwaysOpenClock,
  acceleratedClock,
  manualClock,
  describeClock,
  TRADING_DAY_MS,
  type SimClock,
  type ManualClock,
  type MarketClockView,
} from './market/clock.ts';
export {
  sessionAt,
  nextOpen,
  nextClose,
  tradingDateOf,
  preMarketOpen,
  newYorkTime,
  nyseHolidays,
  isTradingDay,
  dayOrderExpiry,
  MARKET_TIME_ZONE,
  type Session,
} from './market/calendar.rules.ts';
export { INSTRUMENTS, PricePath, parseReplayCsv, type Instrument } from './market/market.domain.ts';
export { FaultPlan, noFaults, type FaultSettings } from './faults/fault.rules.ts';
