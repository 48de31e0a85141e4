import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Queryable } from '../../../platform/index.ts';
import { StatementDate } from '../../client/broker-order.schemas.ts';
import { STANDING } from './broker.sql.ts';

/**
 * `GET /v1/statements/executions/stream?date=` — the executions statement as NDJSON: one
 * ExecutionReport per line in sequence order, then a last line `{"end":true,"count":N}` so a reader
 * can tell a whole statement from a cut connection. Read a page at a time by sequence, so a day of a
 * million executions costs neither side memory that grows with the day.
 * (Added for the reconciler; the JSON statement stays as it is.)
 */
const PAGE = `
  SELECT sequence, report::text AS report FROM broker_executions e
  WHERE trade_date = $1 AND ${STANDING} AND sequence > $2
  ORDER BY sequence LIMIT $3`;

export const EXECUTIONS_STREAM_PATH = '/v1/statements/executions/stream';

export function registerStatementStreams(app: FastifyInstance, db: Queryable, pageSize = 5_000): void {
  app.get(EXECUTIONS_STREAM_PATH, async (request, reply) => {
    const { date } = z.object({ date: StatementDate }).parse(request.query);
    async function* lines() {
      let after = '0';
      let count = 0;
      for (;;) {
        const { rows } = await db.query<{ sequence: string; report: string }>(PAGE, [date, after, pageSize]);
        if (rows.length === 0) break;
        count += rows.length;
        after = rows.at(-1)!.sequence;
        yield `${rows.map((row) => row.report).join('\n')}\n`;
      }
      yield `${JSON.stringify({ end: true, count })}\n`;
    }
    return reply.type('application/x-ndjson').send(Readable.from(lines()));
  });
}
