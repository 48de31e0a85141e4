import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * `npm run reconcile` in a second terminal finds a running `npm start` on embedded defaults by
 * itself: no BROKER_URL, no DATABASE_URL. The broker listens on a free port, so without
 * .data/endpoints.json the default http://127.0.0.1:3200 would find nothing.
 */

const root = resolve(import.meta.dirname, '..', '..');

describe('npm run reconcile beside a running npm start', () => {
  it('finds its broker and database by itself, and the file goes when npm start stops', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'reconcile-finds-start-'));
    // As root, PostgreSQL runs as an unprivileged user that must be able to reach ./.data/pg.
    chmodSync(cwd, 0o755);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' };
    const start = spawn(process.execPath, [join(root, 'bin', 'start.ts')], {
      cwd,
      env: { ...env, PORT: '0', BROKER_CLOCK: 'always-open' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      await new Promise<void>((ready, fail) => {
        start.on('exit', (code) => fail(new Error(`npm start exited with ${code}`)));
        start.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (/^export /m.test(stdout)) ready();
        });
      });
      expect(existsSync(join(cwd, '.data', 'endpoints.json'))).toBe(true);

      const date = new Date().toLocaleDateString('en-CA', { timeZone: 'America/New_York' });
      const reconcile = spawnSync(process.execPath, [join(root, 'bin', 'reconcile.ts'), '--date', date], {
        cwd,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(reconcile.status, reconcile.stderr).toBe(0);
      expect(reconcile.stdout).toContain('CLEAN');
    } finally {
      start.removeAllListeners('exit');
      const exited = new Promise((done) => start.once('exit', done));
      start.kill('SIGTERM');
      await exited;
      expect(existsSync(join(cwd, '.data', 'endpoints.json'))).toBe(false);
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});
