import { describe, expect, it } from 'vitest';
import { FaultPlan } from '../faults/fault.rules.ts';
import { acceleratedClock, describeClock, manualClock } from './clock.ts';
import { INSTRUMENTS, PricePath, parseReplayCsv } from './market.domain.ts';

describe('clocks', () => {
  it('an accelerated clock runs a trading day in the chosen real seconds', () => {
    let real = 1_000_000;
    const clock = acceleratedClock({ tradingDate: '2026-11-24', daySeconds: 60, realNow: () => real });
    expect(describeClock(clock).session).toBe('pre');
    real += 60_000;
    expect(clock.now().toISOString()).toBe('2026-11-25T01:00:00.000Z');
    expect(clock.session(clock.now())).toBe('closed');
  });

  it('a manual clock moves only when told', () => {
    const clock = manualClock(new Date('2026-11-24T14:30:00Z'));
    clock.advance(60_000);
    expect(clock.now().toISOString()).toBe('2026-11-24T14:31:00.000Z');
  });
});

describe('price paths', () => {
  const anchor = new Date('2026-11-24T09:00:00Z');

  it('are the same for the same seed and differ for another', () => {
    const at = new Date('2026-11-24T18:00:00Z');
    const a = new PricePath({ seed: 42, anchor }).priceAt('AAPL', at).toString();
    const b = new PricePath({ seed: 42, anchor }).priceAt('AAPL', at).toString();
    const c = new PricePath({ seed: 43, anchor }).priceAt('AAPL', at).toString();
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('start at the listed price, stay on the tick grid and move sensibly within a day', () => {
    const path = new PricePath({ seed: 7, anchor });
    for (const instrument of INSTRUMENTS) {
      expect(path.priceAt(instrument.symbol, anchor).toString()).toBe(String(Number(instrument.startPrice)));
      for (let minute = 0; minute < 960; minute += 37) {
        const price = path.priceAt(instrument.symbol, new Date(anchor.getTime() + minute * 60_000));
        expect(price.decimalPlaces()).toBeLessThanOrEqual(price.gte(1) ? 2 : 4);
        const ratio = price.div(instrument.startPrice).toNumber();
        expect(ratio).toBeGreaterThan(0.7);
        expect(ratio).toBeLessThan(1.3);
      }
    }
    expect(INSTRUMENTS.some((i) => Number(i.startPrice) < 1)).toBe(true);
  });

  it('can replay prices from a CSV', () => {
    const replay = parseReplayCsv('symbol,price\nAAPL,100.00\nAAPL,101.50\n');
    const path = new PricePath({ seed: 1, anchor, replay });
    expect(path.priceAt('AAPL', new Date(anchor.getTime() + 60_000)).toFixed(2)).toBe('101.50');
    expect(path.priceAt('AAPL', new Date(anchor.getTime() + 3_600_000)).toFixed(2)).toBe('101.50');
    expect(() => parseReplayCsv('AAPL,abc')).toThrow(/not "symbol,price"/);
  });
});

describe('fault decisions', () => {
  const plan = (seed: number, p: number) =>
    new FaultPlan({
      seed,
      probabilities: { ack_timeout: p, duplicate: p, reorder: p, drop_report: p, reject: p, partial: p, outage: p },
      latencyMs: { min: 2, max: 20 },
      outageWindowMs: 1_000,
    });

  it('are the same for the same seed and key, whatever the order of asking', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `order-${i}`);
    const forward = ids.map((id) => plan(9, 0.3).rejects(id));
    const backward = [...ids]
      .reverse()
      .map((id) => plan(9, 0.3).rejects(id))
      .reverse();
    expect(forward).toEqual(backward);
    expect(ids.map((id) => plan(10, 0.3).rejects(id))).not.toEqual(forward);
  });

  it('happen about as often as asked, never at 0 and always at 1', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `o${i}`);
    const rate = ids.filter((id) => plan(5, 0.1).dropsReport(id, 1)).length / ids.length;
    expect(rate).toBeGreaterThan(0.07);
    expect(rate).toBeLessThan(0.13);
    expect(ids.some((id) => plan(5, 0).duplicatesReport(id, 1))).toBe(false);
    expect(ids.every((id) => plan(5, 1).reordersReport(id, 1))).toBe(true);
  });

  it('keep latency within the range and outages to whole windows', () => {
    const p = plan(3, 0.5);
    for (let i = 0; i < 500; i++) {
      const latency = p.latencyMs(i);
      expect(latency).toBeGreaterThanOrEqual(2);
      expect(latency).toBeLessThanOrEqual(20);
    }
    expect(p.isOutage(5_000)).toBe(p.isOutage(5_999));
    const windows = Array.from({ length: 100 }, (_, w) => p.isOutage(w * 1_000));
    expect(windows.some(Boolean)).toBe(true);
    expect(windows.every(Boolean)).toBe(false);
  });
});
