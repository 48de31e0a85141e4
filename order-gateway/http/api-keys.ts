import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits: nothing to guess, so a plain hash (not a slow KDF) is the right way to store it. */
export function newApiKey(): string {
  return `key_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Compares two secrets in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(hashApiKey(a), hashApiKey(b));
}
