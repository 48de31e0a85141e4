import type { ChartData, SessionSummary } from './session.types.ts';

/** JSON that is safe inside a <script> element. */
const embed = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The report page: one self-contained file (the charting library inlined) that shows the day.
 * Each chart is drawn by echarts into a `.chart` element; `window.sessionChartsDrawn` counts them.
 */
export function renderReportHtml(input: { summary: SessionSummary; charts: ChartData; echarts: string }): string {
  const { summary, charts } = input;
  const verdict = summary.breaksOpen === 0 && summary.invariantViolations === 0 ? 'PASS' : 'FAIL';
  const rows: [string, unknown][] = [
    ['seed', summary.seed],
    ['trading dates', summary.tradingDates.join(', ')],
    ['faults', summary.faults || 'none'],
    [
      'faults by broker',
      Object.entries(summary.brokerFaults)
        .map(([name, faults]) => `${name}: ${faults || 'none'}`)
        .join('; '),
    ],
    [
      'orders / fills by broker',
      Object.entries(summary.byBroker)
        .map(([name, b]) => `${name} ${b.orders} / ${b.fills}`)
        .join(', '),
    ],
    [
      'orders placed while a broker was down, by the broker that served them',
      summary.outage.ordersPlaced === 0
        ? 'none'
        : `${summary.outage.ordersPlaced}: ${Object.entries(summary.outage.servedBy)
            .map(([name, n]) => `${name} ${n}`)
            .join(', ')}${summary.outage.failoverChecked ? '' : ' (failover not checked: the system does not route)'}`,
    ],
    ['bus', summary.bus],
    ['accounts', summary.accounts],
    ['orders accepted', summary.orders],
    [
      'orders refused',
      `${summary.refused} (${Object.entries(summary.refusedByCode)
        .map(([code, n]) => `${code} ${n}`)
        .join(', ')})`,
    ],
    ['fills', summary.fills],
    ['breaks found / open', `${summary.breaksFound} / ${summary.breaksOpen}`],
    ['trades busted by the broker (accounts touched)', `${summary.busts} (${summary.bustedAccounts})`],
    ['invariant violations', summary.invariantViolations],
    ['throughput (accepted orders per wall second)', summary.throughput],
    ['latency to broker answer p50 / p99 (ms)', `${summary.latencyMs.p50} / ${summary.latencyMs.p99}`],
    [
      "broker's execution to our ledger p50 / p99 (ms)",
      `${summary.latencyMs.executionToLedgerP50} / ${summary.latencyMs.executionToLedgerP99}`,
    ],
    [
      'executions recovered by the open-order check',
      summary.recoveredByOpenOrderCheckMeasured ? summary.recoveredByOpenOrderCheck : 'not counted by this build',
    ],
    ['wall time of the trading days (s)', summary.dayWallSeconds],
  ];
  const table = rows
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(String(value))}</td></tr>`)
    .join('');
  const violations = summary.violations
    .map((v) => `<li><b>${escapeHtml(v.check)}</b>: ${escapeHtml(v.message)}</li>`)
    .join('');
  const busts = charts.busts
    .map(
      (b) =>
        `<tr>${[
          b.accountId,
          b.orderId,
          b.refExecId,
          `${b.side} ${b.quantity} ${b.symbol} @ ${b.price}`,
          b.state,
          b.execId,
        ]
          .map((cell) => `<td>${escapeHtml(cell)}</td>`)
          .join('')}</tr>`,
    )
    .join('');
  const priceCharts = charts.symbols
    .map((symbol) => `<div class="chart small" id="price-${escapeHtml(symbol)}"></div>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Session ${escapeHtml(String(summary.seed))}: ${verdict}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 span { color: ${verdict === 'PASS' ? '#1a7f37' : '#cf222e'}; }
  table { border-collapse: collapse; } th, td { text-align: left; padding: 2px 12px 2px 0; } th { white-space: nowrap; }
  .chart { width: 100%; height: 320px; } .small { width: 49%; height: 240px; display: inline-block; }
  section { margin-top: 1.5rem; }
</style>
</head>
<body>
<h1>Simulated session <span>${verdict}</span></h1>
<table>${table}</table>
${violations ? `<h2>Violations</h2><ul>${violations}</ul>` : ''}
${busts ? `<section><h2>Trades busted or corrected by the broker, by account</h2><table><tr><th>account</th><th>order</th><th>trade</th><th>fill</th><th>state</th><th>by</th></tr>${busts}</table></section>` : ''}
<section><h2>Price paths with fills (the simulated day; times in this browser's time zone)</h2>${priceCharts}</section>
<section><h2>Orders by final status</h2><div class="chart" id="status"></div></section>
<section><h2>Latency from placement (wall ms)</h2><div class="chart" id="latency"></div></section>
<section><h2>Reconciliation breaks</h2><div class="chart" id="breaks"></div></section>
<section><h2>Throughput over the day (per wall second, by clock step)</h2><div class="chart" id="throughput"></div></section>
<section><h2>Orders placed per clock step, by the broker that served them</h2><div class="chart" id="orders-by-broker"></div></section>
<section><h2>Broker health after each clock step (up/down by its faults; the system's view: 2 healthy, 1 degraded, 0 down)</h2><div class="chart" id="broker-health"></div></section>
<script>${input.echarts.replace(/<\/script/gi, '<\\/script')}</script>
<script>
const charts = ${embed(charts)};
window.sessionChartsDrawn = 0;
function draw(id, option) {
  const chart = echarts.init(document.getElementById(id));
  chart.setOption(Object.assign({ animation: false, tooltip: { trigger: 'axis' } }, option));
  window.sessionChartsDrawn++;
}
for (const symbol of charts.symbols) {
  draw('price-' + symbol, {
    title: { text: symbol, left: 'center', textStyle: { fontSize: 13 } },
    legend: { bottom: 0, data: ['price', 'buy fill', 'sell fill'] },
    xAxis: { type: 'time' }, yAxis: { type: 'value', scale: true },
    series: [
      { name: 'price', type: 'line', showSymbol: false, data: charts.prices[symbol] },
      { name: 'buy fill', type: 'scatter', symbolSize: 6, itemStyle: { color: '#1a7f37' }, data: charts.fills[symbol].buy },
      { name: 'sell fill', type: 'scatter', symbolSize: 6, itemStyle: { color: '#cf222e' }, data: charts.fills[symbol].sell },
    ],
  });
}
draw('status', {
  xAxis: { type: 'category', data: charts.byStatus.map((s) => s[0]) }, yAxis: { type: 'value' },
  series: [{ name: 'orders', type: 'bar', data: charts.byStatus.map((s) => s[1]), label: { show: true, position: 'top' } }],
});
draw('latency', {
  legend: { data: ['to broker answer', 'to first fill'] },
  xAxis: { type: 'category', data: charts.latency.buckets }, yAxis: { type: 'value', name: 'orders' },
  series: [
    { name: 'to broker answer', type: 'bar', data: charts.latency.ack },
    { name: 'to first fill', type: 'bar', data: charts.latency.firstFill },
  ],
});
draw('breaks', {
  title: charts.breaks.kinds.length ? undefined : { text: 'no breaks found', left: 'center', top: 'middle', textStyle: { color: '#888' } },
  legend: { data: ['found', 'still open after repair'] },
  xAxis: { type: 'category', data: charts.breaks.kinds }, yAxis: { type: 'value' },
  series: [
    { name: 'found', type: 'bar', data: charts.breaks.found },
    { name: 'still open after repair', type: 'bar', data: charts.breaks.open },
  ],
});
draw('throughput', {
  legend: { data: ['orders/s', 'fills/s'] },
  xAxis: { type: 'category', name: 'wall s', data: charts.throughput.map((p) => p.wallSeconds) }, yAxis: { type: 'value' },
  series: [
    { name: 'orders/s', type: 'line', data: charts.throughput.map((p) => p.ordersPerSecond) },
    { name: 'fills/s', type: 'line', data: charts.throughput.map((p) => p.fillsPerSecond) },
  ],
});
draw('orders-by-broker', {
  legend: { data: charts.ordersByBroker.brokers },
  xAxis: { type: 'time' }, yAxis: { type: 'value', name: 'orders' },
  series: charts.ordersByBroker.brokers.map((name, i) => ({
    name, type: 'bar', stack: 'orders',
    data: charts.ordersByBroker.steps.map((at, step) => [at, charts.ordersByBroker.counts[i][step]]),
  })),
});
draw('broker-health', {
  legend: {},
  xAxis: { type: 'time' }, yAxis: { type: 'value', min: 0, max: 2, interval: 1 },
  series: charts.brokerHealth.brokers.flatMap((name, i) => [
    { name: name + ' up', type: 'line', step: 'end',
      data: charts.brokerHealth.steps.map((at, step) => [at, charts.brokerHealth.up[i][step]]) },
    { name: name + ' (system)', type: 'line', step: 'end', lineStyle: { type: 'dashed' }, connectNulls: false,
      data: charts.brokerHealth.steps.map((at, step) => [at, charts.brokerHealth.state[i][step]]) },
  ]),
});
</script>
</body>
</html>
`;
}
