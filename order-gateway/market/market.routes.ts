import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decimalOutput } from '../../platform/index.ts';
import { ErrorSchema } from '../http/error.schemas.ts';
import type { MarketData } from './market-data.ts';

const InstrumentSchema = z
  .object({
    symbol: z.string(),
    name: z.string(),
    lastPrice: decimalOutput('187.25', 4),
    tradable: z.boolean(),
  })
  .meta({ id: 'Instrument' });
const ClockSchema = z
  .object({
    now: z.string(),
    session: z.enum(['pre', 'regular', 'post', 'closed']),
    nextOpen: z.string(),
    nextClose: z.string(),
  })
  .meta({ id: 'MarketClock' });

/** Public market information: no key needed, as on a broker's public market-data endpoints. */
export const marketRoutes: FastifyPluginAsyncZod<{ marketData: MarketData }> = async (app, { marketData }) => {
  app.get(
    '/v1/instruments',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['market'],
        summary: 'Tradable instruments and last prices',
        response: { 200: z.array(InstrumentSchema), 503: ErrorSchema },
      },
    },
    async () => marketData.instruments(),
  );
  app.get(
    '/v1/market/clock',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['market'],
        summary: 'Session clock (US/Eastern sessions, times in UTC)',
        response: { 200: ClockSchema, 503: ErrorSchema },
      },
    },
    async () => marketData.clock(),
  );
};
