import type { BrokerState } from './broker-health.rules.ts';

/**
 * Which broker an order goes to. An order is bound to one broker for life: it must never exist at
 * two. Pure: the request server gives each broker's standing and the order's binding.
 */

export interface BrokerStanding {
  name: string;
  state: BrokerState;
  /** Drained by an operator: no new orders, while its orders carry on there. */
  drained: boolean;
}

/**
 * A new order goes to the first broker in order of preference that is neither drained nor down; a
 * degraded broker still takes orders (it answers; a few failures must not move the flow). None: the
 * order waits, unbound, until one is.
 */
export function routeNewOrder(brokers: readonly BrokerStanding[]): string | null {
  return brokers.find((broker) => !broker.drained && broker.state !== 'down')?.name ?? null;
}

/**
 * An order's binding: its broker (null before routing), and whether a call may have reached it. A
 * call may have reached it from the moment one is made, whatever came back: a timeout leaves the
 * order perhaps at the broker, and even "not found" can be overtaken by the request arriving late.
 */
export interface Binding {
  broker: string | null;
  reached: boolean;
}

export const UNBOUND: Binding = { broker: null, reached: false };

/** Where a submit about to be sent goes: its broker once bound, never another; else the route (null: wait). */
export function bindForSend(binding: Binding, route: string | null): Binding | null {
  if (binding.broker !== null) return binding;
  return route === null ? null : { broker: route, reached: false };
}

/** What a call's end leaves: a call that was never made (the broker's circuit open) leaves an untouched order free to go elsewhere. */
export type CallEnd = 'not_made' | 'made';

export function bindingAfterCall(binding: Binding, end: CallEnd): Binding {
  if (end === 'not_made') return binding.reached ? binding : UNBOUND;
  return { broker: binding.broker, reached: true };
}
