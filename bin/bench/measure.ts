/** Closed-loop load, latency percentiles and memory sampling shared by every measurement of the suite. */

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: NaN, p99: NaN, max: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { count: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]!) };
}

export interface LoadResult {
  /** Completed operations per second over the timed window. */
  rate: number;
  completed: number;
  failed: number;
  seconds: number;
  latencyMs: Percentiles;
  /** Wall-clock bounds of the timed window (ms since the epoch), to select rows the run wrote. */
  startedAt: number;
  endedAt: number;
}

/**
 * `workers` loops, each starting its next operation as soon as the last one answered, for `seconds`
 * after a short untimed warm-up. `op` returns false for an answer that does not count (an error).
 */
export async function closedLoop(
  workers: number,
  seconds: number,
  op: (worker: number, timed: boolean) => Promise<boolean>,
  warmUpMs = 1_000,
): Promise<LoadResult> {
  const run = async (ms: number, timed: boolean) => {
    const latencies: number[] = [];
    let failed = 0;
    const startedAt = Date.now();
    const started = performance.now();
    const deadline = started + ms;
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        while (performance.now() < deadline) {
          const t = performance.now();
          const ok = await op(w, timed).catch(() => false);
          if (ok) latencies.push(performance.now() - t);
          else failed++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    return { latencies, failed, elapsed, startedAt, endedAt: Date.now() };
  };
  if (warmUpMs > 0) await run(warmUpMs, false);
  const timed = await run(seconds * 1000, true);
  return {
    rate: timed.latencies.length / timed.elapsed,
    completed: timed.latencies.length,
    failed: timed.failed,
    seconds: round(timed.elapsed),
    latencyMs: percentiles(timed.latencies),
    startedAt: timed.startedAt,
    endedAt: timed.endedAt,
  };
}

export interface MemoryPeak {
  maxRssMb: number;
  maxHeapUsedMb: number;
  samples: number;
}

/** Samples this process's memory until stopped; the peak says whether it stays bounded under load. */
export function sampleMemory(everyMs = 200): { stop(): MemoryPeak } {
  let maxRss = 0;
  let maxHeap = 0;
  let samples = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    maxRss = Math.max(maxRss, usage.rss);
    maxHeap = Math.max(maxHeap, usage.heapUsed);
    samples++;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      const mb = (bytes: number) => round(bytes / 1024 / 1024);
      return { maxRssMb: mb(maxRss), maxHeapUsedMb: mb(maxHeap), samples };
    },
  };
}

/** Posts JSON and reads the answer: the one HTTP client of the suite, for orders and the ceiling alike. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
