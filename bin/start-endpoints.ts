import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Where a running `npm start` on embedded defaults can be found: it writes `.data/endpoints.json`
 * beside its PostgreSQL, and `npm run reconcile` in another terminal reads it when BROKER_URL is
 * unset (the broker listens on a free port, so no default could find it).
 */
export interface StartEndpoints {
  pid: number;
  tradingUrl: string;
  brokerUrl: string;
  /** The broker's generated key: the file is readable by its owner only. */
  brokerApiKey: string;
  databaseUrl: string;
}

const FILE = resolve('.data', 'endpoints.json');

export function writeStartEndpoints(endpoints: StartEndpoints): () => void {
  writeFileSync(FILE, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only to a new file: a stale one left by a killed start keeps its own otherwise.
  chmodSync(FILE, 0o600);
  return () => rmSync(FILE, { force: true });
}

/** The endpoints of an `npm start` that is still running here, if any. */
export function runningStartEndpoints(): StartEndpoints | undefined {
  if (!existsSync(FILE)) return undefined;
  try {
    const endpoints = JSON.parse(readFileSync(FILE, 'utf8')) as StartEndpoints;
    process.kill(endpoints.pid, 0);
    return endpoints;
  } catch {
    // Unreadable, or its process is gone (killed without cleaning up): nothing is running.
    return undefined;
  }
}
