import CircuitBreaker from 'opossum';
import { BrokerRejectedError, type BrokerClient } from '../../broker-adapter/index.ts';
import type { Logger } from '../../platform/index.ts';
import {
  brokerHealth,
  callsInWindow,
  DEFAULT_HEALTH_POLICY,
  type BrokerCall,
  type BrokerHealth,
  type HealthPolicy,
} from '../brokers/broker-health.rules.ts';
import { routeNewOrder, type BrokerStanding } from '../brokers/routing.rules.ts';

export interface NamedBroker {
  name: string;
  client: BrokerClient;
}

export interface BrokerSetOptions {
  logger: Logger;
  /** Circuit breaker of each broker: open after this share of failing calls, probe again after resetMs. */
  breaker?: { errorThresholdPercentage?: number; resetMs?: number; volumeThreshold?: number };
  health?: HealthPolicy;
  now?: () => number;
}

interface Member {
  name: string;
  client: BrokerClient;
  breaker: CircuitBreaker;
  calls: BrokerCall[];
}

/** Opossum's error for a call it did not make because the circuit is open. */
export function isBreakerOpen(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'EOPENBREAKER';
}

/**
 * The request server's brokers, in order of preference: each with its client, its own circuit breaker
 * (one broker's outage must not pause calls to the others) and the outcomes of its recent calls, from
 * which its health is computed. Drains come from the database (ops set them); the set only holds the
 * latest it was told.
 */
export class BrokerSet {
  private readonly members: Member[];
  private readonly options: BrokerSetOptions;
  private readonly now: () => number;
  private drained: ReadonlySet<string> = new Set();

  constructor(brokers: readonly NamedBroker[], options: BrokerSetOptions) {
    if (brokers.length === 0) throw new Error('the request server needs at least one broker');
    this.options = options;
    this.now = options.now ?? Date.now;
    this.members = brokers.map(({ name, client }) => {
      const breaker = new CircuitBreaker(<T>(call: () => Promise<T>) => call(), {
        timeout: false,
        errorThresholdPercentage: options.breaker?.errorThresholdPercentage ?? 50,
        resetTimeout: options.breaker?.resetMs ?? 2_000,
        volumeThreshold: options.breaker?.volumeThreshold ?? 5,
        rollingCountTimeout: 5_000,
        // The broker answering "no" is a working broker.
        errorFilter: (error: unknown) => error instanceof BrokerRejectedError,
      });
      breaker.on('open', () => options.logger.warn({ broker: name }, 'broker circuit open: pausing calls'));
      breaker.on('close', () => options.logger.info({ broker: name }, 'broker circuit closed: calls resume'));
      return { name, client, breaker, calls: [] };
    });
  }

  get names(): string[] {
    return this.members.map((member) => member.name);
  }

  /** The preferred broker: where orders stored before there were several brokers are. */
  get preferred(): string {
    return this.members[0]!.name;
  }

  /** The circuit breaker of a broker (the preferred one by default), for the console's gauge. */
  breaker(name = this.preferred): CircuitBreaker {
    return this.member(name).breaker;
  }

  /** A call to one broker, through its circuit breaker; its outcome and latency count toward its health. */
  async fire<T>(name: string, work: (client: BrokerClient) => Promise<T>): Promise<T> {
    const member = this.member(name);
    const started = this.now();
    try {
      const result = (await member.breaker.fire(() => work(member.client))) as T;
      this.record(member, true, started);
      return result;
    } catch (error) {
      // Not made (circuit open) says nothing new about the broker; a refusal is an answer.
      if (!isBreakerOpen(error)) this.record(member, error instanceof BrokerRejectedError, started);
      throw error;
    }
  }

  /**
   * A cheap call past the circuit breaker, so that health keeps being measured while the breaker
   * holds the orders' calls back: a broker that went quiet must be seen coming back.
   */
  async probe(name: string): Promise<void> {
    const member = this.member(name);
    const started = this.now();
    try {
      await member.client.getClock();
      this.record(member, true, started);
    } catch (error) {
      this.record(member, error instanceof BrokerRejectedError, started);
    }
  }

  health(name: string): BrokerHealth {
    const member = this.member(name);
    member.calls = callsInWindow(member.calls, this.now(), this.options.health ?? DEFAULT_HEALTH_POLICY);
    return brokerHealth(member.calls, this.now(), this.options.health ?? DEFAULT_HEALTH_POLICY);
  }

  setDrained(names: Iterable<string>): void {
    this.drained = new Set(names);
  }

  standings(): BrokerStanding[] {
    return this.members.map(({ name }) => ({ name, state: this.health(name).state, drained: this.drained.has(name) }));
  }

  /** Where a new order goes now; null: no broker takes orders. */
  route(): string | null {
    return routeNewOrder(this.standings());
  }

  shutdown(): void {
    for (const member of this.members) member.breaker.shutdown();
  }

  private member(name: string): Member {
    const member = this.members.find((candidate) => candidate.name === name);
    // An order bound to a broker no longer configured: its calls fail (unknown) until it is again.
    if (!member) throw new Error(`broker ${name} is not configured (BROKERS)`);
    return member;
  }

  private record(member: Member, ok: boolean, started: number): void {
    const at = this.now();
    member.calls.push({ at, ok, latencyMs: at - started });
    // Bounded between health reads: only the window is ever needed.
    if (member.calls.length > 5_000) member.calls.splice(0, member.calls.length - 5_000);
  }
}
