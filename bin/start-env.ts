import { z } from 'zod';

/** Variables `npm start` reads beside platform's Config: how the simulated market's clock runs. */
const schema = z.object({
  BROKER_CLOCK: z.enum(['real', 'always-open', 'accelerated']).default('real'),
  BROKER_DAY_SECONDS: z.coerce.number().positive().max(86_400).default(300),
});

export function loadStartEnv(env: NodeJS.ProcessEnv = process.env): z.infer<typeof schema> {
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key in schema.shape && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // Never the value itself: a configuration line must not carry a secret into a log.
    process.stderr.write(`Invalid configuration: ${String(issue.path[0])} ${issue.message}\n`);
    process.exit(1);
  }
  return parsed.data;
}
