import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';

/*
 * Preloaded (`node --import`) into each process the e2e benchmark starts: counts the process's SQL
 * round trips per statement and the time it waited for their answers, and answers the benchmark's
 * `bench-stats` message (over the IPC channel the benchmark opened) with them, its CPU time and its
 * event loop's delay. Without an IPC channel it does nothing: the system runs as it always does.
 */

export interface StatementStats {
  count: number;
  waitMs: number;
}

export interface ProcessStats {
  type: 'bench-stats';
  cpuMs: number;
  queries: Record<string, StatementStats>;
  eventLoopDelayP99Ms: number;
}

/** A statement's name in the counts: its first words, whitespace folded, long enough to tell them apart. */
export function statementKey(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 90);
}

if (process.send) {
  const queries = new Map<string, StatementStats>();
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
  const original = pg.Client.prototype.query;
  // pg's query has a dozen overloads; counting needs only the text and when the answer came.
  const counted = function (this: pg.Client, ...args: unknown[]): unknown {
    const config = args[0] as string | { text?: string; name?: string };
    const text = typeof config === 'string' ? config : (config.text ?? config.name ?? '?');
    const key = statementKey(text);
    const started = performance.now();
    const stats = queries.get(key) ?? { count: 0, waitMs: 0 };
    queries.set(key, stats);
    stats.count++;
    const result = (original as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) {
      result.then(
        () => (stats.waitMs += performance.now() - started),
        () => (stats.waitMs += performance.now() - started),
      );
    }
    return result;
  };
  pg.Client.prototype.query = counted as typeof original;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  process.on('message', (message: unknown) => {
    if ((message as { type?: string } | null)?.type !== 'bench-stats') return;
    const cpu = process.cpuUsage();
    const stats: ProcessStats = {
      type: 'bench-stats',
      cpuMs: (cpu.user + cpu.system) / 1000,
      queries: Object.fromEntries(queries),
      eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
    };
    delay.reset();
    process.send!(stats);
  });
  // The channel must not keep a process alive that its lifecycle wants to stop.
  process.channel?.unref();
}
