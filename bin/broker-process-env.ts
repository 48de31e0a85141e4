import { z } from 'zod';
import { ConfigError } from '../platform/index.ts';

/** The variables only the broker and fill-receiver processes read, beside platform's Config. */
const schema = z.object({
  BROKER_PORT: z.coerce.number().int().min(0).max(65535).default(3200),
  FILL_RECEIVER_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  FILL_RECEIVER_URL: z.url().default('http://127.0.0.1:3100'),
  BROKER_CLOCK: z.enum(['real', 'always-open', 'accelerated']).default('real'),
  /** Accelerated clock: real seconds per trading day (04:00–20:00 New York). */
  BROKER_DAY_SECONDS: z.coerce.number().positive().default(300),
  /** Accelerated clock: the trading date to start at (04:00 New York). */
  BROKER_TRADING_DATE: z.iso.date().optional(),
});
export type ProcessEnv = z.infer<typeof schema>;

export function loadProcessEnv(env: NodeJS.ProcessEnv = process.env): ProcessEnv {
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key in schema.shape && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(String(issue.path[0]), issue.message);
  }
  return parsed.data;
}
