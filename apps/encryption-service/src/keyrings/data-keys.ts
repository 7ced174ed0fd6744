import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CryptoError, DATA_KEY_LENGTH, forgetDataKey, forgetHybridSecretKey, hybridKem, unwrapKey, wrapKey } from '@traceo/crypto';
import { KEY_ENCRYPTION_KEY, KeyIntegrityError, type KeyEncryptionKey } from '@traceo/hsm';
import type { Keyring, Wrapping } from './keyring';

/** Where a data key sits in the hierarchy: a keyring version, or one data subject's key in a subject keyring. */
export type KeyRef =
  | { tenantId: string; keyringId: string; version: number; subjectId?: undefined }
  | { tenantId: string; keyringId: string; subjectId: string; version?: undefined };

/** How to wrap for a keyring: its wrapping and, for hybrid-pq, its X-Wing key pair. */
export type WrappingContext = Pick<Keyring, 'tenantId' | 'keyringId' | 'wrapping' | 'pqPublicKey' | 'pqSecretKeyWrapped'>;

export interface WrappedDataKey {
  wrappedKey: Buffer;
  kekId: string;
  wrapping: Wrapping;
}

/** How long an unwrapped key stays in memory, and how many at most. */
export const DATA_KEY_CACHE_TTL_MS = 60_000;
export const DATA_KEY_CACHE_MAX_ENTRIES = 4096;

/** The wrapping aad: the key's place in the hierarchy, so a wrapped key cannot be replayed into another keyring, version or subject. */
export function wrappingAad(ref: KeyRef): Buffer {
  return Buffer.from(keySlot(ref), 'utf8');
}

function keySlot(ref: KeyRef): string {
  // Tenant, keyring and subject ids cannot contain '|' (validated at the HTTP boundary), so this is unambiguous.
  const slot = ref.subjectId === undefined ? String(ref.version) : `subject:${ref.subjectId}`;
  return `${ref.tenantId}|${ref.keyringId}|${slot}`;
}

function pqSecretAad(tenantId: string, keyringId: string): Buffer {
  return Buffer.from(`${tenantId}|${keyringId}|x-wing-secret-key`, 'utf8');
}

interface CachedKey {
  material: Buffer;
  expiresAt: number;
}

/**
 * Creates data keys and wraps them before they are stored, and unwraps them for use.
 *
 * classic: the HSM's KEK wraps the data key (AES-256-GCM inside the token).
 * hybrid-pq: the data key is wrapped to the keyring's X-Wing public key (libs/crypto `wrapKey`); the
 * X-Wing secret key is itself stored wrapped by the HSM's KEK, and unwrapped (then cached) to decapsulate.
 *
 * Unwrapped keys stay for DATA_KEY_CACHE_TTL_MS in a bounded in-process map, so the HSM sees one
 * unwrap per key per minute rather than one per field; evicted keys are zeroed, and what libs/crypto
 * derived from them (per-column GCM keys) is dropped. The cache is keyed by
 * a digest of the wrapped bytes too, so a rewrapped or destroyed key is never served from it.
 */
@Injectable()
export class DataKeys {
  private readonly cache = new Map<string, CachedKey>();

  constructor(@Inject(KEY_ENCRYPTION_KEY) private readonly kek: KeyEncryptionKey) {}

  get kekId(): string {
    return this.kek.id;
  }

  /** A fresh X-Wing key pair for a hybrid-pq keyring; the secret key leaves only wrapped by the HSM. */
  newKeyPair(tenantId: string, keyringId: string): { pqPublicKey: Buffer; pqSecretKeyWrapped: Buffer } {
    const { publicKey, secretKey } = hybridKem().generateKeyPair();
    try {
      return { pqPublicKey: publicKey, pqSecretKeyWrapped: this.kek.wrap(secretKey, pqSecretAad(tenantId, keyringId)) };
    } finally {
      secretKey.fill(0);
    }
  }

  /** A new random data key, wrapped for the keyring. */
  create(ref: KeyRef, keyring: WrappingContext): WrappedDataKey {
    const material = randomBytes(DATA_KEY_LENGTH);
    try {
      return this.wrap(material, ref, keyring);
    } finally {
      material.fill(0);
    }
  }

  /** Wraps existing key bytes the way `keyring` says (used to switch a keyring's wrapping). */
  wrap(material: Buffer, ref: KeyRef, keyring: WrappingContext): WrappedDataKey {
    const aad = wrappingAad(ref);
    if (keyring.wrapping === 'classic') return { wrappedKey: this.kek.wrap(material, aad), kekId: this.kek.id, wrapping: 'classic' };
    if (!keyring.pqPublicKey) throw new Error(`keyring ${keyring.keyringId} is hybrid-pq without a key pair`);
    return { wrappedKey: wrapKey(keyring.pqPublicKey, material, { aad }), kekId: this.kek.id, wrapping: 'hybrid-pq' };
  }

  /**
   * The data key's bytes, owned by the cache: use them synchronously, never keep or zero them.
   * Called once per field, so a cache hit costs a string and two map lookups, no hashing.
   */
  unwrap(ref: KeyRef, wrapped: WrappedDataKey, keyring: WrappingContext): Buffer {
    const cacheKey = `key|${keySlot(ref)}|${digest(wrapped.wrappedKey)}`;
    return this.cached(cacheKey, () => {
      const aad = wrappingAad(ref);
      if (wrapped.wrapping === 'classic') return this.kek.unwrap(wrapped.wrappedKey, aad);
      const secretKey = this.pqSecretKey(keyring);
      try {
        return unwrapKey(secretKey, wrapped.wrappedKey, { aad });
      } catch (error) {
        if (error instanceof CryptoError) throw new KeyIntegrityError('the wrapped data key failed authentication');
        throw error;
      }
    });
  }

  /** Drops every cached key (zeroed); used at shutdown, after destroying keys, and by tests. */
  clear(): void {
    for (const key of [...this.cache.keys()]) this.evict(key);
  }

  private pqSecretKey(keyring: WrappingContext): Buffer {
    if (!keyring.pqSecretKeyWrapped) throw new KeyIntegrityError('the keyring has no X-Wing key pair for a hybrid-pq wrapped key');
    const wrappedSecret = keyring.pqSecretKeyWrapped;
    return this.cached(`x-wing|${keyring.tenantId}|${keyring.keyringId}|${digest(wrappedSecret)}`, () =>
      this.kek.unwrap(wrappedSecret, pqSecretAad(keyring.tenantId, keyring.keyringId)),
    );
  }

  private cached(cacheKey: string, load: () => Buffer): Buffer {
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expiresAt > now) return cached.material;
    if (cached) this.evict(cacheKey);
    const material = load();
    this.sweep(now);
    this.cache.set(cacheKey, { material, expiresAt: now + DATA_KEY_CACHE_TTL_MS });
    return material;
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
    const material = this.cache.get(key)?.material;
    if (material) {
      // libs/crypto keeps what it derived or imported from these bytes (per-column keys of a data
      // key, native keys of an X-Wing secret key); it goes with them.
      forgetDataKey(material);
      forgetHybridSecretKey(material);
      material.fill(0);
    }
    this.cache.delete(key);
  }
}

// Digests of wrapped keys by Buffer: a batch passes the same row's Buffer for every field. Rows are
// read fresh from the database, so changed bytes arrive in a new Buffer; wrapped keys are never
// modified in place.
const digests = new WeakMap<Buffer, string>();

function digest(bytes: Buffer): string {
  let value = digests.get(bytes);
  if (value === undefined) {
    value = createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
    digests.set(bytes, value);
  }
  return value;
}
