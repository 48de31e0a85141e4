/** The shapes a session's results take: what the runner gathers, the summary, and the report's chart data. */
import type { Violation } from './session.invariants.ts';
import type { SessionBreak } from './session.reconcile.ts';

/** Everything a session observed, from which the summary and the report page are made. */
export interface SessionData {
  seed: number;
  tradingDate: string;
  /** Every trading date played, the first being `tradingDate`. */
  tradingDates: string[];
  accounts: number;
  faults: string;
  /** Each simulated broker's faults, in order of preference. */
  brokerFaults: Record<string, string>;
  bus: 'kafka' | 'in-process';
  /** Which broker serves each order: the one whose statements list it (none: it never reached a broker). */
  servedBy: Record<string, string>;
  /** Trades in each broker's executions statements. */
  brokerFills: Record<string, number>;
  /** After each step: each broker up or down by its faults, and its state as the system sees it (null: not exposed). */
  brokerHealth: { step: number; at: string; brokers: Record<string, { up: boolean; state: string | null }> }[];
  /** Each broker's outage windows (`HH:MM-HH:MM`, New York), and the steps played inside one. */
  outageWindows: Record<string, string[]>;
  outageSteps: Record<string, number[]>;
  /** Whether the system routes between brokers (it lists them on GET /v1/ops/brokers): failover is checked then. */
  routes: boolean;
  placed: { id: string; label: string; step: number }[];
  refused: { code: string; label: string }[];
  failed: { status: number; detail: string; label: string }[];
  skipped: number;
  cancels: { requested: number; refused: number };
  /** Cancels the API accepted (202), with the simulated instant at which they were asked. */
  cancelsAccepted: { orderId: string; at: Date }[];
  /** Orders placed in a session in which they could go to the broker at once (latencies count only these). */
  sentAtOnce: Set<string>;
  prices: { at: string; symbol: string; price: string }[];
  fills: { at: Date | string; symbol: string; side: 'buy' | 'sell'; price: string; quantity: string }[];
  fillCount: number;
  byStatus: Record<string, number>;
  throughput: { wallSeconds: number; simTime: string; orders: number; fills: number }[];
  ackLatencyMs: number[];
  firstFillLatencyMs: number[];
  /** Real ms from the broker making each trade to our ledger settling it, repairs included. */
  executionToLedgerMs: number[];
  /** Executions the request server's open-order check republished, when it counts them; null when it does not. */
  recoveredByOpenOrderCheck: number | null;
  breaksFound: SessionBreak[];
  breaksOpen: SessionBreak[];
  violations: Violation[];
  clientViolations: Violation[];
  settleTimeouts: number;
  dayWallSeconds: number;
  /** Trades the broker busted or corrected and we applied (`bust_after`), with the accounts they touched. */
  busts: BustedTrade[];
}

/** A fill the broker busted (or corrected), as our books applied it. */
export interface BustedTrade {
  execId: string;
  refExecId: string;
  state: 'busted' | 'corrected';
  orderId: string;
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  quantity: string;
  price: string;
}

export interface SessionSummary {
  seed: number;
  tradingDate: string;
  /** Trading days played (`--days`), and their dates. */
  days: number;
  tradingDates: string[];
  accounts: number;
  faults: string;
  /** Each simulated broker's faults (`--faults-<broker>`, else `--faults`). */
  brokerFaults: Record<string, string>;
  bus: string;
  /** Orders the trading API accepted (201). */
  orders: number;
  /** Orders the trading API refused (422), by error code. */
  refused: number;
  refusedByCode: Record<string, number>;
  /** Requests answered neither 201 nor 422 (503 while market data was unavailable, ...). */
  failedRequests: number;
  cancelsRequested: number;
  skippedActions: number;
  fills: number;
  byStatus: Record<string, number>;
  breaksFound: number;
  breaksFoundByKind: Record<string, number>;
  breaksOpen: number;
  invariantViolations: number;
  violations: Violation[];
  /** Accepted orders per second of wall time over the trading day (first step to the close). */
  throughput: number;
  /** Placement to the broker's answer, ms of wall time, for orders sent at once; `firstFill*`: to our first recorded fill. */
  latencyMs: {
    p50: number | null;
    p99: number | null;
    firstFillP50: number | null;
    firstFillP99: number | null;
    samples: number;
    /** From the broker's execution (real time) to our ledger, over every fill: what a lost report costs. */
    executionToLedgerP50: number | null;
    executionToLedgerP99: number | null;
  };
  /**
   * Executions republished by the open-order check (its counter on /metrics); 0 when the system
   * exposes no such counter (`recoveredByOpenOrderCheckMeasured` false).
   */
  recoveredByOpenOrderCheck: number;
  recoveredByOpenOrderCheckMeasured: boolean;
  settleTimeouts: number;
  dayWallSeconds: number;
  /** Fills the broker busted (the `bust_after` fault), applied to our books; and the accounts they touched. */
  busts: number;
  bustedAccounts: number;
  /** Orders each broker served (its statements list them) and the trades it made. */
  byBroker: Record<string, { orders: number; fills: number }>;
  /**
   * The brokers' outage windows and the orders placed while one was down, by the broker that served
   * them; `failoverChecked`: the system routes, so an order served by the broker that was down is a
   * violation (`outage-failover`).
   */
  outage: {
    windows: Record<string, string[]>;
    ordersPlaced: number;
    servedBy: Record<string, number>;
    failoverChecked: boolean;
  };
}

/** What the page's charts plot, already shaped for them. */
export interface ChartData {
  symbols: string[];
  prices: Record<string, [string, number][]>;
  fills: Record<string, { buy: [string, number][]; sell: [string, number][] }>;
  byStatus: [string, number][];
  latency: { buckets: string[]; ack: number[]; firstFill: number[] };
  breaks: { kinds: string[]; found: number[]; open: number[] };
  throughput: { wallSeconds: number; simTime: string; ordersPerSecond: number; fillsPerSecond: number }[];
  /** The busted and corrected trades, listed on the page. */
  busts: BustedTrade[];
  /** Orders placed at each step, by the broker that served them (`counts[broker][step]`). */
  ordersByBroker: { steps: string[]; brokers: string[]; counts: number[][] };
  /** Each broker after each step: up (1) or down (0) by its faults; its state as the system saw it (2 healthy, 1 degraded, 0 down, null unknown). */
  brokerHealth: { steps: string[]; brokers: string[]; up: number[][]; state: (number | null)[][] };
}
