import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAccountCursor, encodeAccountCursor } from './ops-read.repository.ts';

describe('the accounts listing cursor', () => {
  it('gives back the page end it was made from', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true, min: new Date(0) }), fc.uuid(), (at, id) => {
        expect(decodeAccountCursor(encodeAccountCursor(at, id))).toEqual({ createdAt: at.toISOString(), id });
      }),
    );
  });

  it('turns anything else into null, never an error or a half-read cursor', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const cursor = decodeAccountCursor(text);
        if (cursor !== null) {
          expect(Number.isNaN(Date.parse(cursor.createdAt))).toBe(false);
          expect(cursor.id).toMatch(/^[0-9a-f-]{36}$/i);
        }
      }),
    );
    expect(decodeAccountCursor('bm9wZQ')).toBeNull();
  });
});
