/**
 * The simulated US broker: the outside world, not our code. It has its own store, ids and HTTP API,
 * matches orders on a simulated price path, and misbehaves on request. Only composition roots
 * (bin/, test support, benchmarks) import this module; nothing of ours may, so the system never
 * depends on how the broker it talks to is built. It speaks our side's contracts (the broker API
 * shapes in ../client, the signed execution-report push of ../fill-receiver) like a real broker would.
 */
export { createBrokerApp, type BrokerAppDeps } from './broker/broker.app.ts';
export { BrokerService, type BrokerServiceDeps } from './broker/broker.service.ts';
export { startBroker, type StartBrokerOptions, type RunningBroker } from './broker/broker.runner.ts';
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
export { INSTRUMENTS, PricePath, parseReplayCsv, type Instrument } from './market/market.domain.ts';
export { FaultPlan, noFaults, type FaultSettings } from './faults/fault.rules.ts';
