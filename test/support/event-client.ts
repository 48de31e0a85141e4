import { createServer, connect, type Server, type Socket } from 'node:net';
import { EventSource } from 'eventsource';
import { ACCOUNT_EVENT_TYPES } from '../../order-gateway/orders/account-event.schemas.ts';

export interface ReceivedEvent {
  id: string;
  type: string;
  data: { seq: number; type: string; order: { id: string; status: string; filledQuantity: string } } & Record<
    string,
    unknown
  >;
}

/** What the package's MessageEvent carries, without the DOM's types. */
interface SseMessage {
  data: string;
  lastEventId: string;
}

/**
 * A real EventSource (the `eventsource` package, as a Node integrator would use it) on an events
 * route: it reconnects by itself after a drop, sending Last-Event-ID, exactly as a browser does.
 */
export class EventClient {
  readonly events: ReceivedEvent[] = [];
  readonly cutOffs: unknown[] = [];
  readonly source: EventSource;
  opened = 0;

  constructor(url: string, key: string, types: readonly string[] = ACCOUNT_EVENT_TYPES) {
    this.source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${key}` } }),
    });
    this.source.addEventListener('open', () => this.opened++);
    for (const type of types) {
      this.source.addEventListener(type, (event) => {
        const { data, lastEventId } = event as unknown as SseMessage;
        this.events.push({ id: lastEventId, type, data: JSON.parse(data) as ReceivedEvent['data'] });
      });
    }
    this.source.addEventListener('cut_off', (event) => {
      this.cutOffs.push(JSON.parse((event as unknown as SseMessage).data));
    });
  }

  async waitFor(done: (events: readonly ReceivedEvent[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.events)) {
      if (Date.now() > deadline) {
        throw new Error(`events not as awaited after ${timeoutMs} ms: ${this.events.length} received`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.source.close();
  }
}

/** A TCP hop whose connections the test can cut at will: a network drop between client and server. */
export class CuttableProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  url = '';

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this.url;
  }

  /** Drops every open connection, as a network failure would. */
  cut(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    return count;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
