import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/**
 * Our side of the broker: its client, the fill receiver, the execution-report contract and the
 * market calendar; this is their one public module. The simulated broker (./simulator/) is the
 * outside world and has its own module, for composition roots only.
 */
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
} from './client/broker-order.schemas.ts';
export {
  BrokerClient,
  BrokerRejectedError,
  BrokerUnavailableError,
  type BrokerClientOptions,
} from './client/broker-client.ts';

// The fill receiver.
export {
  brokerReportsPath,
  createFillReceiverApp,
  REPORTS_PATH,
  type FillReceiverDeps,
} from './fill-receiver/fill-receiver.app.ts';
export { brokerPushSecret } from './fill-receiver/push-signature.ts';
export { openSequenceGaps, allSequenceGaps, type SequenceGap } from './fill-receiver/fill-receiver.repository.ts';

// The US market's calendar: a fact of the market that our side plans by (market hours, day-order
// expiry, trade dates), so it lives here and not in the simulator, which only follows it.
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
} from './market-calendar/calendar.rules.ts';
