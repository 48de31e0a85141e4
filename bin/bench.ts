/** `npm run bench [-- suite ...]`: runs the named benchmark suites, or all of them. One line per suite. */
const suites: Record<string, () => Promise<void>> = {
  ledger: () => import('../ledger/ledger.bench.ts').then((m) => m.runLedgerBenchmark()),
  e2e: () => import('./bench/e2e.bench.ts').then((m) => m.runE2eBenchmark()),
  reconcile: () => import('../reconciler/reconcile.bench.ts').then((m) => m.runReconcileBenchmark()),
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in suites));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark suite(s): ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}\n`);
  process.exit(2);
}
for (const name of requested.length > 0 ? requested : Object.keys(suites)) {
  await suites[name]!();
}
