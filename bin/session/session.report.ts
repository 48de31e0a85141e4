import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ChartData, SessionData, SessionSummary } from './session.types.ts';
import { renderReportHtml } from './session.template.ts';

export type { ChartData, SessionData, SessionSummary } from './session.types.ts';

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank]! * 10) / 10;
}

const countBy = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
};

export function buildSummary(data: SessionData): SessionSummary {
  return {
    seed: data.seed,
    tradingDate: data.tradingDate,
    days: data.tradingDates.length,
    tradingDates: data.tradingDates,
    accounts: data.accounts,
    faults: data.faults,
    brokerFaults: data.brokerFaults,
    bus: data.bus,
    orders: data.placed.length,
    refused: data.refused.length,
    refusedByCode: countBy(data.refused, (r) => r.code),
    failedRequests: data.failed.length,
    cancelsRequested: data.cancels.requested,
    skippedActions: data.skipped,
    fills: data.fillCount,
    byStatus: data.byStatus,
    breaksFound: data.breaksFound.length,
    breaksFoundByKind: countBy(data.breaksFound, (b) => b.kind),
    breaksOpen: data.breaksOpen.length,
    invariantViolations: data.violations.length,
    violations: data.violations.slice(0, 50),
    throughput: data.dayWallSeconds > 0 ? Math.round((data.placed.length / data.dayWallSeconds) * 100) / 100 : 0,
    latencyMs: {
      p50: percentile(data.ackLatencyMs, 50),
      p99: percentile(data.ackLatencyMs, 99),
      firstFillP50: percentile(data.firstFillLatencyMs, 50),
      firstFillP99: percentile(data.firstFillLatencyMs, 99),
      samples: data.ackLatencyMs.length,
      executionToLedgerP50: percentile(data.executionToLedgerMs, 50),
      executionToLedgerP99: percentile(data.executionToLedgerMs, 99),
    },
    recoveredByOpenOrderCheck: data.recoveredByOpenOrderCheck ?? 0,
    recoveredByOpenOrderCheckMeasured: data.recoveredByOpenOrderCheck !== null,
    settleTimeouts: data.settleTimeouts,
    dayWallSeconds: Math.round(data.dayWallSeconds * 10) / 10,
    busts: data.busts.filter((bust) => bust.state === 'busted').length,
    bustedAccounts: new Set(data.busts.map((bust) => bust.accountId)).size,
    byBroker: Object.fromEntries(
      Object.keys(data.brokerFaults).map((name) => [
        name,
        {
          orders: Object.values(data.servedBy).filter((broker) => broker === name).length,
          fills: data.brokerFills[name] ?? 0,
        },
      ]),
    ),
    outage: outageSummary(data),
  };
}

/** The orders placed while a broker was down, by the broker that served them ('none': never sent). */
function outageSummary(data: SessionData): SessionSummary['outage'] {
  const steps = new Set(Object.values(data.outageSteps).flat());
  const placed = data.placed.filter((p) => steps.has(p.step));
  return {
    windows: data.outageWindows,
    ordersPlaced: placed.length,
    servedBy: countBy(placed, (p) => data.servedBy[p.id] ?? 'none'),
    failoverChecked: data.routes,
  };
}

/** The counts that one seed must reproduce (timings and ids aside). */
export function reproducibleCounts(summary: SessionSummary) {
  return {
    orders: summary.orders,
    refusedByCode: summary.refusedByCode,
    fills: summary.fills,
    byStatus: summary.byStatus,
    breaksFound: summary.breaksFound,
    breaksOpen: summary.breaksOpen,
    invariantViolations: summary.invariantViolations,
    busts: summary.busts,
  };
}

/** `summary.json` and `report.html` (echarts inlined: the page opens from disk, offline). */
export async function writeReport(
  dir: string,
  summary: SessionSummary,
  data: SessionData,
): Promise<{ summaryPath: string; reportPath: string }> {
  await mkdir(dir, { recursive: true });
  const summaryPath = join(dir, 'summary.json');
  const reportPath = join(dir, 'report.html');
  await writeFile(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  const echarts = await readFile(createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'), 'utf8');
  await writeFile(reportPath, renderReportHtml({ summary, charts: chartData(data), echarts }));
  return { summaryPath, reportPath };
}

export function chartData(data: SessionData): ChartData {
  const symbols = [...new Set(data.prices.map((p) => p.symbol))].sort();
  const prices: ChartData['prices'] = {};
  const fills: ChartData['fills'] = {};
  for (const symbol of symbols) {
    prices[symbol] = data.prices.filter((p) => p.symbol === symbol).map((p) => [p.at, Number(p.price)]);
    fills[symbol] = { buy: [], sell: [] };
  }
  for (const fill of data.fills) {
    const at = fill.at instanceof Date ? fill.at.toISOString() : fill.at;
    // Prices are decimal strings everywhere else; a chart axis is the one place a float is fine.
    fills[fill.symbol]?.[fill.side].push([at, Number(fill.price)]);
  }
  const bucketEdges = [5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, Infinity];
  const bucketLabel = (edge: number, i: number) => (edge === Infinity ? `>${bucketEdges[i - 1]} ms` : `≤${edge} ms`);
  const histogram = (values: readonly number[]) =>
    bucketEdges.map((edge, i) => values.filter((v) => v <= edge && (i === 0 || v > bucketEdges[i - 1]!)).length);
  const kinds = [...new Set([...data.breaksFound, ...data.breaksOpen].map((b) => b.kind))].sort();
  const throughput: ChartData['throughput'] = [];
  let previous = { wallSeconds: 0, orders: 0, fills: 0 };
  for (const point of data.throughput) {
    const seconds = Math.max(0.001, point.wallSeconds - previous.wallSeconds);
    throughput.push({
      wallSeconds: Math.round(point.wallSeconds * 10) / 10,
      simTime: point.simTime,
      ordersPerSecond: Math.round(((point.orders - previous.orders) / seconds) * 10) / 10,
      fillsPerSecond: Math.round(((point.fills - previous.fills) / seconds) * 10) / 10,
    });
    previous = point;
  }
  return {
    symbols,
    prices,
    fills,
    byStatus: Object.entries(data.byStatus),
    latency: {
      buckets: bucketEdges.map(bucketLabel),
      ack: histogram(data.ackLatencyMs),
      firstFill: histogram(data.firstFillLatencyMs),
    },
    breaks: {
      kinds,
      found: kinds.map((kind) => data.breaksFound.filter((b) => b.kind === kind).length),
      open: kinds.map((kind) => data.breaksOpen.filter((b) => b.kind === kind).length),
    },
    throughput,
    busts: data.busts,
    ...brokerCharts(data),
  };
}

const STATE_VALUE: Record<string, number> = { healthy: 2, degraded: 1, down: 0 };

function brokerCharts(data: SessionData): Pick<ChartData, 'ordersByBroker' | 'brokerHealth'> {
  const brokers = Object.keys(data.brokerFaults);
  const steps = data.brokerHealth.map((h) => h.at);
  const stepIndex = new Map(data.brokerHealth.map((h, i) => [h.step, i]));
  const counts = brokers.map(() => steps.map(() => 0));
  for (const placed of data.placed) {
    const broker = brokers.indexOf(data.servedBy[placed.id] ?? '');
    const step = stepIndex.get(placed.step);
    if (broker >= 0 && step !== undefined) counts[broker]![step]!++;
  }
  return {
    ordersByBroker: { steps, brokers, counts },
    brokerHealth: {
      steps,
      brokers,
      up: brokers.map((name) => data.brokerHealth.map((h) => (h.brokers[name]?.up ? 1 : 0))),
      state: brokers.map((name) =>
        data.brokerHealth.map((h) => {
          const state = h.brokers[name]?.state;
          return state ? (STATE_VALUE[state] ?? null) : null;
        }),
      ),
    },
  };
}
