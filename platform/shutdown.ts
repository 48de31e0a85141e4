import type { Logger } from './logger.ts';

/**
 * Stops the process cleanly on SIGINT or SIGTERM: runs `stop` once, then exits 0. Whatever is still
 * closing after `graceMs` is abandoned and the process exits 1, so a stuck dependency can never keep
 * it alive (docs/operations.md promises a prompt exit).
 */
export function stopOnSignals(stop: () => Promise<void>, options: { logger?: Logger; graceMs?: number } = {}): void {
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.logger?.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), options.graceMs ?? 4_500).unref();
    try {
      await stop();
      process.exit(0);
    } catch (error) {
      options.logger?.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
