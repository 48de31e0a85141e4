import { request, type ClientRequest } from 'node:http';
import { percentiles, type Percentiles } from './measure.ts';

export interface EventClientsResult {
  streams: number;
  connected: number;
  events: number;
  cutOff: number;
  /** From an event's `at` (written, in its transaction) to its arrival at a client. */
  delayMs: Percentiles;
}

const AT = /"at":"([^"]+)"/;

/**
 * `count` Server-Sent Events clients on `GET /v1/events`, spread over `keys` (so several streams
 * follow each account, as browser tabs and bots would). Kept deliberately light: raw HTTP, one regex
 * per event, so that the clients cost this process little beside the server they measure.
 */
export async function connectEventClients(
  baseUrl: string,
  keys: readonly string[],
  count: number,
): Promise<{ stop(): EventClientsResult }> {
  const delays: number[] = [];
  const requests: ClientRequest[] = [];
  let connected = 0;
  let events = 0;
  let cutOff = 0;
  const opened = Array.from(
    { length: count },
    (_, i) =>
      new Promise<void>((resolve) => {
        const req = request(`${baseUrl}/v1/events?since=0`, {
          agent: false,
          headers: { accept: 'text/event-stream', authorization: `Bearer ${keys[i % keys.length]}` },
        });
        req.on('response', (res) => {
          if (res.statusCode === 200) connected++;
          resolve();
          let pending = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            pending += chunk;
            let end: number;
            while ((end = pending.indexOf('\n\n')) >= 0) {
              const block = pending.slice(0, end);
              pending = pending.slice(end + 2);
              if (block.startsWith('event: cut_off')) cutOff++;
              if (!block.startsWith('id: ')) continue;
              events++;
              const at = AT.exec(block);
              if (at) delays.push(Date.now() - Date.parse(at[1]!));
            }
          });
          res.on('error', () => undefined);
        });
        req.on('error', () => resolve());
        req.end();
        requests.push(req);
      }),
  );
  await Promise.all(opened);
  return {
    stop() {
      for (const req of requests) req.destroy();
      return { streams: count, connected, events, cutOff, delayMs: percentiles(delays) };
    },
  };
}
