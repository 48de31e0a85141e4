import type { Run } from '../runs/reconciliation.schemas.ts';

const CSV_COLUMNS = [
  'runId',
  'date',
  'status',
  'kind',
  'symbol',
  'orderId',
  'execId',
  'expected',
  'actual',
  'resolution',
  // Last, so the columns of files read before there were several brokers keep their places.
  'broker',
] as const;

const csvField = (value: string | null) => {
  const text = value ?? '';
  // Quoted when needed; a leading formula character is defused so a spreadsheet never evaluates it.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** One line per break (a clean run: the header only), RFC 4180. */
export function runAsCsv(run: Run): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const b of run.breaks) {
    lines.push(
      [
        run.id,
        run.date,
        run.status,
        b.kind,
        b.symbol,
        b.orderId,
        b.execId,
        b.expected,
        b.actual,
        b.resolution,
        b.broker,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** For a terminal: the verdict, what was checked, and the breaks as aligned columns. */
export function runAsTable(run: Run): string {
  const open = run.breaks.filter((b) => b.open).length;
  const head = [
    `reconciliation ${run.id}`,
    `date ${run.date}: ${run.status.toUpperCase()}`,
    `checked ${run.checked.executions} executions, ${run.checked.orders} orders, ${run.checked.positions} positions and the cash`,
    `breaks ${run.breaks.length}, open ${open}`,
  ];
  if (run.breaks.length === 0) return `${head.join('\n')}\n`;
  const header = ['kind', 'broker', 'symbol', 'order', 'execution', 'expected (broker)', 'actual (ours)', 'resolution'];
  const rows = run.breaks.map((b) => [
    b.kind,
    b.broker ?? 'all',
    b.symbol ?? '',
    b.orderId ?? '',
    b.execId ?? '',
    b.expected ?? '',
    b.actual ?? '',
    b.resolution ?? '',
  ]);
  // The last column is free text: not padded.
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${head.join('\n')}\n\n${[line(header), ...rows.map(line)].join('\n')}\n`;
}
