import { describe, expect, it } from 'vitest';
import { dec, ZERO } from '../platform/index.ts';
import {
  depositPostings,
  releasePostings,
  settleFillPostings,
  sumsByAsset,
  withdrawalPostings,
  type Balance,
  type HoldState,
} from './ledger.postings.ts';
import { buyHoldAmount, NO_PROGRESS } from './ledger.rules.ts';

const BPS = dec('10');

function aBalance(asset: string, available: string, held = '0', costBasis = '0'): Balance {
  return { accountId: 'acct-1', asset, available: dec(available), held: dec(held), costBasis: dec(costBasis) };
}

function aHold(overrides: Partial<HoldState> = {}): HoldState {
  const side = overrides.side ?? 'buy';
  const orderQuantity = overrides.orderQuantity ?? dec('10');
  const worstPrice = overrides.worstPrice ?? dec('100');
  const amount = side === 'buy' ? buyHoldAmount(orderQuantity, worstPrice, 10) : orderQuantity;
  return {
    id: 'order-1',
    accountId: 'acct-1',
    side,
    symbol: 'AAPL',
    asset: side === 'buy' ? 'USD' : 'AAPL',
    orderQuantity,
    worstPrice,
    originalAmount: amount,
    amount,
    progress: NO_PROGRESS,
    ...overrides,
  };
}

const balanced = (postings: Parameters<typeof sumsByAsset>[0]) =>
  [...sumsByAsset(postings).values()].every((sum) => sum.isZero());
const s = (value: { toFixed(): string }) => value.toFixed();

describe('postings', () => {
  it('given a deposit, then the customer gains what the external counter-account gives', () => {
    const postings = depositPostings('acct-1', dec('100.00'));
    expect(postings.map((p) => [p.accountId, s(p.amount)])).toEqual([
      ['acct-1', '100'],
      ['firm:external', '-100'],
    ]);
    expect(balanced(postings)).toBe(true);
  });

  it('given 10.00 available, when 10.01 is withdrawn, then it is refused', () => {
    expect(() => withdrawalPostings(aBalance('USD', '10.00'), dec('10.01'))).toThrow(
      expect.objectContaining({ code: 'INSUFFICIENT_FUNDS' }) as Error,
    );
  });

  it('given a buy hold, when 4 fill at 99.50, then cash leaves the hold, shares arrive and the omnibus mirrors them', () => {
    const hold = aHold();
    const outcome = settleFillPostings(
      hold,
      aBalance('USD', '0', s(hold.amount)),
      aBalance('AAPL', '0'),
      { execId: 'e1', quantity: dec('4'), price: dec('99.50') },
      BPS,
    );
    expect(balanced(outcome.postings)).toBe(true);
    expect([s(outcome.notional), s(outcome.commission)]).toEqual(['398', '0.4']);
    // Hold 1000 + 1.00 = 1001.00; keeps cost(398 + 600) − cost(398) = 999.00 − 398.40 = 600.60 for the 6 left.
    expect(s(outcome.hold.amount)).toBe('600.6');
    expect(s(outcome.holdReleased)).toBe(s(hold.amount.minus('600.60')));
    const byAccount = outcome.postings.map((p) => `${p.accountId} ${p.asset} ${p.bucket} ${s(p.amount)}`);
    expect(byAccount).toEqual([
      'acct-1 USD held -400.4',
      'acct-1 USD available 2',
      'acct-1 AAPL available 4',
      'firm:omnibus USD available 398',
      'firm:omnibus AAPL available -4',
      'firm:commission USD available 0.4',
    ]);
    expect(s(outcome.costBasis)).toBe('398');
  });

  it('given a sell hold of 5, when 5 fill at 110, then the proceeds net of commission arrive and the basis goes with the shares', () => {
    const hold = aHold({ side: 'sell', orderQuantity: dec('5') });
    const outcome = settleFillPostings(
      hold,
      aBalance('USD', '0'),
      aBalance('AAPL', '5', '5', '1000'),
      { execId: 'e1', quantity: dec('5'), price: dec('110') },
      BPS,
    );
    expect(balanced(outcome.postings)).toBe(true);
    expect(s(outcome.hold.amount)).toBe('0');
    const cash = outcome.postings.find((p) => p.accountId === 'acct-1' && p.asset === 'USD')!;
    expect(s(cash.amount)).toBe('549.45');
    expect(s(outcome.costBasis)).toBe('500');
  });

  it('given a hold released down to 0, when a fill arrives, then it is paid from available, or refused if that is short', () => {
    const hold = { ...aHold({ orderQuantity: dec('1') }), amount: ZERO };
    const fill = { execId: 'e1', quantity: dec('1'), price: dec('100') };
    expect(() => settleFillPostings(hold, aBalance('USD', '100.09'), aBalance('AAPL', '0'), fill, BPS)).toThrow(
      expect.objectContaining({ code: 'FILL_EXCEEDS_HOLD' }) as Error,
    );
    const outcome = settleFillPostings(hold, aBalance('USD', '100.10'), aBalance('AAPL', '0'), fill, BPS);
    expect(outcome.postings.find((p) => p.asset === 'USD' && p.accountId === 'acct-1')!.amount.toFixed()).toBe(
      '-100.1',
    );
  });

  it('given a fill beyond the order quantity, then it is refused', () => {
    const hold = aHold({ orderQuantity: dec('1') });
    expect(() =>
      settleFillPostings(
        hold,
        aBalance('USD', '0', s(hold.amount)),
        aBalance('AAPL', '0'),
        {
          execId: 'e1',
          quantity: dec('1.000001'),
          price: dec('1'),
        },
        BPS,
      ),
    ).toThrow(expect.objectContaining({ code: 'FILL_EXCEEDS_ORDER' }) as Error);
  });

  it('given a hold, when more than it is released, then it is refused; the rest releases to zero', () => {
    const hold = aHold({ orderQuantity: dec('1') });
    expect(() => releasePostings(hold, hold.amount.plus('0.01'))).toThrow(
      expect.objectContaining({ code: 'RELEASE_EXCEEDS_HOLD' }) as Error,
    );
    const { hold: next, postings } = releasePostings(hold, hold.amount);
    expect(s(next.amount)).toBe('0');
    expect(balanced(postings)).toBe(true);
  });
});
