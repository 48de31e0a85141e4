import { describe, expect, it } from 'vitest';
import { ExecutionReport } from './execution-report.schemas.ts';

function aReport(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    execId: 'b-1.2',
    brokerOrderId: 'b-1',
    clientOrderId: '6f1c1e6a-8a7e-4f53-9d1b-0c3c0f1d2a11',
    account: 'acc-1',
    symbol: 'AAPL',
    side: 'buy',
    execType: 'trade',
    orderStatus: 'partially_filled',
    lastQuantity: '4',
    lastPrice: '187.20',
    cumulativeQuantity: '4',
    leavesQuantity: '6',
    averagePrice: '187.2000',
    orderQuantity: '10',
    rejectReason: null,
    transactTime: '2026-11-24T15:00:00.000Z',
    sequence: 7,
    ...overrides,
  };
}

describe('ExecutionReport', () => {
  it('accepts a consistent report and defaults a missing rejectReason to null', () => {
    const { rejectReason: _omitted, ...withoutReason } = aReport();
    expect(ExecutionReport.parse(withoutReason).rejectReason).toBeNull();
  });

  it.each([
    ['a number for a quantity', { lastQuantity: 4 }],
    ['an exponent', { lastPrice: '1e2' }],
    ['leaves that do not add up', { leavesQuantity: '5' }],
    ['leaves on a final order', { orderStatus: 'filled', cumulativeQuantity: '10', lastQuantity: '4' }],
    ['a trade without quantity', { lastQuantity: '0' }],
    ['a fill on a report that is not a trade', { execType: 'new' }],
    ['more filled than ordered', { cumulativeQuantity: '11', leavesQuantity: '-1' }],
    ['a local time', { transactTime: '2026-11-24T10:00:00-05:00' }],
    ['a fractional sequence', { sequence: 1.5 }],
    ['an unknown exec type', { execType: 'fill' }],
    ['a missing account', { account: undefined }],
    ['a trade naming a trade it refers to', { refExecId: 'b-1.1' }],
    ['a bust without the trade it busts', { execType: 'trade_cancel', lastQuantity: '0', lastPrice: '0' }],
    ['a bust with a quantity', { execType: 'trade_cancel', refExecId: 'b-1.1' }],
    ['a bust of itself', { execType: 'trade_cancel', refExecId: 'b-1.2', lastQuantity: '0', lastPrice: '0' }],
    ['a correct without a new price', { execType: 'trade_correct', refExecId: 'b-1.1', lastPrice: '0' }],
  ])('refuses %s', (_name, overrides) => {
    expect(ExecutionReport.safeParse(aReport(overrides)).success).toBe(false);
  });
});

describe('ExecutionReport of a trade correction', () => {
  it('accepts a bust (trade_cancel) naming the trade it busts, with no quantity of its own', () => {
    const bust = aReport({
      execType: 'trade_cancel',
      refExecId: 'b-1.1',
      lastQuantity: '0',
      lastPrice: '0',
      cumulativeQuantity: '0',
      leavesQuantity: '10',
      averagePrice: '0',
      orderStatus: 'new',
    });
    expect(ExecutionReport.parse(bust).refExecId).toBe('b-1.1');
  });

  it('accepts a trade_correct with the trade as it now is', () => {
    const correct = ExecutionReport.parse(
      aReport({ execType: 'trade_correct', refExecId: 'b-1.1', lastPrice: '187.10' }),
    );
    expect([correct.lastQuantity, correct.lastPrice]).toEqual(['4', '187.10']);
  });
});

describe('ExecutionReport against garbage in its decimal fields', () => {
  const valid = {
    execId: 'E1',
    brokerOrderId: 'B1',
    clientOrderId: 'C1',
    account: 'A1',
    symbol: 'AAPL',
    side: 'buy',
    execType: 'trade',
    orderStatus: 'filled',
    lastQuantity: '1',
    lastPrice: '1.00',
    cumulativeQuantity: '1',
    leavesQuantity: '0',
    averagePrice: '1',
    orderQuantity: '1',
    transactTime: '2026-11-25T15:00:00.000Z',
    sequence: 1,
  };
  const fields = ['lastQuantity', 'lastPrice', 'cumulativeQuantity', 'leavesQuantity', 'averagePrice', 'orderQuantity'];

  it.each(fields.flatMap((field) => ['', 'x', '1e3', ' 1', null, 7].map((bad) => [field, bad] as const)))(
    'refuses %s = %j as a validation issue, never a thrown error (a poison message would block its partition)',
    (field, bad) => {
      expect(() => ExecutionReport.safeParse({ ...valid, [field]: bad })).not.toThrow();
      expect(ExecutionReport.safeParse({ ...valid, [field]: bad }).success).toBe(false);
    },
  );
});
