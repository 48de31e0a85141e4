import { z } from 'zod';
import { BROKER_STATES } from './broker-health.rules.ts';

export const BrokerSchema = z
  .object({
    id: z.string().describe("the broker's name in BROKERS"),
    preference: z.number().int().describe('its place in BROKERS: 1 is tried first'),
    state: z.enum(BROKER_STATES).describe('from its calls of the last 10 s, as a request server last saw them'),
    drained: z.boolean().describe('an operator took it out of routing: no new orders; its orders carry on there'),
    drainedBy: z.string().nullable(),
    drainedAt: z.string().nullable(),
    calls: z.number().int().describe('calls in the window'),
    failures: z.number().int().describe('calls in the window that got no answer'),
    medianLatencyMs: z.number().int().nullable(),
    stateSince: z.string().nullable(),
    observedAt: z.string().nullable().describe('when a request server last stored its health; null: never'),
  })
  .meta({ id: 'Broker' });

export type BrokerView = z.infer<typeof BrokerSchema>;

export const BrokerListSchema = z.array(BrokerSchema).meta({ id: 'BrokerList' });

export const BrokerIdParams = z.object({ id: z.string().min(1).max(100) });
