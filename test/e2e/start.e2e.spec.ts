import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { kafkaBrokers } from '../support/kafka.ts';

const startScript = resolve(import.meta.dirname, '..', '..', 'bin', 'start.ts');

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
}

function start(env: Record<string, string>, cwd?: string): Promise<Started> {
  const child = spawn(process.execPath, [startScript], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 90 s:\n${stdout}\n${stderr}`)), 90_000);
    child.on('exit', (code) => reject(new Error(`exited early with ${code}:\n${stdout}\n${stderr}`)));
    child.stdout.on('data', () => {
      const match = /Trading API: (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1]!, stdout: () => stdout });
      }
    });
  });
}

function stopWithSigterm(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const begun = Date.now();
  return new Promise((resolveStop) => {
    child.removeAllListeners('exit');
    child.once('exit', (code) => resolveStop({ code, ms: Date.now() - begun }));
    child.kill('SIGTERM');
  });
}

function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [startScript], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveExit) => child.on('exit', (code) => resolveExit({ code, stderr })));
}

describe('npm start', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('on DATABASE_URL and KAFKA_BROKERS: serves /healthz and /metrics, then stops on SIGTERM within 5 s', async () => {
    const { child, url, stdout } = await start({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      PORT: '0',
    });
    try {
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', kafka: 'ok' } });
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('process_cpu_seconds_total');
      expect(stdout()).toMatch(/Ops API key: ops_\S+/);
    } finally {
      const { code, ms } = await stopWithSigterm(child);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5_000);
    }
  });

  it('on embedded defaults: starts its own PostgreSQL in ./.data/pg and stops it cleanly', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'start-embedded-'));
    // As root, PostgreSQL runs as an unprivileged user that must be able to reach ./.data/pg.
    chmodSync(cwd, 0o755);
    try {
      const { child, url } = await start({ PORT: '0' }, cwd);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', checks: { postgres: 'ok' } });
      const { code, ms } = await stopWithSigterm(child);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(5_000);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it.each([
    ['PORT', 'abc'],
    ['KAFKA_BROKERS', ':::'],
    ['COMMISSION_BPS', '-3'],
  ])('refuses bad configuration %s=%s at start with one clear line', async (variable, value) => {
    const { code, stderr } = await runToExit({ [variable]: value });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
  });
});
