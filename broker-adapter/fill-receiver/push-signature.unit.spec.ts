import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkSignatureHeaders,
  MAX_SKEW_SECONDS,
  SIGNATURE_HEADER,
  signPush,
  TIMESTAMP_HEADER,
  verifyPush,
} from './push-signature.ts';

const secret = fc.string({ minLength: 32, maxLength: 64 });
const body = fc.uint8Array({ maxLength: 2_000 });
// Wall-clock milliseconds between 2001 and 2286.
const now = fc.integer({ min: 1_000_000_000_000, max: 9_999_999_999_000 });

describe('push signatures', () => {
  it('is HMAC-SHA256 over "<timestamp>." and the body, as documented', () => {
    const headers = signPush('k'.repeat(32), '{"a":1}', 1_700_000_000_999);
    expect(headers[TIMESTAMP_HEADER]).toBe('1700000000');
    const expected = createHmac('sha256', 'k'.repeat(32)).update('1700000000.{"a":1}').digest('hex');
    expect(headers[SIGNATURE_HEADER]).toBe(`sha256=${expected}`);
  });

  it('accepts what it signed, up to five minutes either way', () => {
    fc.assert(
      fc.property(secret, body, now, fc.integer({ min: -MAX_SKEW_SECONDS, max: MAX_SKEW_SECONDS }), (s, b, t, skew) => {
        const signedAt = t + skew * 1000;
        expect(verifyPush(s, signPush(s, b, signedAt), b, t)).toBeNull();
      }),
    );
  });

  it('refuses any change to the body, however small', () => {
    fc.assert(
      fc.property(
        secret,
        body.filter((b) => b.length > 0),
        now,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (s, b, t, i, flip) => {
          const headers = signPush(s, b, t);
          const changed = Uint8Array.from(b);
          changed[i % b.length] = changed[i % b.length]! ^ flip;
          expect(verifyPush(s, headers, changed, t)).toBe('mismatch');
          expect(verifyPush(s, headers, b.subarray(0, b.length - 1), t)).toBe('mismatch');
        },
      ),
    );
  });

  it('refuses a signature made with another secret', () => {
    fc.assert(
      fc.property(secret, secret, body, now, (s, other, b, t) => {
        fc.pre(s !== other);
        expect(verifyPush(s, signPush(other, b, t), b, t)).toBe('mismatch');
      }),
    );
  });

  it('refuses a signature older or newer than five minutes, whatever its MAC', () => {
    fc.assert(
      fc.property(secret, body, now, fc.integer({ min: MAX_SKEW_SECONDS + 1, max: 10 ** 6 }), (s, b, t, skew) => {
        // Whole seconds: the timestamp is in seconds, so a skew of 300.5 s may still read as 300.
        const at = Math.floor(t / 1000) * 1000;
        expect(verifyPush(s, signPush(s, b, at - skew * 1000), b, at)).toBe('stale');
        expect(verifyPush(s, signPush(s, b, at + skew * 1000), b, at)).toBe('future');
      }),
    );
  });

  it('refuses a timestamp swapped into a genuine signature', () => {
    fc.assert(
      fc.property(secret, body, now, fc.integer({ min: 1, max: MAX_SKEW_SECONDS }), (s, b, t, shift) => {
        const headers = signPush(s, b, t);
        const moved = { ...headers, [TIMESTAMP_HEADER]: String(Number(headers[TIMESTAMP_HEADER]) - shift) };
        expect(verifyPush(s, moved, b, t)).toBe('mismatch');
      }),
    );
  });

  it('tells an unsigned push from a malformed one, from the headers alone', () => {
    const t = 1_700_000_000_000;
    const good = signPush('k'.repeat(32), 'x', t);
    expect(checkSignatureHeaders({}, t)).toBe('unsigned');
    for (const headers of [
      { [TIMESTAMP_HEADER]: good[TIMESTAMP_HEADER] },
      { [SIGNATURE_HEADER]: good[SIGNATURE_HEADER] },
      { ...good, [TIMESTAMP_HEADER]: '-1' },
      { ...good, [TIMESTAMP_HEADER]: '1.7e9' },
      { ...good, [SIGNATURE_HEADER]: good[SIGNATURE_HEADER]!.toUpperCase() },
      { ...good, [SIGNATURE_HEADER]: good[SIGNATURE_HEADER]!.slice(0, -2) },
      { ...good, [SIGNATURE_HEADER]: [good[SIGNATURE_HEADER]!, good[SIGNATURE_HEADER]!] },
    ]) {
      expect(checkSignatureHeaders(headers, t)).toBe('malformed');
    }
    expect(checkSignatureHeaders(good, t)).toBeNull();
  });
});
