import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How the broker signs each push to the fill receiver, and how the receiver checks it.
 *
 *   x-signature-timestamp: <Unix time in whole seconds, when the push was signed>
 *   x-signature:           sha256=<lowercase hex of HMAC-SHA256(secret, "<timestamp>." + raw body bytes)>
 *
 * The timestamp is inside the MAC, so a captured push cannot be replayed with a fresh timestamp, and
 * a push older than MAX_SKEW_SECONDS (or that far in the future) is refused whatever its MAC: a
 * replay window of five minutes, which duplicate execIds make harmless anyway. The MAC covers the
 * exact bytes sent, so the receiver checks it before it parses anything.
 */
export const TIMESTAMP_HEADER = 'x-signature-timestamp';
export const SIGNATURE_HEADER = 'x-signature';
export const MAX_SKEW_SECONDS = 300;

const SIGNATURE_PREFIX = 'sha256=';
const TIMESTAMP_FORMAT = /^\d{1,12}$/;
const SIGNATURE_FORMAT = /^sha256=[0-9a-f]{64}$/;

/** Why a push was refused; each is a label of the refusal counter. */
export const REFUSAL_REASONS = ['unsigned', 'malformed', 'stale', 'future', 'mismatch'] as const;
export type PushRefusal = (typeof REFUSAL_REASONS)[number];

/**
 * The key one named broker signs its pushes with: derived from FILL_RECEIVER_SECRET and its name, so
 * the receiver needs one secret for all brokers while no broker can sign as another (each is given
 * its own derived key, and the key of one says nothing of the others').
 */
export function brokerPushSecret(secret: string, broker: string): string {
  return createHmac('sha256', secret).update(`broker-push:${broker}`, 'utf8').digest('base64url');
}

function mac(secret: string, timestamp: string, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest();
}

/** The two headers that sign `body`, sent at `nowMs`. */
export function signPush(secret: string, body: Uint8Array | string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `${SIGNATURE_PREFIX}${mac(secret, timestamp, bytes).toString('hex')}`,
  };
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/**
 * What can be decided from the headers alone, before a byte of the body is read: present, well
 * formed, and fresh. Null when the push may go on to the MAC check.
 */
export function checkSignatureHeaders(headers: Headers, nowMs: number): PushRefusal | null {
  const timestamp = headers[TIMESTAMP_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (timestamp === undefined && signature === undefined) return 'unsigned';
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return 'malformed';
  if (!TIMESTAMP_FORMAT.test(timestamp) || !SIGNATURE_FORMAT.test(signature)) return 'malformed';
  const skew = Number(timestamp) - Math.floor(nowMs / 1000);
  if (skew < -MAX_SKEW_SECONDS) return 'stale';
  if (skew > MAX_SKEW_SECONDS) return 'future';
  return null;
}

/** True when `signature` is the MAC of `timestamp` and these exact bytes; compared in constant time. */
export function signatureMatches(secret: string, timestamp: string, signature: string, body: Uint8Array): boolean {
  if (!SIGNATURE_FORMAT.test(signature)) return false;
  const given = Buffer.from(signature.slice(SIGNATURE_PREFIX.length), 'hex');
  return timingSafeEqual(given, mac(secret, timestamp, body));
}

/** The whole check: headers, freshness, then the MAC over the raw body. Null when the push is genuine. */
export function verifyPush(secret: string, headers: Headers, body: Uint8Array, nowMs: number): PushRefusal | null {
  const refusal = checkSignatureHeaders(headers, nowMs);
  if (refusal) return refusal;
  return signatureMatches(secret, headers[TIMESTAMP_HEADER] as string, headers[SIGNATURE_HEADER] as string, body)
    ? null
    : 'mismatch';
}
