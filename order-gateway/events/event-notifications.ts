import pg from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import { Backoff, type Pool } from '../../platform/index.ts';
import { ACCOUNT_EVENTS_CHANNEL } from '../orders/account-event.repository.ts';
import { OPS_EVENTS_CHANNEL } from './ops-event.repository.ts';

/** Whose events a stream follows: one account's, or the operations side's. */
export type EventScope = { kind: 'account'; accountId: string } | { kind: 'ops' };

type Wake = () => void;

/**
 * The live feed between trading servers: one dedicated PostgreSQL connection per process LISTENs for
 * the wake-ups that event writers send at commit (on any process), and wakes the streams of that
 * account. A wake-up carries no event: each stream reads the rows after the last number it sent, so a
 * wake-up that is lost, doubled or late costs nothing. When the connection drops (PostgreSQL
 * restarted, the backend terminated) it reconnects with a backoff and then wakes every stream, which
 * reads whatever was written while nobody was listening.
 */
export class EventNotifications {
  private readonly subscribers = new Map<string, Set<Wake>>();
  /** The last wake-up of each scope, numbered by `wakeUps`: reads started after it see its commit. */
  private readonly lastWakeUp = new Map<string, number>();
  private wakeUps = 0;
  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  private client: pg.Client | undefined;
  private running = false;
  private retry: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private readonly pool: Pool;
  private readonly logger: FastifyBaseLogger;
  private readonly onReconnect: (() => void) | undefined;

  constructor(options: { pool: Pool; logger: FastifyBaseLogger; onReconnect?: () => void }) {
    this.pool = options.pool;
    this.logger = options.logger;
    this.onReconnect = options.onReconnect;
  }

  /** Starts listening in the background; a database that is away now is retried, never fatal. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connecting = this.connect(false);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retry) clearTimeout(this.retry);
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Calls `wake` whenever the scope may have new events; returns the unsubscribe. */
  subscribe(scope: EventScope, wake: Wake): () => void {
    const key = keyOf(scope);
    let set = this.subscribers.get(key);
    if (!set) this.subscribers.set(key, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) {
        this.subscribers.delete(key);
        this.lastWakeUp.delete(key);
      }
    };
  }

  /**
   * Changes whenever the scope may have new events. Two reads of one scope started under the same
   * generation may share one query: a commit that only the later one could see would have sent a
   * wake-up in between, and so a new generation.
   */
  generation(scope: EventScope): number {
    return this.lastWakeUp.get(keyOf(scope)) ?? 0;
  }

  /** Whether the listening connection is up (a metric and the tests read it). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  private async connect(reconnecting: boolean): Promise<void> {
    const client = new pg.Client({ ...this.pool.options, application_name: 'event-notifications', keepAlive: true });
    client.on('notification', (message) => this.deliver(message.channel, message.payload ?? ''));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${ACCOUNT_EVENTS_CHANNEL}`);
      await client.query(`LISTEN ${OPS_EVENTS_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.scheduleReconnect(error);
      return;
    }
    if (!this.running) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff.succeeded();
    if (reconnecting) {
      this.logger.info('event notifications: listening again; streams catch up from their last event');
      this.onReconnect?.();
      this.wakeAll();
    }
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    this.scheduleReconnect(error);
  }

  private scheduleReconnect(error: unknown): void {
    if (!this.running || this.retry) return;
    const waitMs = this.backoff.failed();
    this.logger.warn({ err: error, waitMs }, 'event notifications: listening connection lost; reconnecting');
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.running) this.connecting = this.connect(true);
    }, waitMs);
    // A forgotten app must not keep its process alive by retrying.
    this.retry.unref();
  }

  private deliver(channel: string, payload: string): void {
    if (channel === OPS_EVENTS_CHANNEL) return this.wake('ops');
    const accountId = payload.split(':')[0] ?? '';
    this.wake(`account:${accountId}`);
  }

  private wake(key: string): void {
    if (this.subscribers.has(key)) this.lastWakeUp.set(key, ++this.wakeUps);
    for (const wake of this.subscribers.get(key) ?? []) wake();
  }

  private wakeAll(): void {
    for (const key of this.subscribers.keys()) this.lastWakeUp.set(key, ++this.wakeUps);
    for (const set of this.subscribers.values()) for (const wake of set) wake();
  }
}

function keyOf(scope: EventScope): string {
  return scope.kind === 'ops' ? 'ops' : `account:${scope.accountId}`;
}
