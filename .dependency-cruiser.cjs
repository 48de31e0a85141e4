/**
 * The folders show the flow (README, "Where things are"). ESLint keeps components behind their
 * index.ts and pure files pure; this keeps the direction of the flow and the absence of cycles
 * between folders. Spec and bench files are left out: like bin/ and test/support/, they compose.
 */
const notTest = '\\.(spec|bench)\\.ts$';

/** A component imports only the ones after it here; bin/ and test/ (composition roots) import all. */
const layers = ['ops-console', 'reconciler', 'order-gateway', 'broker-adapter|ledger', 'platform'];

module.exports = {
  forbidden: [
    ...layers.slice(1).map((layer, index) => ({
      name: `no-import-up-from-${layer.replace('|', '-or-')}`,
      comment: `${layer} is called by the components before it in the flow; it never imports them or bin/ and test/`,
      severity: 'error',
      from: { path: `^(${layer})/` },
      to: { path: `^(${[...layers.slice(0, index + 1), 'bin', 'test'].join('|')})/` },
    })),
    {
      name: 'no-component-imports-a-composition-root',
      severity: 'error',
      from: { path: `^(${layers.join('|')})/` },
      to: { path: '^(bin|test)/' },
    },
    {
      name: 'broker-and-ledger-apart',
      comment:
        'The broker adapter and the ledger are both downstream of the trading server and know nothing of each other.',
      severity: 'error',
      from: { path: '^broker-adapter/' },
      to: { path: '^ledger/' },
    },
    {
      name: 'broker-and-ledger-apart-too',
      severity: 'error',
      from: { path: '^ledger/' },
      to: { path: '^broker-adapter/' },
    },
    {
      name: 'the-simulator-is-the-outside-world',
      comment: 'Nothing of ours imports the simulated broker; only composition roots (bin/, test/support/) start it.',
      severity: 'error',
      from: { pathNot: '^(broker-adapter/simulator|bin|test)/' },
      to: { path: '^broker-adapter/simulator/' },
    },
    {
      name: 'broker-adapter-flow',
      comment:
        'Inside broker-adapter the flow is client → (broker) → fill-receiver → executions: nothing imports a folder before it.',
      severity: 'error',
      from: { path: '^broker-adapter/(executions|market-calendar|http)/' },
      to: { path: '^broker-adapter/(client|fill-receiver|simulator)/' },
    },
    {
      name: 'fill-receiver-never-calls-the-broker',
      severity: 'error',
      from: { path: '^broker-adapter/fill-receiver/' },
      to: { path: '^broker-adapter/client/' },
    },
    {
      name: 'no-folder-cycle',
      comment: 'No import cycle between folders: between components, nor between broker-adapter folders.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^(ops-console|broker-adapter|ledger|reconciler|platform|bin)(/|$)' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle-in-order-gateway',
      comment: "No import cycle between order-gateway's folders: orders/ never imports requests/, http/ no feature.",
      severity: 'error',
      scope: 'folder',
      from: { path: '^order-gateway(/|$)' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: [notTest, '^node_modules/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
  },
};
