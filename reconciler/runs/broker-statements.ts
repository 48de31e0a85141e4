import {
  BrokerClient,
  BrokerRejectedError,
  BrokerUnavailableError,
  ExecutionReport,
  type StatementKind,
  type Statements,
} from '../../broker-adapter/index.ts';

/** What the reconciler reads of the broker: its daily statements. */
export interface StatementSource {
  getStatement<K extends StatementKind>(kind: K, date: string): Promise<Statements[K]>;
  /** The executions statement in chunks, so a big day is never held whole; without it, the JSON statement is read. */
  executionChunks?(date: string, chunkSize: number): AsyncIterable<ExecutionReport[]>;
  /** The broker's replay of every report of one order; lets repair bring back a dropped close. */
  getOrderReports?(brokerOrderId: string): Promise<ExecutionReport[]>;
}

const STREAM_PATH = '/v1/statements/executions/stream';

/**
 * The broker's statements over HTTP: the JSON statements through BrokerClient, and the executions
 * as the broker's NDJSON stream (falling back to the JSON statement on a broker without it).
 */
export function brokerStatements(options: {
  baseUrl: string;
  /** The broker's API key (BROKER_API_KEY). */
  apiKey: string;
  timeoutMs?: number;
  streamTimeoutMs?: number;
}): StatementSource {
  const client = new BrokerClient({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return {
    getStatement: (kind, date) => client.getStatement(kind, date),
    getOrderReports: (brokerOrderId) => client.getOrderReports(brokerOrderId),
    async *executionChunks(date, chunkSize) {
      const url = new URL(`${STREAM_PATH}?date=${encodeURIComponent(date)}`, options.baseUrl);
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { authorization: `Bearer ${options.apiKey}` },
          signal: AbortSignal.timeout(options.streamTimeoutMs ?? 600_000),
        });
      } catch (error) {
        throw new BrokerUnavailableError(
          'connection',
          `GET ${STREAM_PATH}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (response.status === 404) {
        await response.body?.cancel();
        const { executions } = await client.getStatement('executions', date);
        for (let i = 0; i < executions.length; i += chunkSize) yield executions.slice(i, i + chunkSize);
        return;
      }
      if (response.status >= 500) {
        await response.body?.cancel();
        throw new BrokerUnavailableError(
          'server_error',
          `GET ${STREAM_PATH}: HTTP ${response.status}`,
          response.status,
        );
      }
      if (response.status >= 400 || !response.body) {
        const text = await response.text();
        throw new BrokerRejectedError(
          response.status,
          `HTTP_${response.status}`,
          `GET ${STREAM_PATH}: ${text.slice(0, 500)}`,
          null,
        );
      }
      let chunk: ExecutionReport[] = [];
      let count = 0;
      let ended = false;
      for await (const line of ndjsonLines(response.body)) {
        if (ended) throw new BrokerUnavailableError('bad_response', 'executions statement: data after its end line');
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new BrokerUnavailableError('bad_response', `executions statement line ${count + 1} is not JSON`);
        }
        if (typeof value === 'object' && value !== null && 'end' in value) {
          if ((value as { count?: unknown }).count !== count) {
            throw new BrokerUnavailableError(
              'bad_response',
              `executions statement: end line counts ${String((value as { count?: unknown }).count)}, read ${count}`,
            );
          }
          ended = true;
          continue;
        }
        const parsed = ExecutionReport.safeParse(value);
        if (!parsed.success)
          throw new BrokerUnavailableError(
            'bad_response',
            `executions statement line ${count + 1}: ${parsed.error.message}`,
          );
        chunk.push(parsed.data);
        count++;
        if (chunk.length >= chunkSize) {
          yield chunk;
          chunk = [];
        }
      }
      // A statement cut short must never pass for a whole one: its missing tail would read as unknown executions.
      if (!ended) throw new BrokerUnavailableError('bad_response', 'executions statement cut short (no end line)');
      if (chunk.length > 0) yield chunk;
    },
  };
}

async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let buffered = '';
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield line;
      newline = buffered.indexOf('\n');
    }
  }
  if (buffered.trim()) yield buffered.trim();
}
