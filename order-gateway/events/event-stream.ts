import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';

/** A stored event as a stream sends it: its number, its type, and the rest as the JSON data. */
export interface StreamedEvent {
  seq: number;
  type: string;
}

export interface EventStreamOptions {
  /** A comment line this often keeps proxies from closing the connection (EVENTS_HEARTBEAT_SECONDS). */
  heartbeatMs: number;
  /** Bytes a client may leave unread before it is cut off (EVENTS_CLIENT_BUFFER_BYTES). */
  maxBufferBytes: number;
  pageSize?: number;
  /** How long a cut-off client has to read its last event before the socket is closed anyway. */
  cutOffGraceMs?: number;
}

/** The reason in a `cut_off` event's data: the client did not read fast enough. */
export const SLOW_CLIENT = 'SLOW_CLIENT';
/** The reason in a `cut_off` event's data: the key that opened the stream was revoked. */
export const KEY_REVOKED = 'KEY_REVOKED';

/**
 * One Server-Sent Events connection. The database is the only queue: on each wake-up the stream reads
 * the rows after the last number it wrote, so replay and live delivery are one loop, the seam between
 * them has neither gap nor duplicate, and a client that stops reading costs at most its socket's
 * buffer. Past `maxBufferBytes` unread (or a buffer that does not drain within a heartbeat) the client
 * gets a last `cut_off` event naming the number it reached, and the connection ends: it resumes with
 * Last-Event-ID like after any other disconnect.
 */
export class EventStream {
  private lastSeq: number;
  private pumping = false;
  private pending = false;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly pageSize: number;
  private readonly res: ServerResponse;
  private readonly read: (since: number, limit: number) => Promise<StreamedEvent[]>;
  private readonly options: EventStreamOptions;
  private readonly logger: FastifyBaseLogger;
  private readonly onEnd: (stream: EventStream, cutOff: boolean) => void;
  private readonly authorized: () => Promise<boolean>;

  constructor(input: {
    res: ServerResponse;
    since: number;
    read: (since: number, limit: number) => Promise<StreamedEvent[]>;
    options: EventStreamOptions;
    logger: FastifyBaseLogger;
    onEnd: (stream: EventStream, cutOff: boolean) => void;
    /** Whether the key that opened the stream still holds: asked before each read. */
    authorized?: () => Promise<boolean>;
  }) {
    this.res = input.res;
    this.lastSeq = input.since;
    this.read = input.read;
    this.options = input.options;
    this.logger = input.logger;
    this.onEnd = input.onEnd;
    this.authorized = input.authorized ?? (async () => true);
    this.pageSize = input.options.pageSize ?? 200;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // The response ends only when the stream does: the connection goes with it.
      connection: 'close',
      'x-accel-buffering': 'no',
    });
    this.res.write(`retry: 1000\n: stream of events after ${this.lastSeq}\n\n`);
    this.res.on('close', () => this.finish(false));
    // Every heartbeat also reads: a wake-up lost with the listening connection costs one interval at most.
    this.heartbeat = setInterval(() => {
      if (this.closed) return;
      this.res.write(': heartbeat\n\n');
      this.wake();
    }, this.options.heartbeatMs);
    this.wake();
  }

  /** The number of the last event written to this client. */
  get position(): number {
    return this.lastSeq;
  }

  /** New events may exist: read and send them (coalesced while a read is running). */
  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pending = true;
      return;
    }
    this.pumping = true;
    void this.pump().finally(() => (this.pumping = false));
  }

  /** The server is shutting down: the client reconnects elsewhere with its Last-Event-ID. */
  close(): void {
    if (this.closed) return;
    this.res.end();
    this.finish(false);
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.pending = false;
        for (;;) {
          if (this.closed) return;
          if (this.res.writableNeedDrain && !(await this.drained())) return this.cutOff(SLOW_CLIENT);
          if (this.closed) return;
          // A key revoked while its stream is open gets no further event (the key lookup is cached,
          // so this costs no query on most reads).
          if (!(await this.authorized())) return this.cutOff(KEY_REVOKED);
          if (this.closed) return;
          const page = await this.read(this.lastSeq, this.pageSize);
          if (this.closed) return;
          for (const event of page) {
            this.res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
            this.lastSeq = event.seq;
          }
          if (this.res.writableLength > this.options.maxBufferBytes) return this.cutOff(SLOW_CLIENT);
          if (page.length < this.pageSize) break;
        }
      } while (this.pending);
    } catch (error) {
      // PostgreSQL away: the client keeps its connection and its heartbeats; the next wake-up retries.
      this.logger.warn({ err: error, lastSeq: this.lastSeq }, 'event stream: reading events failed; will retry');
    }
  }

  private drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.res.off('drain', onDrain);
        resolve(false);
      }, this.options.heartbeatMs);
      const onDrain = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.res.once('drain', onDrain);
    });
  }

  private cutOff(reason: typeof SLOW_CLIENT | typeof KEY_REVOKED): void {
    if (this.closed) return;
    const data = {
      reason,
      lastSeq: this.lastSeq,
      message:
        reason === SLOW_CLIENT
          ? `the client did not read its events fast enough; reconnect with Last-Event-ID: ${this.lastSeq}`
          : 'the API key of this stream was revoked; reconnect with a live key',
    };
    // No `id:` line: the client's Last-Event-ID stays the last event it received.
    this.res.end(`event: cut_off\ndata: ${JSON.stringify(data)}\n\n`);
    const grace = setTimeout(() => this.res.destroy(), this.options.cutOffGraceMs ?? 30_000);
    grace.unref();
    this.res.once('close', () => clearTimeout(grace));
    this.logger.warn(
      { lastSeq: this.lastSeq, reason },
      reason === SLOW_CLIENT ? 'event stream: slow client cut off' : 'event stream: key revoked, stream ended',
    );
    this.finish(reason === SLOW_CLIENT);
  }

  private finish(cutOff: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.onEnd(this, cutOff);
  }
}
