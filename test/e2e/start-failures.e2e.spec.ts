import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../platform/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const root = resolve(import.meta.dirname, '..', '..');
const node = resolve(root, 'node_modules', '.bin', 'node');
const MARKER = 'Zq7SECRETqZ';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/** Runs one of our entry points until it exits; every line it wrote, stdout and stderr. */
function runToExit(script: string, env: Record<string, string>, cwd = root): Promise<Exit> {
  const child = spawn(node, [resolve(root, script)], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveExit) =>
    child.on('close', (code, signal) =>
      resolveExit({ code, signal, lines: output.split('\n').filter((line) => line.trim() !== '') }),
    ),
  );
}

/** Starts `command args` and resolves once it printed the trading API's URL. */
function startUntilServing(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd = root,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`not serving within 90 s:\n${output}`)), 90_000);
    child.once('exit', (code) => reject(new Error(`exited early with ${code}:\n${output}`)));
    child.stdout.on('data', () => {
      const match = /Trading API: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveStart({ child, url: match[1]! });
      }
    });
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The direct children of a process: pid and command line. */
function childrenOf(pid: number): { pid: number; args: string }[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [, childPid, args] = /^\s*(\d+)\s+(.*)$/.exec(line)!;
      return { pid: Number(childPid), args: args! };
    });
}

/** A temporary folder PostgreSQL's user (as root: `postgres`) can reach, to run `npm start` in. */
function reachableTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

describe('a failing start says why in one line, and never echoes a secret', () => {
  /** A refused value for each variable, each carrying the marker, the secret-like ones first. */
  const badValues: Record<string, string> = {
    DATABASE_URL: `mysql://orders:${MARKER}@db:3306/orders`,
    OPS_API_KEY: `${MARKER} with a space`,
    FILL_RECEIVER_SECRET: MARKER,
    BROKER_API_KEY: `${MARKER} x`,
    OPS_API_KEYS: `alice:${MARKER} with a space`,
    KAFKA_BROKERS: `kafka-1:9092,${MARKER}`,
    KAFKA_NAMESPACE: `${MARKER}/`,
    KAFKA_PARTITIONS: MARKER,
    BROKER_FAULTS: `duplicate=0.1,${MARKER}=0.2`,
    // One broker's faults: a bad spec, and a broker this system does not have.
    BROKER_FAULTS_PRIMARY: `outage=09:30-${MARKER}`,
    BROKER_FAULTS_NOSUCHBROKER: 'reject=1',
    BROKER_LATENCY_MS: MARKER,
    BROKER_RATE_LIMITS: `primary=200:50,secondary=${MARKER}`,
    BROKERS: `primary=http://a:1,${MARKER}=http://b:2`,
    SIM_SEED: MARKER,
    PORT: MARKER,
    COMMISSION_BPS: MARKER,
    LOG_LEVEL: MARKER,
    RATE_LIMIT_PER_MINUTE: MARKER,
    AUTH_FAILURES_PER_MINUTE: MARKER,
    MAX_OPEN_ORDERS: MARKER,
    OPEN_ORDER_CHECK_SECONDS: MARKER,
    EVENTS_HEARTBEAT_SECONDS: MARKER,
    EVENTS_CLIENT_BUFFER_BYTES: MARKER,
    // Read by `npm start` beside platform's configuration.
    BROKER_CLOCK: MARKER,
    BROKER_DAY_SECONDS: MARKER,
  };
  // HOST takes any non-empty value; an empty one is unset.
  const refusable = CONFIG_VARIABLES.filter((variable) => variable !== 'HOST');

  it('has a refused value for every variable of the configuration', () => {
    expect(refusable.filter((variable) => !(variable in badValues))).toEqual([]);
  });

  it.each(Object.entries(badValues))('%s', async (variable, value) => {
    const { code, lines } = await runToExit('bin/start.ts', { [variable]: value });
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^Invalid configuration: ${variable} `))]);
    expect(lines.filter((line) => line.includes(MARKER))).toEqual([]);
  });

  it('a PostgreSQL that cannot be reached: one line, without the password', async () => {
    const { code, lines } = await runToExit('bin/start.ts', {
      DATABASE_URL: `postgres://orders:${MARKER}@127.0.0.1:1/orders`,
      LOG_LEVEL: 'silent',
    });
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^Cannot start: .*ECONNREFUSED/)]);
    expect(lines.filter((line) => line.includes(MARKER))).toEqual([]);
  });
});

describe('components run alone need the shared secrets', () => {
  const shared = { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x', KAFKA_BROKERS: '127.0.0.1:1' };
  it.each([
    ['bin/fill-receiver.ts', {}, 'FILL_RECEIVER_SECRET'],
    ['bin/broker.ts', { FILL_RECEIVER_SECRET: 'x'.repeat(32) }, 'BROKER_API_KEY'],
    ['bin/broker.ts', { BROKER_API_KEY: 'y'.repeat(16) }, 'FILL_RECEIVER_SECRET'],
    ['bin/request-server.ts', {}, 'BROKER_API_KEY'],
    ['bin/trading-server.ts', {}, 'BROKER_API_KEY'],
  ])('%s %j refuses to start without %s, in one line', async (script, env, variable) => {
    const { code, lines } = await runToExit(script, { ...shared, ...env });
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^Invalid configuration: ${variable} is required`))]);
  });
});

describe('components run alone share one lifecycle', () => {
  const secrets = { FILL_RECEIVER_SECRET: 'x'.repeat(32), BROKER_API_KEY: 'y'.repeat(16), LOG_LEVEL: 'silent' };
  it.each(['bin/fill-receiver.ts', 'bin/broker.ts', 'bin/request-server.ts', 'bin/trading-server.ts'])(
    '%s with a PostgreSQL that cannot be reached: one line, without the password, exit 1',
    async (script) => {
      const { code, lines } = await runToExit(script, {
        ...secrets,
        DATABASE_URL: `postgres://orders:${MARKER}@127.0.0.1:1/orders`,
        KAFKA_BROKERS: '127.0.0.1:1',
      });
      expect(code).toBe(1);
      expect(lines).toEqual([expect.stringMatching(/^Cannot start: .*ECONNREFUSED/)]);
      expect(lines.filter((line) => line.includes(MARKER))).toEqual([]);
    },
  );
});

describe('npm start under a supervisor', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('SIGTERM to the npm process reaches node, which shuts down cleanly and leaves no process behind', async () => {
    const { child: npm, url } = await startUntilServing('npm', ['start'], { DATABASE_URL: db.url });
    // `exec`: npm's child is node itself, not a shell that would swallow the signal and orphan node.
    const children = childrenOf(npm.pid!);
    expect(children).toEqual([
      { pid: expect.any(Number) as number, args: expect.stringMatching(/^(\S*\/)?node bin\/start\.ts$/) },
    ]);
    const nodePid = children[0]!.pid;
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      npm.kill('SIGTERM');
      const exit = await exitOf(npm);
      // npm exits with its child's code: 0 is node's clean shutdown, not npm dying of the signal.
      expect(exit).toEqual({ code: 0, signal: null });
      expect(alive(nodePid)).toBe(false);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      if (alive(nodePid)) process.kill(nodePid, 'SIGKILL');
    }
  });
});

describe('embedded PostgreSQL that cannot start says why in one line', () => {
  it('its data directory is in use by another npm start: refused, and the first keeps serving', async () => {
    const cwd = reachableTempDir('start-twice-');
    try {
      const first = await startUntilServing(node, [resolve(root, 'bin/start.ts')], {}, cwd);
      try {
        const second = await runToExit('bin/start.ts', { PORT: '0', LOG_LEVEL: 'warn' }, cwd);
        expect(second.code).toBe(1);
        expect(second.lines).toEqual([
          expect.stringMatching(/^Cannot start: embedded PostgreSQL's data directory \S+ is in use by another server/),
        ]);
        expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
      } finally {
        first.child.kill('SIGTERM');
        expect(await exitOf(first.child)).toEqual({ code: 0, signal: null });
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('its data directory is out of reach: one line naming the folder in the way', async () => {
    const outer = mkdtempSync(join(tmpdir(), 'start-locked-'));
    const cwd = join(outer, 'app');
    mkdirSync(cwd);
    // As root, PostgreSQL runs as `postgres`, which cannot enter a 0700 root-owned folder; as anyone
    // else, it runs as us, and we cannot create .data in a folder we may not write.
    const asRoot = process.getuid?.() === 0;
    chmodSync(outer, asRoot ? 0o700 : 0o755);
    if (!asRoot) chmodSync(cwd, 0o555);
    try {
      const { code, lines } = await runToExit('bin/start.ts', { PORT: '0', LOG_LEVEL: 'warn' }, cwd);
      expect(code).toBe(1);
      expect(lines).toEqual([
        asRoot
          ? `Cannot start: embedded PostgreSQL runs as the user "postgres", which cannot enter ${outer} (mode 0700, owner uid 0) on the way to ${cwd}/.data/pg: let it in (chmod o+x), run from another directory, or set DATABASE_URL`
          : expect.stringMatching(/^Cannot start: embedded PostgreSQL in \S+ did not start: EACCES/),
      ]);
    } finally {
      chmodSync(cwd, 0o755);
      rmSync(outer, { recursive: true, force: true });
    }
  });
});
