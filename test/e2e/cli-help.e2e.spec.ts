import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * Every command answers --help with its usage and exit 0, without side effects: run in an empty
 * folder against a database that does not exist, it starts nothing, writes nothing and connects to
 * nothing (a connection attempt would fail or hang instead of exiting 0).
 */

const root = resolve(import.meta.dirname, '..', '..');

describe.each([
  ['npm start', 'bin/start.ts'],
  ['npm run migrate', 'bin/migrate.ts'],
  ['npm run reconcile', 'bin/reconcile.ts'],
  ['npm run session', 'bin/session.ts'],
  ['npm run bench', 'bin/bench.ts'],
  ['trading server', 'bin/trading-server.ts'],
  ['request server', 'bin/request-server.ts'],
  ['simulated broker', 'bin/broker.ts'],
  ['fill receiver', 'bin/fill-receiver.ts'],
])('%s --help', (_name, script) => {
  it('prints its usage, exits 0 and leaves no trace', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cli-help-'));
    try {
      const run = spawnSync(process.execPath, [join(root, script), '--help'], {
        cwd,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
          KAFKA_BROKERS: '127.0.0.1:1',
        },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^Usage: /m);
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
