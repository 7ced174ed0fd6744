import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DATA_KEY_LENGTH } from '@traceo/crypto';
import { KEY_ENCRYPTION_KEY, type KeyEncryptionKey } from '../hsm/key-encryption-key.port';

export interface KeyVersionRef {
  tenantId: string;
  keyringId: string;
  version: number;
}

export interface WrappedDataKey {
  wrappedKey: Buffer;
  kekId: string;
}

/** How long an unwrapped data key stays in memory, and how many at most. */
export const DATA_KEY_CACHE_TTL_MS = 60_000;
export const DATA_KEY_CACHE_MAX_ENTRIES = 1024;

/** The wrapping aad: the key's place in the hierarchy, so a wrapped key cannot be replayed into another keyring or version. */
export function wrappingAad({ tenantId, keyringId, version }: KeyVersionRef): Buffer {
  // Tenant and keyring ids cannot contain '|' (validated at the HTTP boundary), so this is unambiguous.
  return Buffer.from(`${tenantId}|${keyringId}|${version}`, 'utf8');
}

interface CachedKey {
  material: Buffer;
  expiresAt: number;
}

/**
 * Creates data keys (wrapped by the HSM before they are stored) and unwraps them for use. Unwrapped
 * keys are kept for DATA_KEY_CACHE_TTL_MS in a bounded in-process map, so the HSM sees one unwrap per
 * key version per minute rather than one per field; evicted keys are zeroed.
 */
@Injectable()
export class DataKeys {
  private readonly cache = new Map<string, CachedKey>();

  constructor(@Inject(KEY_ENCRYPTION_KEY) private readonly kek: KeyEncryptionKey) {}

  create(ref: KeyVersionRef): WrappedDataKey {
    const material = randomBytes(DATA_KEY_LENGTH);
    try {
      return { wrappedKey: this.kek.wrap(material, wrappingAad(ref)), kekId: this.kek.id };
    } finally {
      material.fill(0);
    }
  }

  /** The data key's bytes, owned by the cache: use them synchronously, never keep or zero them. */
  unwrap(ref: KeyVersionRef, wrapped: WrappedDataKey): Buffer {
    const cacheKey = `${ref.tenantId}|${ref.keyringId}|${ref.version}|${wrapped.kekId}`;
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expiresAt > now) return cached.material;
    if (cached) this.evict(cacheKey);
    const material = this.kek.unwrap(wrapped.wrappedKey, wrappingAad(ref));
    this.sweep(now);
    this.cache.set(cacheKey, { material, expiresAt: now + DATA_KEY_CACHE_TTL_MS });
    return material;
  }

  /** Drops every cached key (zeroed); used at shutdown and by tests. */
  clear(): void {
    for (const key of [...this.cache.keys()]) this.evict(key);
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.cache) if (entry.expiresAt <= now) this.evict(key);
    // Map iteration is insertion order: the first entries are the oldest.
    while (this.cache.size >= DATA_KEY_CACHE_MAX_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.evict(oldest);
    }
  }

  private evict(key: string): void {
    this.cache.get(key)?.material.fill(0);
    this.cache.delete(key);
  }
}
