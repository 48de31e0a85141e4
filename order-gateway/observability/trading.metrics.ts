import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The trading server's own figures on /metrics, beside the process defaults. */
export function createTradingMetrics(registry: Registry) {
  return {
    httpDuration: new Histogram({
      name: 'trading_http_request_duration_seconds',
      help: 'Trading API request duration by route and status code',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    reportsApplied: new Counter({
      name: 'trading_execution_reports_total',
      help: 'Execution reports taken from the executions topic, by exec type and outcome',
      labelNames: ['exec_type', 'outcome'] as const,
      registers: [registry],
    }),
    alarms: new Counter({
      name: 'trading_order_alarms_total',
      help: 'Reports an order refused and alarmed (a fill above the quantity, a fill on a final order, ...)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'trading_dead_letters_total',
      help: 'Messages parked in the dead letters after repeated non-domain failures (an alarm: see GET /v1/ops/parked)',
      labelNames: ['consumer', 'topic'] as const,
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'trading_http_refusals_total',
      help: 'Requests refused before their body was read: unauthorized (401), auth_failures (429, too many 401s from the address), rate_limited (429, over the per-key limit)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    httpErrors: new Counter({
      name: 'trading_http_errors_total',
      help: 'Answers with an error body, by its code (VALIDATION_FAILED, INSUFFICIENT_BUYING_POWER, UNAUTHORIZED, RATE_LIMITED, ...) and HTTP status',
      labelNames: ['code', 'status'] as const,
      registers: [registry],
    }),
    submissions: new Counter({
      name: 'trading_broker_submissions_total',
      help: 'Settled calls of the request server to the broker, by kind and resulting state',
      labelNames: ['kind', 'state'] as const,
      registers: [registry],
    }),
    openOrderChecks: new Counter({
      name: 'trading_open_order_checks_total',
      help: 'Live orders the open-order check asked the broker about, by outcome (in_step, recovered, unknown_at_broker, failed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    openOrderRecovered: new Counter({
      name: 'trading_open_order_check_recovered_total',
      help: 'Broker reports the open-order check republished because we lacked them, by kind (fill, close, cancel_rejected)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    requestsRedriven: new Counter({
      name: 'trading_requests_redriven_total',
      help: 'Order requests lost between the outbox and the request server, driven again, by kind (submit, cancel)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    eventStreams: new Gauge({
      name: 'trading_event_streams',
      help: 'Server-Sent Events connections open on this trading server (GET /v1/events, /v1/ops/events)',
      registers: [registry],
    }),
    eventStreamsCutOff: new Counter({
      name: 'trading_event_streams_cut_off_total',
      help: 'Event streams ended because the client did not read fast enough (its last event was cut_off)',
      registers: [registry],
    }),
  };
}

export type TradingMetrics = ReturnType<typeof createTradingMetrics>;
