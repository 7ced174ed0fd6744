import { CryptoError } from './crypto.errors';
import { assertBytes, assertUint32, lengthPrefixed, nameBytes, uint32Bytes } from './encoding';
import { hkdfSha256 } from './hkdf';

/** Which column a derived index key serves; a key never serves two scopes. */
export interface IndexKeyScope {
  tenant: string;
  keyring: string;
  field: string;
  /** Version of the index key; tokens from different versions are unrelated. */
  version: number;
}

export const MIN_INDEX_KEY_LENGTH = 32;

/**
 * A 32-byte key for one (purpose, tenant, keyring, field, version, variant), derived with HKDF-SHA256
 * from the keyring's index key. The info is length-prefixed, so no two scopes share a key.
 */
export function deriveScopedKey(indexKey: Uint8Array, purpose: string, scope: IndexKeyScope, variant: string): Buffer {
  assertBytes(indexKey, 'index key', { min: MIN_INDEX_KEY_LENGTH });
  if (typeof scope !== 'object' || scope === null) throw new CryptoError('CRYPTO.BAD_INPUT', 'index key scope is required');
  const info = lengthPrefixed([
    Buffer.from(purpose, 'utf8'),
    nameBytes(scope.tenant, 'scope tenant'),
    nameBytes(scope.keyring, 'scope keyring'),
    nameBytes(scope.field, 'scope field'),
    uint32Bytes(assertUint32(scope.version, 'scope version')),
    Buffer.from(variant, 'utf8'),
  ]);
  return hkdfSha256(indexKey, Buffer.alloc(0), info, 32);
}
