import pg from 'pg';
import { DependencyUnavailableError } from './errors.ts';
import type { Logger } from './logger.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** What a repository runs its SQL on: the caller's transaction, or the pool for a one-off read. */
export type Queryable = pg.Pool | pg.PoolClient;

// NUMERIC (1700) and BIGINT (20) stay strings: exact decimals are parsed by our decimal type, never by Number.
pg.types.setTypeParser(1700, (value) => value);
pg.types.setTypeParser(20, (value) => value);

/** The same database, with `schema` first on the search path of every connection. */
export function withSearchPath(connectionString: string, schema: string): string {
  const url = new URL(connectionString);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

export function createPool(
  connectionString: string,
  options: { max?: number; name?: string; logger?: Logger } = {},
): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.name ?? 'order-routing',
    idleTimeoutMillis: 30_000,
    // While PostgreSQL is away a request must fail (503) rather than wait for a connection for ever.
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'idle database connection lost'));
  // Nor may a checked-out one: a terminated backend emits 'error' on its client between queries,
  // and an 'error' event without a listener kills the process. The query in hand fails on its own,
  // and whoever holds the client releases it as broken.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.logger?.warn({ err: error }, 'database connection lost'));
  });
  return pool;
}

/** SQLSTATEs that mean "the database refused this attempt; the same work may simply be tried again". */
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '');
}

/** Socket-level failures: the server is unreachable or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** pg's own messages for a connection that broke or never came (they carry no code). */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'timeout exceeded when trying to connect',
  'Query read timeout',
];

/**
 * True when the error says PostgreSQL is away (down, restarting, every backend terminated, out of
 * connections) rather than that the statement is wrong: the same work can succeed later, unchanged.
 * SQLSTATE class 08 (connection exception), 57P01–57P03 (shutdown, crash, starting up), 53300
 * (too many connections).
 */
export function isDependencyUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (error instanceof DependencyUnavailableError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || code.startsWith('08') || code === '53300') return true;
    if (code === '57P01' || code === '57P02' || code === '57P03') return true;
  }
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && CONNECTION_MESSAGES.some((known) => message.startsWith(known))) return true;
  // AggregateError (several addresses refused) and wrapped causes.
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested) && nested.length > 0 && nested.every(isDependencyUnavailable)) return true;
  return (
    (error as { cause?: unknown }).cause !== undefined && isDependencyUnavailable((error as { cause?: unknown }).cause)
  );
}

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /** Attempts in all, including the first, for serialization failures and deadlocks. */
  attempts?: number;
  /** Attempts in all when the connection fails before COMMIT was sent (a terminated backend). */
  connectionAttempts?: number;
  logger?: Logger;
}

/**
 * Runs `work` in one transaction and commits it; a serialization failure or deadlock is retried
 * from the start, so `work` must do all its reads inside the transaction it is given.
 *
 * A connection lost before COMMIT was sent is retried too (nothing was committed: PostgreSQL rolls
 * back a transaction whose connection dies), a few times, so that one terminated backend is not an
 * error; PostgreSQL still away after that is a DependencyUnavailableError for the caller's loop or
 * HTTP answer (503). A connection lost during COMMIT is never retried here: its outcome is unknown,
 * and only the caller knows whether doing the work again is safe (placement is, by client order id;
 * consumers are, by execId and order id), so it is thrown as unavailable with `commitUnknown`.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (tx: PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 8;
  const connectionAttempts = options.connectionAttempts ?? 3;
  let connectionFailures = 0;
  for (let attempt = 1; ; attempt++) {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      if (!isDependencyUnavailable(error)) throw error;
      if (++connectionFailures < connectionAttempts) {
        await sleep(100 * 2 ** connectionFailures * Math.random());
        continue;
      }
      throw new DependencyUnavailableError('postgres', { cause: error });
    }
    let broken = false;
    let committing = false;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}`);
      const result = await work(client);
      committing = true;
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      if (attempt < attempts && isRetryable(error)) {
        options.logger?.debug({ attempt, code: (error as { code: string }).code }, 'transaction retried');
        await sleep(Math.min(100, 2 ** attempt) * Math.random());
        continue;
      }
      if (isDependencyUnavailable(error)) {
        broken = true;
        if (committing) throw new DependencyUnavailableError('postgres', { cause: error, commitUnknown: true });
        if (++connectionFailures < connectionAttempts) {
          options.logger?.debug({ attempt, err: error }, 'transaction retried on a new connection');
          await sleep(100 * 2 ** connectionFailures * Math.random());
          continue;
        }
        throw new DependencyUnavailableError('postgres', { cause: error });
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when a query answers within the timeout. */
export async function isDatabaseReachable(pool: Pool, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      pool.query('SELECT 1').then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
