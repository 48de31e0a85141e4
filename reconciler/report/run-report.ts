import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Run } from '../runs/reconciliation.schemas.ts';

export interface TimelinePoint {
  bucket: Date;
  broker: number;
  ours: number;
}

let echartsSource: string | undefined;
/** The chart library itself, inlined so the report opens from disk with no network. */
function echarts(): string {
  echartsSource ??= readFileSync(createRequire(import.meta.url).resolve('echarts/dist/echarts.common.min.js'), 'utf8');
  return echartsSource;
}

const escapeHtml = (text: string | null) =>
  (text ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** Inside <script>: JSON that cannot close the script element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const newYorkTime = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/**
 * A self-contained HTML report of a run: the verdict, breaks counted by kind and symbol, every break
 * with what an operator needs, and a chart of the broker's and our executions over the New York day.
 */
export function renderRunReport(run: Run, timeline: readonly TimelinePoint[]): string {
  const open = run.breaks.filter((b) => b.open);
  const kinds = [...new Set(run.breaks.map((b) => b.kind))].sort();
  const symbols = [...new Set(run.breaks.map((b) => b.symbol ?? '(all)'))].sort();
  const count = (kind: string, symbol: string) =>
    run.breaks.filter((b) => b.kind === kind && (b.symbol ?? '(all)') === symbol).length;
  const matrix =
    kinds.length === 0
      ? '<p class="ok">No breaks: our books match the broker\'s.</p>'
      : `<table><thead><tr><th>kind</th>${symbols.map((s) => `<th>${escapeHtml(s)}</th>`).join('')}<th>total</th></tr></thead><tbody>${kinds
          .map(
            (kind) =>
              `<tr><th>${kind}</th>${symbols.map((s) => `<td>${count(kind, s) || ''}</td>`).join('')}<td>${run.breaks.filter((b) => b.kind === kind).length}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const rows = run.breaks
    .map(
      (b) =>
        `<tr class="${b.resolution?.startsWith('repaired') ? 'repaired' : 'open'}"><td>${b.kind}</td><td>${escapeHtml(b.symbol)}</td><td><code>${escapeHtml(b.orderId)}</code></td><td><code>${escapeHtml(b.execId)}</code></td><td>${escapeHtml(b.expected)}</td><td>${escapeHtml(b.actual)}</td><td>${escapeHtml(b.resolution)}</td></tr>`,
    )
    .join('');
  const chart = {
    labels: timeline.map((p) => newYorkTime.format(p.bucket)),
    broker: timeline.map((p) => p.broker),
    ours: timeline.map((p) => p.ours),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reconciliation ${escapeHtml(run.date)}: ${run.status}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}h1 span{padding:.1em .5em;border-radius:.3em;color:#fff}
.clean{background:#2a7}.repaired{background:#37a}.breaks{background:#c33}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}tr.open td:first-child{border-left:4px solid #c33}
tr.repaired td:first-child{border-left:4px solid #37a}tr.repaired{background:none}.ok{color:#2a7}#chart{width:100%;height:320px}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}code{font-size:12px}
</style></head><body>
<h1>Reconciliation of ${escapeHtml(run.date)} <span class="${run.status}">${run.status}</span></h1>
<dl><dt>run</dt><dd><code>${escapeHtml(run.id)}</code></dd><dt>checked</dt><dd>${run.checked.executions} executions, ${run.checked.orders} orders, ${run.checked.positions} positions and the cash</dd>
<dt>breaks</dt><dd>${run.breaks.length} (${open.length} open)</dd></dl>
<h2>Breaks by kind and symbol</h2>${matrix}
<h2>Executions over the day (New York time, per 5 minutes)</h2><div id="chart"></div>
${run.breaks.length > 0 ? `<h2>Every break</h2><p>Expected is the broker's statement, actual our books.</p><table><thead><tr><th>kind</th><th>symbol</th><th>order</th><th>execution</th><th>expected</th><th>actual</th><th>resolution</th></tr></thead><tbody>${rows}</tbody></table>` : ''}
<script>${echarts()}</script>
<script>
const data = ${scriptJson(chart)};
const chart = echarts.init(document.getElementById('chart'));
chart.setOption({
  tooltip: { trigger: 'axis' }, legend: { data: ['broker', 'ours'] },
  xAxis: { type: 'category', data: data.labels }, yAxis: { type: 'value', name: 'executions' },
  series: [{ name: 'broker', type: 'bar', data: data.broker }, { name: 'ours', type: 'line', data: data.ours }],
});
addEventListener('resize', () => chart.resize());
</script></body></html>
`;
}
