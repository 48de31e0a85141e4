import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BROKER_STATES } from './broker-health.rules.ts';
import {
  bindForSend,
  bindingAfterCall,
  routeNewOrder,
  UNBOUND,
  type Binding,
  type BrokerStanding,
} from './routing.rules.ts';

const standing = (name: string, state: BrokerStanding['state'] = 'healthy', drained = false): BrokerStanding => ({
  name,
  state,
  drained,
});

describe('routing a new order', () => {
  it('goes to the preferred broker while it takes orders, degraded included', () => {
    expect(routeNewOrder([standing('primary'), standing('secondary')])).toBe('primary');
    expect(routeNewOrder([standing('primary', 'degraded'), standing('secondary')])).toBe('primary');
  });

  it('goes to the next when the preferred is down or drained', () => {
    expect(routeNewOrder([standing('primary', 'down'), standing('secondary')])).toBe('secondary');
    expect(routeNewOrder([standing('primary', 'healthy', true), standing('secondary')])).toBe('secondary');
  });

  it('waits when no broker takes orders', () => {
    expect(routeNewOrder([standing('primary', 'down'), standing('secondary', 'healthy', true)])).toBeNull();
    expect(routeNewOrder([])).toBeNull();
  });
});

describe('an order bound to its broker', () => {
  it('keeps its broker once bound, whatever the route says', () => {
    const bound: Binding = { broker: 'primary', reached: true };
    expect(bindForSend(bound, 'secondary')).toBe(bound);
    expect(bindForSend(bound, null)).toBe(bound);
  });

  it('is routed when unbound, and waits unbound when there is no route', () => {
    expect(bindForSend(UNBOUND, 'secondary')).toEqual({ broker: 'secondary', reached: false });
    expect(bindForSend(UNBOUND, null)).toBeNull();
  });

  it('is free again only when no call was ever made for it', () => {
    expect(bindingAfterCall({ broker: 'primary', reached: false }, 'not_made')).toEqual(UNBOUND);
    expect(bindingAfterCall({ broker: 'primary', reached: true }, 'not_made')).toEqual({
      broker: 'primary',
      reached: true,
    });
    expect(bindingAfterCall({ broker: 'primary', reached: false }, 'made')).toEqual({
      broker: 'primary',
      reached: true,
    });
  });

  it('property: an order never exists at two brokers, under any sequence of health, drains and call outcomes', () => {
    const names = ['primary', 'secondary', 'third'];
    const step = fc.record({
      standings: fc.tuple(
        ...names.map((name) =>
          fc.record({ name: fc.constant(name), state: fc.constantFrom(...BROKER_STATES), drained: fc.boolean() }),
        ),
      ),
      end: fc.constantFrom('not_made' as const, 'made' as const),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let binding: Binding = UNBOUND;
        // Every broker a call may have reached: the order may exist there.
        const mayExistAt = new Set<string>();
        for (const { standings, end } of steps) {
          const toSend = bindForSend(binding, routeNewOrder(standings));
          if (toSend === null) continue;
          if (end === 'made') mayExistAt.add(toSend.broker!);
          binding = bindingAfterCall(toSend, end);
          expect(mayExistAt.size).toBeLessThanOrEqual(1);
          if (mayExistAt.size === 1) expect([...mayExistAt]).toEqual([binding.broker]);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
