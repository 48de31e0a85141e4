import {
  createPool,
  createThrowawayDatabase,
  dec,
  migrate,
  silentLogger,
  withTransaction,
  type Pool,
} from '../platform/index.ts';
import { checkLedgerInvariants, createLedger, ledgerMigrations, type FillToSettle } from './index.ts';
import { readFile } from 'node:fs/promises';
import { markdownTable } from 'markdown-table';

/*
 * Fills settled per second, one per transaction and in batches, beside the same database's rate
 * of bare one-row INSERT transactions at the same concurrency in the same run: the ratio says
 * what the ledger's locks, journal and checks cost over the database's own floor.
 * Each worker owns its accounts, as a Kafka partition keyed by account would.
 */

const WORKERS = Number(process.env.BENCH_WORKERS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
// Batch sizes to measure, comma-separated: the fixed cost of a transaction (round trips, the
// account locks, the commit) spreads over more fills as a batch grows.
const BATCHES = (process.env.BENCH_BATCH ?? '100,1000').split(',').map(Number);
const ACCOUNTS_PER_WORKER = 4;

export async function runLedgerBenchmark(): Promise<void> {
  // A database of its own, dropped at the end, so a DATABASE_URL's data is never touched.
  const database = await createThrowawayDatabase({ prefix: 'ledger_bench', serverUrl: process.env.DATABASE_URL });
  const url = database.url;
  const pool = createPool(url, { max: WORKERS + 2, name: 'ledger-bench' });
  try {
    await migrate(url, [ledgerMigrations], silentLogger);
    await pool.query('CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)');
    const ledger = createLedger({ commissionBps: 10 });
    const workers = await Promise.all(Array.from({ length: WORKERS }, (_, w) => prepareWorker(pool, ledger, w)));

    const bare = await measure(pool, async () => {
      await withTransaction(pool, (tx) => tx.query('INSERT INTO bench_insert (payload) VALUES ($1)', ['x']));
      return 1;
    });
    const unbatched = await measure(pool, async (w) => {
      const fill = workers[w]!.next();
      await withTransaction(pool, (tx) => ledger.settleFill(tx, fill));
      return 1;
    });
    const batched: [number, Measured][] = [];
    for (const size of BATCHES) {
      const measured = await measure(pool, async (w) => {
        const fills = Array.from({ length: size }, () => workers[w]!.next());
        await withTransaction(pool, (tx) => ledger.settleFills(tx, fills));
        return fills.length;
      });
      batched.push([size, measured]);
    }

    const row = (name: string, unit: string, m: Measured): string[] => [
      name,
      `${Math.round(m.rate)} ${unit}/s`,
      (m.rate / bare.rate).toFixed(2),
      `${Math.round(m.nodeCpuUs)} / ${m.pgCpuUs === null ? '–' : Math.round(m.pgCpuUs)}`,
    ];
    const rows = [
      row('bare one-row INSERT transactions', 'tx', bare),
      row('fills, one per transaction', 'fills', unbatched),
      ...batched.map(([size, m]) => row(`fills, ${size} per transaction`, 'fills', m)),
    ];
    const source = process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL (fsync off)';
    process.stdout.write(`ledger: ${source}, ${WORKERS} concurrent workers, ${SECONDS} s per measurement\n`);
    const header = ['measurement', 'rate', 'vs bare insert', 'CPU µs per unit: this process / PostgreSQL'];
    process.stdout.write(`${markdownTable([header, ...rows])}\n`);
    const invariants = await checkLedgerInvariants(pool);
    process.stdout.write(
      `ledger invariants after the run: ${invariants.length === 0 ? 'all hold' : JSON.stringify(invariants)}\n`,
    );
  } finally {
    await pool.end();
    await database.drop();
  }
}

/** Accounts with plenty of cash and one huge open buy order each, filled one share at a time. */
async function prepareWorker(pool: Pool, ledger: ReturnType<typeof createLedger>, worker: number) {
  const holds: string[] = [];
  for (let a = 0; a < ACCOUNTS_PER_WORKER; a++) {
    const accountId = `bench-${worker}-${a}`;
    const holdId = `bench-order-${worker}-${a}`;
    await withTransaction(pool, async (tx) => {
      await ledger.openAccount(tx, accountId);
      await ledger.deposit(tx, { accountId, amount: dec('1000000000.00'), reference: 'bench' });
      await ledger.placeHold(tx, {
        holdId,
        accountId,
        side: 'buy',
        symbol: 'AAPL',
        quantity: dec('5000000'),
        worstPrice: dec('100'),
      });
    });
    holds.push(holdId);
  }
  let n = 0;
  return {
    next: (): FillToSettle => {
      n++;
      return {
        holdId: holds[n % holds.length]!,
        execId: `bench-${worker}-${n}`,
        quantity: dec('1'),
        price: dec('99.99'),
        at: new Date(),
      };
    },
  };
}

interface Measured {
  rate: number;
  /** CPU time of this process (the ledger's code, pg's driver) per unit. */
  nodeCpuUs: number;
  /** CPU time of the database's backends per unit; null where their /proc is not readable (a remote server). */
  pgCpuUs: number | null;
}

/**
 * Runs `op` in WORKERS loops for SECONDS (after a short warm-up): units per second, and the CPU each
 * side spent per unit. The machine may be shared: the rate moves with its load, the CPU per unit much less.
 */
async function measure(pool: Pool, op: (worker: number) => Promise<number>): Promise<Measured> {
  const run = async (ms: number) => {
    const deadline = performance.now() + ms;
    const started = performance.now();
    const counts = await Promise.all(
      Array.from({ length: WORKERS }, async (_, w) => {
        let units = 0;
        while (performance.now() < deadline) units += await op(w);
        return units;
      }),
    );
    return { units: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - started) / 1000 };
  };
  await run(500);
  const node = process.cpuUsage();
  const pg = await backendCpuUs(pool);
  const { units, seconds } = await run(SECONDS * 1000);
  const nodeUsed = process.cpuUsage(node);
  const pgAfter = await backendCpuUs(pool);
  return {
    rate: units / seconds,
    nodeCpuUs: (nodeUsed.user + nodeUsed.system) / units,
    pgCpuUs: pg === null || pgAfter === null ? null : (pgAfter - pg) / units,
  };
}

/** The CPU time so far of this database's backends (the pool's connections), from /proc. */
async function backendCpuUs(pool: Pool): Promise<number | null> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  try {
    let ticks = 0;
    for (const { pid } of rows) {
      // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 a second).
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10_000;
  } catch {
    return null;
  }
}
