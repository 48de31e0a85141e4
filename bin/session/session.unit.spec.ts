import { describe, expect, it } from 'vitest';
import { onTickGrid } from './session.clients.ts';
import { parseSessionArgs, UsageError } from './session.options.ts';
import { planSession, seededIds } from './session.plan.ts';
import { percentile } from './session.report.ts';
import { renderReportHtml } from './session.template.ts';
import { dec } from '../../platform/index.ts';

const plan = (seed: number) =>
  planSession({ seed, accounts: 5, orders: 200, tradingDate: '2026-03-02', stepMinutes: 30 });

describe('session flags', () => {
  it('given valid flags, when parsed, then every value is typed', () => {
    expect(
      parseSessionArgs(
        ['--seed', '42', '--accounts', '3', '--orders', '50', '--faults', 'drop_report=0.1', '--report', 'out'],
        {},
      ),
    ).toEqual({
      seed: 42,
      accounts: 3,
      orders: 50,
      faults: 'drop_report=0.1',
      brokerFaults: { primary: 'drop_report=0.1', secondary: 'drop_report=0.1' },
      latency: '2-20',
      report: 'out',
      date: '2026-03-02',
      stepMinutes: 30,
      days: 1,
    });
  });

  it.each([
    [['--seed', '-1'], /--seed/],
    [['--seed', '1.5'], /--seed/],
    [['--accounts', '0'], /--accounts/],
    [['--orders', 'many'], /--orders/],
    [['--faults', 'drop_report=2'], /probability between 0 and 1/],
    [['--faults', 'meteor=0.1'], /entry 1 names an unknown fault \(known: ack_timeout/],
    [['--faults-primary', 'outage=09:47-09:30'], /--faults-primary.*HH:MM-HH:MM that ends after it starts/],
    [['--faults-secondary', 'meteor=1'], /--faults-secondary.*unknown fault/],
    [['--faults-tertiary', 'reject=1'], /unknown option '--faults-tertiary'/],
    [['--latency', '9-1'], /--latency/],
    [['--date', '2026-03-07'], /not a US trading day/],
    [['--date', '2026-02-30x'], /YYYY-MM-DD/],
    [['--step-minutes', '0'], /--step-minutes/],
    [['--days', '0'], /--days/],
    [['--days', '31'], /--days/],
    [['--report', ''], /--report/],
    [['--nope'], /unknown option/],
    [['stray'], /too many arguments/],
  ])('given %j, when parsed, then a one-line usage error names the problem', (argv, message) => {
    let thrown: unknown;
    try {
      parseSessionArgs(argv, {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).not.toContain('\n');
  });

  it('given --faults-<broker>, then that broker has its own faults and --faults applies to the others', () => {
    expect(
      parseSessionArgs(['--faults', 'duplicate=0.1', '--faults-primary', 'outage=09:30-09:47'], {})?.brokerFaults,
    ).toEqual({ primary: 'outage=09:30-09:47', secondary: 'duplicate=0.1' });
  });

  it("given BROKER_FAULTS_<NAME>, then it is the default of that broker's flag, and checked as one", () => {
    const env = { BROKER_FAULTS: 'reject=0.1', BROKER_FAULTS_SECONDARY: 'outage=13:00-13:05' };
    expect(parseSessionArgs([], env)?.brokerFaults).toEqual({ primary: 'reject=0.1', secondary: 'outage=13:00-13:05' });
    expect(parseSessionArgs(['--faults-secondary', 'partial=1'], env)?.brokerFaults.secondary).toBe('partial=1');
    expect(() => parseSessionArgs([], { BROKER_FAULTS_PRIMARY: 'outage=25:00-26:00' })).toThrow(
      /^BROKER_FAULTS_PRIMARY \(the default of --faults-primary\): entry 1 \(outage\)/,
    );
  });

  it('given no seed flag, when SIM_SEED is set, then the seed comes from it', () => {
    expect(parseSessionArgs([], { SIM_SEED: '77' })?.seed).toBe(77);
  });
});

describe('the day plan', () => {
  it('given an outage window, when planned, then a step starts it and one ends it, each with its share of actions', () => {
    const steps = planSession({
      seed: 3,
      accounts: 5,
      orders: 200,
      tradingDate: '2026-03-02',
      stepMinutes: 120,
      extraStepMinutes: [9 * 60 + 30, 9 * 60 + 47],
    });
    const times = steps.map((s) => s.at.toISOString());
    expect(times).toContain('2026-03-02T14:30:00.000Z');
    expect(times).toContain('2026-03-02T14:47:00.000Z');
    expect([...times].sort()).toEqual(times);
    expect(steps.find((s) => s.at.toISOString() === '2026-03-02T14:30:00.000Z')!.actions.length).toBeGreaterThan(0);
    expect(plan(3).map((s) => s.at.toISOString())).not.toContain('2026-03-02T14:47:00.000Z');
  });

  it('given one seed, when planned twice, then the plans are the same; another seed plans another day', () => {
    expect(plan(9)).toEqual(plan(9));
    expect(plan(10)).not.toEqual(plan(9));
  });

  it('given a day, when planned, then it runs from 04:00 to 20:00 New York through pre, regular and post, and places every action', () => {
    const steps = plan(3);
    expect(steps[0]!.at.toISOString()).toBe('2026-03-02T09:00:00.000Z');
    expect(steps.at(-1)!.at.toISOString()).toBe('2026-03-03T01:00:00.000Z');
    expect(steps.at(-1)!.session).toBe('closed');
    expect(new Set(steps.map((s) => s.session))).toEqual(new Set(['pre', 'regular', 'post', 'closed']));
    expect(steps.reduce((n, s) => n + s.actions.length, 0)).toBe(200);
    const kinds = new Set(steps.flatMap((s) => s.actions.map((a) => a.kind)));
    expect(kinds).toEqual(new Set(['market-buy', 'fractional-buy', 'limit-buy', 'sell-held', 'cancel', 'refused']));
  });

  it('given extended hours, when planned, then only extended-hours orders, plain market orders waiting for the open, sells, cancels and refusals are placed', () => {
    for (const step of plan(4).filter((s) => s.session === 'pre' || s.session === 'post')) {
      for (const action of step.actions) {
        if (action.kind === 'limit-buy') expect(action.extendedHours).toBe(true);
        expect(action.kind === 'fractional-buy' || (action.kind === 'market-buy' && step.session === 'post')).toBe(
          false,
        );
      }
    }
  });

  it('given several days from a Friday, when planned, then the weekend is played, orders wait overnight and some are canceled before the open', () => {
    const options = { seed: 8, accounts: 4, orders: 100, tradingDate: '2026-03-13', stepMinutes: 60 };
    // One day is the day it always was.
    expect(planSession({ ...options, days: 1 })).toEqual(planSession(options));
    const steps = planSession({ ...options, days: 2 });
    expect(steps.map((s) => s.index)).toEqual(steps.map((_, i) => i));
    expect(steps.every((s, i) => i === 0 || s.at > steps[i - 1]!.at)).toBe(true);
    const at = (iso: string) => steps.find((s) => s.at.toISOString() === iso);
    const fridayClose = at('2026-03-14T00:00:00.000Z')!;
    expect(at('2026-03-14T16:00:00.000Z')?.session).toBe('closed'); // Saturday noon
    expect(at('2026-03-15T16:00:00.000Z')?.session).toBe('closed'); // Sunday noon
    const beforeOpen = at('2026-03-16T07:00:00.000Z')!; // Monday 03:00
    expect(beforeOpen.session).toBe('closed');
    const overnight = fridayClose.actions.slice(-6);
    expect(
      overnight.every(
        (a) => (a.kind === 'market-buy' || a.kind === 'limit-buy') && !('extendedHours' in a && a.extendedHours),
      ),
    ).toBe(true);
    expect(beforeOpen.actions.length).toBeGreaterThan(0);
    expect(beforeOpen.actions.every((a) => a.kind === 'cancel')).toBe(true);
    expect(steps.at(-1)!.at.toISOString()).toBe('2026-03-17T00:00:00.000Z'); // Monday 20:00
    expect(steps.reduce((n, s) => n + s.actions.length, 0)).toBe(200 + 6 + 3);
  });

  it('given a seed, when ids are drawn, then they are distinct version-4 UUIDs, the same for the same seed', () => {
    const a = seededIds(5);
    const b = seededIds(5);
    const ids = Array.from({ length: 1000 }, () => a());
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids.slice(0, 20))
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Array.from({ length: 1000 }, () => b())).toEqual(ids);
  });
});

describe('summary figures', () => {
  it('given samples, when percentiles are taken, then they are nearest-rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('given prices, when put on the tick grid, then cents at or above $1 and hundredths of a cent below, never rounded up', () => {
    expect(onTickGrid(dec('187.256'))).toBe('187.25');
    expect(onTickGrid(dec('0.42179'))).toBe('0.4217');
  });

  it('given text from the day, when the page is rendered, then nothing in it can close the script or inject markup', () => {
    const html = renderReportHtml({
      summary: {
        seed: 1,
        days: 1,
        tradingDates: ['2026-03-02'],
        tradingDate: '2026-03-02',
        accounts: 1,
        faults: '<i>x</i>',
        brokerFaults: { primary: '<b>y</b>' },
        bus: 'in-process',
        orders: 0,
        refused: 0,
        refusedByCode: {},
        failedRequests: 0,
        cancelsRequested: 0,
        skippedActions: 0,
        fills: 0,
        byStatus: {},
        breaksFound: 0,
        breaksFoundByKind: {},
        breaksOpen: 0,
        invariantViolations: 1,
        violations: [{ check: 'x', message: '</script><script>alert(1)</script>' }],
        throughput: 0,
        latencyMs: {
          p50: null,
          p99: null,
          firstFillP50: null,
          firstFillP99: null,
          samples: 0,
          executionToLedgerP50: null,
          executionToLedgerP99: null,
        },
        recoveredByOpenOrderCheck: 0,
        recoveredByOpenOrderCheckMeasured: false,
        settleTimeouts: 0,
        dayWallSeconds: 0,
        busts: 1,
        bustedAccounts: 1,
        byBroker: { '</script>': { orders: 0, fills: 0 } },
        outage: { windows: {}, ordersPlaced: 0, servedBy: {}, failoverChecked: false },
      },
      charts: {
        symbols: ['</script>'],
        prices: {},
        fills: {},
        byStatus: [],
        latency: { buckets: [], ack: [], firstFill: [] },
        breaks: { kinds: [], found: [], open: [] },
        throughput: [],
        busts: [
          {
            execId: 't.bust',
            refExecId: 't',
            state: 'busted',
            orderId: 'o',
            accountId: '<b>acc</b>',
            symbol: 'AAPL',
            side: 'buy',
            quantity: '1',
            price: '1',
          },
        ],
        ordersByBroker: { steps: [], brokers: ['</script>'], counts: [[]] },
        brokerHealth: { steps: [], brokers: [], up: [], state: [] },
      },
      echarts: 'var echarts = {};',
    });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<i>x</i>');
    expect(html).not.toContain('<b>acc</b>');
    expect(html).toContain('buy 1 AAPL @ 1');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).toContain('FAIL');
  });
});
