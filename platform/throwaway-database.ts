import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import type { Logger } from './logger.ts';

export interface ThrowawayDatabase {
  url: string;
  /** Where it lives: on the server the caller named, or on an embedded one started for it. */
  source: 'server' | 'embedded';
  drop(): Promise<void>;
}

/** The connection string of database `name` on the server of `url`. */
export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** One statement on a connection of its own: CREATE and DROP DATABASE cannot run in a transaction. */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own for a test, a benchmark or a session, dropped when done: on the server of
 * `serverUrl` (whose other databases are never touched), optionally copied from a template; or,
 * without a server, on an embedded PostgreSQL started in a temporary directory and stopped with it.
 */
export async function createThrowawayDatabase(options: {
  prefix: string;
  serverUrl?: string | undefined;
  template?: string;
  logger?: Logger;
}): Promise<ThrowawayDatabase> {
  let embedded: { stop(): Promise<void>; dir: string } | undefined;
  let serverUrl = options.serverUrl;
  if (!serverUrl) {
    const dir = await mkdtemp(join(tmpdir(), `${options.prefix.replace(/[^a-z0-9]+/gi, '-')}-pg-`));
    const postgres = await startEmbeddedPostgres({ dir, persistent: false, logger: options.logger });
    embedded = { stop: () => postgres.stop(), dir };
    serverUrl = postgres.url;
  }
  const name = `${options.prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}${options.template ? ` TEMPLATE ${options.template}` : ''}`);
  const admin = serverUrl;
  return {
    url: withDatabase(serverUrl, name),
    source: embedded ? 'embedded' : 'server',
    drop: async () => {
      await adminQuery(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      if (embedded) {
        await embedded.stop();
        await rm(embedded.dir, { recursive: true, force: true });
      }
    },
  };
}
