import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../embedded-postgres.ts';
import type { Logger } from '../logger.ts';

export interface RunningKafka {
  brokers: string[];
  /** Where it came from, for the log: "KAFKA_BROKERS", "testcontainers" or "maven". */
  source: 'KAFKA_BROKERS' | 'testcontainers' | 'maven';
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const repositoryRoot = resolve(here, '..', '..');
const KAFKA_VERSION = '3.9.1';

/**
 * A real Kafka broker for tests and local runs, in the order the project promises:
 * KAFKA_BROKERS when set; a testcontainers Kafka when a Docker engine answers; otherwise Apache Kafka
 * jars fetched from Maven Central, started with `java` in KRaft mode on free loopback ports.
 */
export async function provisionKafka(
  options: { logger?: Logger; brokersFromEnv?: readonly string[] } = {},
): Promise<RunningKafka> {
  if (options.brokersFromEnv && options.brokersFromEnv.length > 0) {
    return { brokers: [...options.brokersFromEnv], source: 'KAFKA_BROKERS', stop: async () => undefined };
  }
  if (await dockerAnswers()) {
    try {
      return await startWithTestcontainers();
    } catch (error) {
      options.logger?.warn({ err: error }, 'Docker answered but the Kafka container did not start; using Maven');
    }
  }
  return startFromMaven(options.logger);
}

async function dockerAnswers(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startWithTestcontainers(): Promise<RunningKafka> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().withExposedPorts(9093).start();
  return {
    brokers: [`${container.getHost()}:${container.getMappedPort(9093)}`],
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

/** The jars, fetched once into .cache/ (outside git) and reused by every later run. */
export function ensureKafkaJars(logger?: Logger): string {
  const cache = join(repositoryRoot, '.cache', `kafka-${KAFKA_VERSION}`);
  const libs = join(cache, 'libs');
  if (existsSync(join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`))) return libs;
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, 'libs-'));
  logger?.info(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central`);
  const result = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(here, 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${staging}`,
      '-DincludeScope=runtime',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (result.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `mvn could not fetch the Kafka jars:\n${result.stdout}${result.stderr}${result.error?.message ?? ''}`,
    );
  }
  try {
    renameSync(staging, libs);
  } catch {
    // Another process finished first; its copy is as good as ours.
    rmSync(staging, { recursive: true, force: true });
  }
  return libs;
}

/** A Kafka broker of one's own from the Maven jars, that can be stopped and started again on the same ports and data. */
export interface RestartableKafka extends RunningKafka {
  /** Stops the broker process (SIGTERM, a controlled shutdown); its data and ports stay its own. */
  stopBroker(): Promise<void>;
  /** Starts it again after `stopBroker`, and waits until it answers. */
  startBroker(): Promise<void>;
}

/** Apache Kafka from the Maven jars, always (never KAFKA_BROKERS or Docker): for tests that stop it. */
export function startLocalKafka(logger?: Logger): Promise<RestartableKafka> {
  return startFromMaven(logger);
}

async function startFromMaven(logger?: Logger): Promise<RestartableKafka> {
  const libs = ensureKafkaJars(logger);
  const runs = join(repositoryRoot, '.cache', 'kafka-runs');
  mkdirSync(runs, { recursive: true });
  const dataDir = mkdtempSync(join(runs, 'run-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const properties = join(dataDir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(dataDir, 'logs')}`,
      // Topics are created by the code that owns them, with their partition counts.
      'auto.create.topics.enable=false',
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'log.flush.interval.messages=9223372036854775807',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dataDir, 'log4j.properties'),
    [
      'log4j.rootLogger=WARN, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${join(dataDir, 'server.log')}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=INFO',
      '',
    ].join('\n'),
  );
  const java = (args: string[]) => [
    '-Xms128m',
    '-Xmx768m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    `-Dlog4j.configuration=file:${join(dataDir, 'log4j.properties')}`,
    '-cp',
    `${libs}/*`,
    ...args,
  ];
  const clusterId = randomBytes(16).toString('base64url');
  // `=` form: a base64url id may begin with '-', which the argument parser would take for an option.
  const format = spawnSync(
    'java',
    java(['kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, `--config=${properties}`]),
    {
      encoding: 'utf8',
    },
  );
  if (format.status !== 0) {
    throw new Error(`kafka-storage format failed:\n${format.stdout}${format.stderr}`);
  }
  const broker = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  /** Starts the broker on this data directory and these ports, and waits until it answers. */
  const launch = async () => {
    const started = spawn('java', java(['kafka.Kafka', properties]), { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    try {
      await waitUntilReady(broker, started, () => stderr);
    } catch (error) {
      started.kill('SIGKILL');
      throw error;
    }
  };
  try {
    await launch();
  } catch (error) {
    process.off('exit', killOnExit);
    throw error;
  }
  logger?.info({ broker, dataDir }, 'Apache Kafka started');
  return {
    brokers: [broker],
    source: 'maven',
    stopBroker: async () => {
      if (child) await stopChild(child);
    },
    startBroker: launch,
    stop: async () => {
      process.off('exit', killOnExit);
      if (child) await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(broker: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  const [host, port] = broker.split(':') as [string, string];
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Kafka exited with ${child.exitCode}:\n${stderr()}`);
    if (await portOpen(host, Number(port))) {
      const kafka = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length > 0 && cluster.controller !== null) return;
      } catch {
        // not ready yet
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
  throw new Error(`Kafka did not become ready within 90 s:\n${stderr()}`);
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
