/**
 * The ops console: pages under /ops for the people who run the system, and the gauges they watch on
 * /metrics. A reader of the other components through their public modules; it owns no tables (its
 * sessions are the order gateway's, which owns the operators). This is its one public module.
 */
export { opsConsole } from './console.plugin.ts';
export type { BreakerState, ConsumerLag, OpsConsoleOptions } from './console.types.ts';
export { registerOpsMetrics, type OpsMetricsSources } from './observability/ops.metrics.ts';
