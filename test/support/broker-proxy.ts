import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll } from 'vitest';
import { startTestSystem, type TestSystem } from './system.ts';

export interface ProxiedCall {
  method: string;
  path: string;
  at: number;
  /** The answer the proxy made up, or null when the call went through to the broker. */
  answered: number | null;
}

/** `forwarded`: the call reaches the broker first, and only its answer is lost (replaced by this one). */
export type FaultAnswer = { status: number; headers?: Record<string, string>; body?: unknown; forwarded?: boolean };

/**
 * A misbehaving network between the request server and the broker: each call is first offered to
 * `fault`, which may answer in the broker's place (a 429, a 503, a refusal...); otherwise the call
 * goes through unchanged. Every call is recorded. Listens on 127.0.0.1; `close()` stops it.
 */
export class BrokerProxy {
  readonly calls: ProxiedCall[] = [];
  fault: (call: { method: string; path: string; body: unknown }) => FaultAnswer | null = () => null;
  private target = '';
  private readonly server: Server;
  private url = '';

  constructor() {
    this.server = createServer((request, response) => {
      void this.handle(request).then(
        ({ status, headers, body }) => {
          response.writeHead(status, { 'content-type': 'application/json', ...headers });
          response.end(body);
        },
        (error: unknown) => {
          response.writeHead(502, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: { code: 'PROXY', message: String(error), details: null } }));
        },
      );
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** For startTestSystem's `requestServerBrokerUrl`: remembers the broker and answers the proxy's URL. */
  readonly interpose = (brokerUrl: string): string => {
    this.target = brokerUrl;
    return this.url;
  };

  /** Sends the calls from now on to another broker: a stand-in for routing, where a test needs one. */
  retarget(brokerUrl: string): void {
    this.target = brokerUrl;
  }

  callsTo(method: string, pathPart: string): ProxiedCall[] {
    return this.calls.filter((call) => call.method === method && call.path.includes(pathPart));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(
    request: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const method = request.method ?? 'GET';
    const path = request.url ?? '/';
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    const made = this.fault({ method, path, body });
    this.calls.push({ method, path, at: Date.now(), answered: made?.status ?? null });
    // The broker's key passes through, as through any proxy in front of it.
    const authorization = request.headers.authorization;
    if (made?.forwarded) await this.forward(method, path, text, authorization);
    if (made) return { status: made.status, headers: made.headers ?? {}, body: JSON.stringify(made.body ?? {}) };
    return this.forward(method, path, text, authorization);
  }

  private async forward(
    method: string,
    path: string,
    text: string,
    authorization: string | undefined,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const response = await fetch(new URL(path, this.target), {
      method,
      headers: {
        ...(text === '' ? {} : { 'content-type': 'application/json' }),
        ...(authorization ? { authorization } : {}),
      },
      body: text === '' ? undefined : text,
    });
    return { status: response.status, headers: {}, body: await response.text() };
  }
}

/**
 * A whole test system whose request server reaches the broker through `proxy`, started before the
 * suite's tests and stopped after them; `system()` is the running system.
 */
export function systemBehindProxy(
  proxy: BrokerProxy,
  options: Omit<Parameters<typeof startTestSystem>[0], 'requestServerBrokerUrl'> = {},
): () => TestSystem {
  let system: TestSystem | undefined;
  beforeAll(async () => {
    await proxy.listen();
    system = await startTestSystem({ ...options, requestServerBrokerUrl: proxy.interpose });
  });
  afterAll(async () => {
    await system?.stop();
    await proxy.close();
  });
  return () => system!;
}
