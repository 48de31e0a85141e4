import { z } from 'zod';

/** One broker's outbound limit: calls per second, and how many may go at once. */
export interface BrokerRateLimit {
  perSecond: number;
  burst: number;
}

/** A broker's name as BROKERS spells it: it becomes a metric label. */
const BROKER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_PER_SECOND = 100_000;
const MAX_BURST = 1_000_000;

/**
 * BROKER_RATE_LIMITS: `name=perSecond[:burst],...`, e.g. `primary=200:50`. The burst defaults to one
 * second's worth of the rate. Entries are named by position and broker, never echoed whole.
 */
export const brokerRateLimits = z.string().transform((raw, ctx): ReadonlyMap<string, BrokerRateLimit> => {
  const limits = new Map<string, BrokerRateLimit>();
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  for (const [index, entry] of entries.entries()) {
    const at = `entry ${index + 1}`;
    const match = /^([^=]*)=([^:]*)(?::(.*))?$/.exec(entry);
    const name = match?.[1]?.trim() ?? '';
    if (!match || !BROKER_NAME.test(name)) {
      return fail(
        `${at} must be name=perSecond[:burst], the name 1-32 characters of a-z 0-9 _ - starting with a letter`,
      );
    }
    const rate = match[2]!.trim();
    const perSecond = Number(rate);
    if (!/^\d+(\.\d+)?$/.test(rate) || !(perSecond > 0 && perSecond <= MAX_PER_SECOND)) {
      return fail(`${at} (${name}) needs a rate per second above 0 and at most ${MAX_PER_SECOND}`);
    }
    const burstText = match[3]?.trim();
    const burst = burstText === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(burstText);
    if (burstText !== undefined && (!/^\d+$/.test(burstText) || burst < 1 || burst > MAX_BURST)) {
      return fail(`${at} (${name}) needs a burst that is a whole number from 1 to ${MAX_BURST}`);
    }
    if (limits.has(name)) return fail(`${at}: the broker ${name} is limited twice`);
    limits.set(name, { perSecond, burst });
  }
  if (limits.size === 0) return fail('must list at least one name=perSecond[:burst]');
  return limits;
});
