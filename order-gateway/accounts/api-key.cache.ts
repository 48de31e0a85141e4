import { LRUCache } from 'lru-cache';
import type { ApiKeyOwner } from './api-key.repository.ts';

/**
 * How long one process trusts what it learnt about a key. A key revoked on this process is refused
 * at once (the revoking route forgets it); on every other process within this time.
 */
export const API_KEY_CACHE_TTL_MS = 5_000;
const API_KEY_CACHE_ENTRIES = 10_000;

// lru-cache keeps no null: an unknown key is remembered as this, so a made-up key costs one lookup
// per TTL, not one per request.
const UNKNOWN = { unknown: true } as const;
type Entry = ApiKeyOwner | typeof UNKNOWN;

/**
 * Key lookups by hash, positive and negative, bounded in size and time. Concurrent requests with the
 * same key share one lookup; a lookup in flight when the key is forgotten is discarded.
 */
export class ApiKeyCache {
  readonly #cache: LRUCache<string, Entry>;

  constructor(ownerOf: (keyHash: Buffer) => Promise<ApiKeyOwner | null>, options: { ttlMs?: number } = {}) {
    this.#cache = new LRUCache<string, Entry>({
      max: API_KEY_CACHE_ENTRIES,
      ttl: options.ttlMs ?? API_KEY_CACHE_TTL_MS,
      fetchMethod: async (hex) => (await ownerOf(Buffer.from(hex, 'hex'))) ?? UNKNOWN,
    });
  }

  async ownerOf(keyHash: Buffer): Promise<ApiKeyOwner | null> {
    const entry = await this.#cache.fetch(keyHash.toString('hex'));
    return entry === undefined || 'unknown' in entry ? null : entry;
  }

  /** After a revocation commits, or an issue: what this process knew about the key is dropped. */
  forget(keyHash: Buffer): void {
    this.#cache.delete(keyHash.toString('hex'));
  }
}
