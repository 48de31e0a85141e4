/**
 * A broker's health from its recent calls: values in, a state out, no clock (the caller passes `now`).
 *
 * Toss fails over after more than 100 failures a minute for three minutes; ours must route around a
 * dead broker within 10 s yet never call `down` a broker that is only having its ordinary day (a few
 * percent of lost acknowledgements and rejects). So `down` needs both many failures and most calls
 * failing in the window: a dead broker gives both within seconds (the request server probes it twice
 * a second besides its orders' calls), while at a 5% failure rate half of ten or more calls failing
 * is a one-in-ten-thousand event per window, and short-lived when it happens.
 *
 * A broker answering "no" (a reject, a refused cancel) answered: only calls that got no answer
 * (timeouts, lost connections, 5xx) count as failures.
 */

export const BROKER_STATES = ['healthy', 'degraded', 'down'] as const;
export type BrokerState = (typeof BROKER_STATES)[number];

export interface BrokerCall {
  /** When the call ended, in ms. */
  at: number;
  ok: boolean;
  latencyMs: number;
}

export interface HealthPolicy {
  /** The sliding window the state is computed over. */
  windowMs: number;
  /** `down`: at least this many failures in the window... */
  downMinFailures: number;
  /** ...and at least this share of its calls failed. */
  downFailureRatio: number;
  /** `degraded`: at least this many failures and this share... */
  degradedMinFailures: number;
  degradedFailureRatio: number;
  /** ...or a median answer slower than this (with at least `degradedMinFailures` calls). */
  degradedMedianLatencyMs: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  windowMs: 10_000,
  downMinFailures: 5,
  downFailureRatio: 0.5,
  degradedMinFailures: 3,
  degradedFailureRatio: 0.2,
  degradedMedianLatencyMs: 1_000,
};

export interface BrokerHealth {
  state: BrokerState;
  calls: number;
  failures: number;
  medianLatencyMs: number | null;
}

/** The calls still inside the window at `now`; the caller keeps this and drops the rest. */
export function callsInWindow(calls: readonly BrokerCall[], now: number, policy = DEFAULT_HEALTH_POLICY): BrokerCall[] {
  return calls.filter((call) => call.at > now - policy.windowMs && call.at <= now);
}

export function brokerHealth(calls: readonly BrokerCall[], now: number, policy = DEFAULT_HEALTH_POLICY): BrokerHealth {
  const recent = callsInWindow(calls, now, policy);
  const failures = recent.filter((call) => !call.ok).length;
  const ratio = recent.length === 0 ? 0 : failures / recent.length;
  const answered = recent
    .filter((call) => call.ok)
    .map((call) => call.latencyMs)
    .sort((a, b) => a - b);
  const medianLatencyMs = answered.length === 0 ? null : answered[Math.floor(answered.length / 2)]!;
  const health = { calls: recent.length, failures, medianLatencyMs };
  if (failures >= policy.downMinFailures && ratio >= policy.downFailureRatio) return { state: 'down', ...health };
  const slow =
    medianLatencyMs !== null &&
    answered.length >= policy.degradedMinFailures &&
    medianLatencyMs > policy.degradedMedianLatencyMs;
  if ((failures >= policy.degradedMinFailures && ratio >= policy.degradedFailureRatio) || slow) {
    return { state: 'degraded', ...health };
  }
  return { state: 'healthy', ...health };
}
