import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { arrayLiteral } from './ledger.repository.ts';

describe('the array parameters of a ledger write, on real PostgreSQL', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  const roundTrip = async (values: (string | null)[]) => {
    const { rows } = await db.pool.query<{ values: (string | null)[] }>('SELECT $1::text[] AS values', [
      arrayLiteral(values),
    ]);
    return rows[0]!.values;
  };

  it('PostgreSQL reads back exactly the strings sent, whatever characters they hold', async () => {
    // PostgreSQL's text cannot hold NUL; everything else, quotes, backslashes, braces, commas,
    // control characters, non-ASCII and the word NULL included, must come back as it was sent.
    const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\u0000'));
    const tricky = fc.constantFrom('"', '\\', '\\"', '{', '}', ',', ' ', 'NULL', 'null', '', '\n', 'é', '\uD800');
    const element = fc.oneof(text, tricky, fc.constant(null));
    await fc.assert(
      fc.asyncProperty(fc.array(element, { maxLength: 8 }), async (values) => {
        // A lone surrogate is not valid UTF-8; pg sends it as U+FFFD, as it would any string.
        const expected = values.map((v) => (v === null ? null : Buffer.from(v, 'utf8').toString('utf8')));
        expect(await roundTrip(values)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('builds the literal itself when nothing needs more than quoting, and leaves the rest to pg', () => {
    expect(arrayLiteral(['a', 'b"c', 'd\\e', null])).toBe('{"a","b\\"c","d\\\\e",null}');
    expect(arrayLiteral([])).toBe('{}');
    const withNewline = ['line\nbreak'];
    expect(arrayLiteral(withNewline)).toBe(withNewline);
  });
});
