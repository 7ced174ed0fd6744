import { createSecretKey, type KeyObject } from 'node:crypto';

import { CryptoError } from './crypto.errors';
import { hmacSha256 } from './hmac';
import { deriveScopedKey, type IndexKeyScope } from './key-scope';

export type BlindIndexKind = 'email' | 'phone' | 'generic';

export interface BlindIndexOptions extends IndexKeyScope {
  kind: BlindIndexKind;
  /** Bytes of HMAC output kept, 8..32 (default 16). Shorter tokens collide more and so leak less, but match falsely more. */
  tokenBytes?: number;
}

export const BLIND_INDEX_MIN_TOKEN_BYTES = 8;
export const BLIND_INDEX_DEFAULT_TOKEN_BYTES = 16;

/**
 * Equality tokens for searching encrypted columns: `v<version>:` + base64url(HMAC-SHA256(field key,
 * normalised value)) truncated to `tokenBytes`. The field key is derived from the index key for this
 * tenant, keyring, field, kind and version, so tokens never match across any of them.
 *
 * Leaks equality of normalised values within one column (and so their frequencies); nothing else.
 */
export class BlindIndexer {
  readonly kind: BlindIndexKind;
  readonly version: number;
  readonly tokenBytes: number;
  private readonly key: KeyObject;

  constructor(indexKey: Uint8Array, options: BlindIndexOptions) {
    if (typeof options !== 'object' || options === null) throw new CryptoError('CRYPTO.BAD_INPUT', 'blind index options are required');
    if (!isKind(options.kind)) throw new CryptoError('CRYPTO.BAD_INPUT', 'blind index kind must be email, phone or generic');
    const tokenBytes = options.tokenBytes ?? BLIND_INDEX_DEFAULT_TOKEN_BYTES;
    if (!Number.isInteger(tokenBytes) || tokenBytes < BLIND_INDEX_MIN_TOKEN_BYTES || tokenBytes > 32) {
      throw new CryptoError(
        'CRYPTO.BAD_INPUT',
        `blind index token length must be an integer in [${BLIND_INDEX_MIN_TOKEN_BYTES}, 32] bytes`,
      );
    }
    const fieldKey = deriveScopedKey(indexKey, 'traceo/blind-index/v1', options, options.kind);
    this.key = createSecretKey(fieldKey);
    fieldKey.fill(0);
    this.kind = options.kind;
    this.version = options.version;
    this.tokenBytes = tokenBytes;
  }

  token(value: string): string {
    const mac = hmacSha256(this.key, Buffer.from(normalizeForBlindIndex(this.kind, value), 'utf8'));
    return `v${this.version}:${mac.subarray(0, this.tokenBytes).toString('base64url')}`;
  }
}

/**
 * The canonical form a value is indexed under. email: NFKC, trimmed, lower-cased (the whole address:
 * the local part is case-insensitive in practice). phone: NFKC, then ASCII digits only, with a `+`
 * kept when the number starts with one. generic: NFKC, trimmed. A value with nothing left is refused.
 */
export function normalizeForBlindIndex(kind: BlindIndexKind, value: string): string {
  if (typeof value !== 'string') throw new CryptoError('CRYPTO.BAD_INPUT', 'blind index value must be a string');
  if (!value.isWellFormed()) throw new CryptoError('CRYPTO.BAD_INPUT', 'blind index value is not well-formed Unicode');
  const normalized = normalizeKind(kind, value.normalize('NFKC'));
  if (normalized.length === 0 || normalized === '+') throw new CryptoError('CRYPTO.BAD_INPUT', `nothing to index in this ${kind} value`);
  return normalized;
}

function normalizeKind(kind: BlindIndexKind, value: string): string {
  switch (kind) {
    case 'email':
      return value.trim().toLowerCase();
    case 'phone': {
      const trimmed = value.trim();
      return (trimmed.startsWith('+') ? '+' : '') + trimmed.replace(/[^0-9]/g, '');
    }
    case 'generic':
      return value.trim();
  }
}

function isKind(kind: unknown): kind is BlindIndexKind {
  return kind === 'email' || kind === 'phone' || kind === 'generic';
}
