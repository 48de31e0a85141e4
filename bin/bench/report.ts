import type { EventClientsResult } from './event-clients.ts';
import type { Percentiles } from './measure.ts';
import { markdownTable } from 'markdown-table';

/** The stages of an order's path, in order, each timed from the moment its client sent the request. */
export const STAGES = ['committed', 'relayed', 'queued', 'acknowledged', 'executed', 'received', 'filled'] as const;
export type Stage = (typeof STAGES)[number];

/** What a phase cost each process of the system, and PostgreSQL and Kafka (cores: CPU time over wall time). */
export interface PhaseCost {
  orders: number;
  seconds: number;
  processes: {
    name: string;
    cpuCores: number;
    sqlPerOrder: number;
    sqlWaitMsPerOrder: number;
    eventLoopDelayP99Ms: number;
    topStatements: { statement: string; perOrder: number; waitMsPerOrder: number }[];
  }[];
  benchClientsCpuCores: number;
  postgresCpuCores: number | null;
  kafkaCpuCores: number | null;
}

export interface PhaseResult {
  historyOrders: number;
  clients: number;
  placed: { count: number; failed: number; perSecond: number };
  filledPerSecond: number;
  settledPerSecond: number;
  filledThroughDrainPerSecond: number;
  unfilledAfterDrain: number;
  drainSeconds: number;
  latencyMs: { httpAnswer: Percentiles; brokerAcknowledged: Percentiles; filledInLedger: Percentiles };
  stagesMs: Record<Stage, Percentiles>;
  memory: { maxRssMb: number; maxHeapUsedMb: number; samples: number };
  cost: PhaseCost;
  /** BENCH_SSE_CLIENTS streams following the phase's accounts (the memory above includes them). */
  eventStreams?: EventClientsResult;
}

export interface E2eReport {
  at: string;
  machine: { cpus: number; loadAverageBefore: number[]; loadAverageAfter: number[] };
  setup: {
    postgres: string;
    kafka: string;
    clients: number;
    secondsPerPhase: number;
    ceilingSeconds: number;
    brokerLatencyMs: number;
    sseClients: number;
  };
  phases: PhaseResult[];
  ceilings: {
    bareInsert: { rate: number; latencyMs: Percentiles };
    emptyRoute: { rate: number; latencyMs: Percentiles };
    kafkaRoundTrip: { rate: number; completed: number; latencyMs: Percentiles };
  };
}

export function printReport(report: E2eReport): void {
  const { setup, ceilings } = report;
  const out = (text: string) => process.stdout.write(text);
  out(
    `e2e: ${setup.postgres}, Kafka from ${setup.kafka}, broker latency 0 ms, ${setup.clients} clients, ` +
      `${setup.secondsPerPhase} s per phase; load average ${report.machine.loadAverageBefore.join(' ')} before, ` +
      `${report.machine.loadAverageAfter.join(' ')} after (${report.machine.cpus} CPUs)\n`,
  );
  const ratio = (value: number, ceiling: number) => (ceiling > 0 ? (value / ceiling).toFixed(3) : 'n/a');
  const rows: string[][] = [];
  for (const phase of report.phases) {
    const h = phaseName(phase);
    rows.push(
      [
        h,
        'orders placed (HTTP 201)',
        `${phase.placed.perSecond}/s`,
        `${ratio(phase.placed.perSecond, ceilings.emptyRoute.rate)} of empty route`,
      ],
      [
        h,
        'fills recorded while placing',
        `${phase.filledPerSecond}/s`,
        `${ratio(phase.filledPerSecond, ceilings.bareInsert.rate)} of bare insert`,
      ],
      [
        h,
        'fills settled (ledger), placing',
        `${phase.settledPerSecond}/s`,
        `${ratio(phase.settledPerSecond, ceilings.bareInsert.rate)} of bare insert`,
      ],
      [
        h,
        'filled, placing + drain',
        `${phase.filledThroughDrainPerSecond}/s`,
        `${ratio(phase.filledThroughDrainPerSecond, ceilings.bareInsert.rate)} of bare insert`,
      ],
      [
        h,
        'request to HTTP answer',
        ms(phase.latencyMs.httpAnswer),
        `p50 ${ratio(phase.latencyMs.httpAnswer.p50, ceilings.emptyRoute.latencyMs.p50)}x empty route`,
      ],
      [
        h,
        'request to broker ack',
        ms(phase.latencyMs.brokerAcknowledged),
        `p50 ${ratio(phase.latencyMs.brokerAcknowledged.p50, ceilings.kafkaRoundTrip.latencyMs.p50)}x Kafka round trip`,
      ],
      [
        h,
        'request to fill in ledger',
        ms(phase.latencyMs.filledInLedger),
        `p50 ${ratio(phase.latencyMs.filledInLedger.p50, ceilings.kafkaRoundTrip.latencyMs.p50)}x Kafka round trip`,
      ],
      [h, 'unfilled after drain / drain', `${phase.unfilledAfterDrain} / ${phase.drainSeconds} s`, ''],
      [
        h,
        'memory peak (benchmark clients)',
        `rss ${phase.memory.maxRssMb} MB, heap ${phase.memory.maxHeapUsedMb} MB`,
        '',
      ],
    );
    if (phase.eventStreams) {
      const streams = phase.eventStreams;
      rows.push(
        [
          h,
          `event streams (${streams.connected}/${streams.streams} connected)`,
          `${streams.events} events, ${streams.cutOff} cut off`,
          '',
        ],
        [h, 'event written to client', ms(streams.delayMs), ''],
      );
    }
  }
  rows.push(
    ...report.phases.flatMap((phase) =>
      STAGES.map((stage) => [phaseName(phase), `stage: ${stage}`, ms(phase.stagesMs[stage]), STAGE_MEANING[stage]]),
    ),
    ['ceiling', 'bare one-row INSERT transactions', `${ceilings.bareInsert.rate}/s`, ms(ceilings.bareInsert.latencyMs)],
    ['ceiling', 'fastify empty route over HTTP', `${ceilings.emptyRoute.rate}/s`, ms(ceilings.emptyRoute.latencyMs)],
    [
      'ceiling',
      'kafkajs produce+consume round trip',
      `${ceilings.kafkaRoundTrip.rate}/s`,
      ms(ceilings.kafkaRoundTrip.latencyMs),
    ],
  );
  out(`${markdownTable([['phase', 'measurement', 'figure', 'vs ceiling'], ...rows])}\n`);
  printCosts(report.phases, out);
  if (report.phases.length >= 2) {
    const first = report.phases[0]!;
    const last = report.phases[report.phases.length - 1]!;
    out(
      `e2e: cost per order at ${last.historyOrders.toLocaleString('en-US')} vs ${first.historyOrders.toLocaleString('en-US')} orders of history: ` +
        `placing ${ratio(first.placed.perSecond, last.placed.perSecond)}x, settling ${ratio(first.settledPerSecond, last.settledPerSecond)}x (1.0 = flat)\n`,
    );
  }
}

function phaseName(phase: PhaseResult): string {
  return `${phase.historyOrders.toLocaleString('en-US')} orders, ${phase.clients} clients`;
}

/** Where each phase's time went: CPU per process (in cores), SQL round trips and their wait per order placed. */
function printCosts(phases: readonly PhaseResult[], out: (text: string) => void): void {
  const cores = (value: number | null) => (value === null ? 'n/a' : value.toFixed(2));
  const rows: string[][] = [];
  for (const phase of phases) {
    const { cost } = phase;
    for (const p of cost.processes) {
      rows.push([
        phaseName(phase),
        p.name,
        cores(p.cpuCores),
        String(p.sqlPerOrder),
        String(p.sqlWaitMsPerOrder),
        String(p.eventLoopDelayP99Ms),
      ]);
    }
    rows.push(
      [phaseName(phase), 'benchmark clients', cores(cost.benchClientsCpuCores), '', '', ''],
      [phaseName(phase), 'PostgreSQL', cores(cost.postgresCpuCores), '', '', ''],
      [phaseName(phase), 'Kafka', cores(cost.kafkaCpuCores), '', '', ''],
    );
  }
  out(
    `e2e: cost per phase, from its first request to its last fill (CPU in cores of ${phases[0]?.cost.seconds ?? 0} s or so; SQL per order placed)\n`,
  );
  out(
    `${markdownTable([['phase', 'process', 'CPU (cores)', 'SQL round trips / order', 'SQL wait ms / order', 'event loop p99 ms'], ...rows])}\n`,
  );
  const first = phases[0];
  if (!first) return;
  const statements: string[][] = [];
  for (const p of first.cost.processes) {
    for (const s of p.topStatements)
      statements.push([p.name, s.statement, String(s.perOrder), String(s.waitMsPerOrder)]);
  }
  out(`e2e: SQL statements per order placed, ${phaseName(first)}\n`);
  out(`${markdownTable([['process', 'statement', 'per order', 'wait ms / order'], ...statements])}\n`);
}

function ms(p: Percentiles): string {
  return `p50 ${p.p50} / p99 ${p.p99} / max ${p.max} ms`;
}

const STAGE_MEANING: Record<Stage, string> = {
  committed: 'order row written (orders.created_at)',
  relayed: 'outbox row sent to Kafka (outbox.sent_at)',
  queued: 'request server stored it (broker_submissions.created_at)',
  acknowledged: 'broker answered (submission updated to acknowledged)',
  executed: 'broker made the trade report (broker_executions.created_at)',
  received: 'fill receiver put it on Kafka (fill_receiver_received)',
  filled: 'fill applied, ledger settled (order_fills.recorded_at)',
};
