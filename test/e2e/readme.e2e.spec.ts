import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/*
 * The README runs as written: its marked shell blocks (the first order, reconciliation) are pasted
 * into bash after the `export` line that `npm start` prints, against a started system.
 */

const root = resolve(import.meta.dirname, '..', '..');
const MARKER = '<!-- test/e2e/readme.e2e.spec.ts runs this block -->';

function markedBlocks(markdown: string): string[] {
  return markdown
    .split(MARKER)
    .slice(1)
    .map((after) => /^\s*```sh\n([\s\S]*?)\n```/.exec(after)?.[1] ?? '');
}

function startSystem(env: Record<string, string>): Promise<{ child: ChildProcess; exports: string }> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: root,
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`no export line within 90 s:\n${stdout}\n${stderr}`)), 90_000);
    child.on('exit', (code) => reject(new Error(`npm start exited early with ${code}:\n${stdout}\n${stderr}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = /^export .*$/m.exec(stdout);
      if (line) {
        clearTimeout(timer);
        resolveStart({ child, exports: line[0] });
      }
    });
  });
}

describe('README.md', () => {
  let db: TestDatabase;
  let system: { child: ChildProcess; exports: string };
  beforeAll(async () => {
    db = await createTestDatabase();
    system = await startSystem({ DATABASE_URL: db.url, PORT: '0', BROKER_CLOCK: 'always-open' });
  }, 120_000);
  afterAll(async () => {
    if (system) {
      system.child.removeAllListeners('exit');
      const exited = new Promise((done) => system.child.once('exit', done));
      // npm start runs node under npm and a shell: stop the whole group it leads.
      process.kill(-system.child.pid!, 'SIGTERM');
      await exited;
    }
    await db?.drop();
  });

  it('marks the first order and the reconciliation as blocks that run', () => {
    const blocks = markedBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toContain('/v1/orders');
    expect(blocks[1]).toContain('npm run reconcile');
  });

  it('the first order fills and the day reconciles clean, pasted as written after the printed export line', () => {
    const blocks = markedBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(system.exports).toMatch(
      /TRADING_URL=\S+ OPS_API_KEY=\S+ BROKER_URL=\S+ BROKER_API_KEY=\S+ DATABASE_URL=\S+/,
    );
    const run = spawnSync('bash', ['-e', '-c', [system.exports, ...blocks].join('\n')], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = run.stdout.split('\n');
    const jsonLines = lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const order = jsonLines.find((body) => 'clientOrderId' in body)!;
    expect(order).toMatchObject({ clientOrderId: 'my-0001', status: 'filled', filledQuantity: '10' });
    const account = jsonLines.find((body) => 'positions' in body)!;
    expect(account.positions).toEqual([expect.objectContaining({ symbol: 'AAPL', quantity: '10' })]);
    expect(run.stdout).toMatch(/CLEAN/);
  });
});
