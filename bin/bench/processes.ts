import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Pool } from '../../platform/index.ts';
import type { ProcessStats } from './query-counter.ts';

/*
 * The system as production runs it: the simulated broker, the fill receiver, the trading server and
 * the request server, each its own Node process (the bin/ entry points, the broker's with the
 * benchmark's tick), sharing PostgreSQL and Kafka. Each is started with the query counter preloaded,
 * so the benchmark can ask it for its SQL round trips and CPU time.
 */

export type ProcessName = 'broker' | 'fill-receiver' | 'trading-server' | 'request-server';
export const PROCESS_NAMES: readonly ProcessName[] = ['broker', 'fill-receiver', 'trading-server', 'request-server'];

export interface RunningProcesses {
  /** The trading server's API. */
  url: string;
  stats(): Promise<Record<ProcessName, ProcessStats>>;
  stop(): Promise<void>;
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const COUNTER = new URL('./query-counter.ts', import.meta.url).href;

export async function startProcesses(options: {
  databaseUrl: string;
  kafkaBrokers: readonly string[];
  namespace: string;
  opsKey: string;
}): Promise<RunningProcesses> {
  const [brokerPort, receiverPort, tradingPort] = [await freePort(), await freePort(), await freePort()];
  const brokerUrl = `http://127.0.0.1:${brokerPort}`;
  const receiverUrl = `http://127.0.0.1:${receiverPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: options.databaseUrl,
    KAFKA_BROKERS: options.kafkaBrokers.join(','),
    KAFKA_NAMESPACE: options.namespace,
    KAFKA_PARTITIONS: '3',
    OPS_API_KEY: options.opsKey,
    BROKER_API_KEY: 'bench-broker-key-0123456789',
    FILL_RECEIVER_SECRET: 'bench-fill-receiver-secret-0123456789abcdef',
    SIM_SEED: '7',
    BROKER_LATENCY_MS: '0',
    // The benchmark measures how fast the system goes, so its clients must not be throttled.
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_OPEN_ORDERS: '1000000',
    BROKER_URL: brokerUrl,
    FILL_RECEIVER_PORT: String(receiverPort),
    PORT: String(tradingPort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
  };
  const children = new Map<ProcessName, ChildProcess>();
  const stop = async () => {
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const start = async (name: ProcessName, script: string, args: string[] = []) => {
      const child = spawn(process.execPath, ['--import', COUNTER, here(script), ...args], {
        env,
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      children.set(name, child);
      await readyLine(name, child);
    };
    await start('fill-receiver', '../fill-receiver.ts');
    await start('broker', './sim-broker.process.ts', [String(brokerPort), receiverUrl]);
    await start('trading-server', '../trading-server.ts');
    await start('request-server', '../request-server.ts');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${tradingPort}`,
    stats: async () =>
      Object.fromEntries(
        await Promise.all(PROCESS_NAMES.map(async (name) => [name, await askStats(children.get(name)!)] as const)),
      ) as Record<ProcessName, ProcessStats>,
    stop,
  };
}

/** Resolves on the process's first line of output (each entry point prints one when it listens). */
function readyLine(name: string, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      // Later output is drained, so a full pipe never blocks the process.
      child.stdout!.resume();
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it started`));
    });
  });
}

function askStats(child: ChildProcess): Promise<ProcessStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a process did not answer for its statistics')), 10_000);
    const onMessage = (message: unknown) => {
      if ((message as { type?: string } | null)?.type !== 'bench-stats') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as ProcessStats);
    };
    child.on('message', onMessage);
    child.send({ type: 'bench-stats' });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  cpuMs: number;
}

function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      pid,
      ppid: Number(fields[1]),
      cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND,
    };
  } catch {
    return null;
  }
}

function allProcesses(): ProcStat[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => procStat(Number(entry)))
    .filter((stat): stat is ProcStat => stat !== null);
}

/**
 * CPU time of the benchmark's PostgreSQL (its postmaster and every process under it) and Kafka (the
 * process listening on its port), in ms; null where it runs elsewhere or cannot be seen. Other
 * people's servers on the same machine are not counted.
 */
export async function infrastructureCpu(
  pool: Pool,
  kafkaBrokers: readonly string[],
): Promise<() => { postgresMs: number | null; kafkaMs: number | null }> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const postmaster = procStat(rows[0]!.pid)?.ppid ?? null;
  const kafkaPort = Number(kafkaBrokers[0]?.split(':').pop());
  const kafkaPid = Number.isInteger(kafkaPort) ? pidListeningOn(kafkaPort) : null;
  return () => {
    const all = postmaster === null ? [] : allProcesses();
    return {
      postgresMs:
        postmaster === null
          ? null
          : all.filter((p) => p.pid === postmaster || p.ppid === postmaster).reduce((sum, p) => sum + p.cpuMs, 0),
      kafkaMs: kafkaPid === null ? null : (procStat(kafkaPid)?.cpuMs ?? null),
    };
  };
}

function pidListeningOn(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== '0A') continue;
      if (parseInt(local.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode && inodes.has(inode)) return Number(entry);
      } catch {
        // The descriptor closed while we looked.
      }
    }
  }
  return null;
}
