import { describe, expect, it } from 'vitest';
import type { Run } from '../runs/reconciliation.schemas.ts';
import { runAsCsv, runAsTable } from './run-formats.ts';

const aRun = (breaks: Run['breaks'] = []): Run => ({
  id: '6f1c0c1e-0000-4000-8000-000000000001',
  date: '2026-11-24',
  status: breaks.length > 0 ? 'breaks' : 'clean',
  checked: { orders: 2, executions: 3, positions: 1 },
  breaks,
});
const aBreak = (overrides: Partial<Run['breaks'][number]> = {}): Run['breaks'][number] => ({
  id: '1',
  kind: 'MISSING_EXECUTION',
  broker: 'primary',
  symbol: 'AAPL',
  orderId: 'o-1',
  execId: 'e-1',
  expected: 'buy 3 AAPL @ 187.2 on order o-1',
  actual: null,
  resolution: 'open: run with repair',
  open: true,
  ...overrides,
});

describe('run formats', () => {
  it('writes one CSV line per break, quoting commas and quotes and defusing formulas', () => {
    const csv = runAsCsv(
      aRun([
        aBreak({ resolution: 'open: "check", then fix' }),
        aBreak({ kind: 'CASH_MISMATCH', expected: '-561.75', symbol: null, broker: null }),
      ]),
    );
    const lines = csv.trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('runId,date,status,kind,symbol,orderId,execId,expected,actual,resolution,broker');
    expect(lines[1]).toMatch(/,primary$/);
    expect(lines[1]).toContain('"open: ""check"", then fix"');
    expect(lines[2]).toContain(",'-561.75,");
  });

  it('writes a clean run as a header only, and a table that says so', () => {
    expect(runAsCsv(aRun()).split('\r\n').filter(Boolean)).toHaveLength(1);
    expect(runAsTable(aRun())).toContain('2026-11-24: CLEAN');
  });

  it('lists each break in the table', () => {
    const table = runAsTable(aRun([aBreak(), aBreak({ execId: 'e-2' })]));
    expect(table).toContain('breaks 2, open 2');
    expect(table.split('\n').filter((line) => line.startsWith('MISSING_EXECUTION'))).toHaveLength(2);
  });
});
