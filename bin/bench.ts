import { firstLine, runCommand } from '../platform/index.ts';

/** `npm run bench [-- suite ...]`: runs the named benchmark suites, or all of them. One line per suite. */
const suites: Record<string, () => Promise<void>> = {
  ledger: () => import('../ledger/ledger.bench.ts').then((m) => m.runLedgerBenchmark()),
  e2e: () => import('./bench/e2e.bench.ts').then((m) => m.runE2eBenchmark()),
  reconcile: () => import('../reconciler/reconcile.bench.ts').then((m) => m.runReconcileBenchmark()),
};

const requested = process.argv.slice(2);
if (requested.includes('--help') || requested.includes('-h')) {
  process.stdout.write(
    [
      'Usage: npm run bench [-- suite ...]',
      '',
      `Runs the named benchmark suites (${Object.keys(suites).join(', ')}), or all of them, and prints their figures.`,
      '  ledger     concurrent ledger settlements (BENCH_WORKERS, BENCH_SECONDS, BENCH_BATCH)',
      '  e2e        the whole system over HTTP (BENCH_CLIENTS, BENCH_SECONDS, BENCH_CEILING_SECONDS,',
      '             BENCH_HISTORY, BENCH_RESULTS); JSON to bench-results/latest.json',
      '  reconcile  reconciling a large day (BENCH_EXECUTIONS, BENCH_INGEST)',
      'PostgreSQL: a throwaway database on DATABASE_URL, else embedded. Kafka: KAFKA_BROKERS, else started here.',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const unknown = requested.filter((name) => !(name in suites));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark suite(s): ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}\n`);
  process.exit(2);
}
await runCommand(
  async () => {
    for (const name of requested.length > 0 ? requested : Object.keys(suites)) await suites[name]!();
    return 0;
  },
  { name: 'bench', describeFailure: (error) => `bench failed: ${firstLine(error)}` },
);
